import { X509Certificate } from 'node:crypto';
import { MeshError } from '../../common/errors/mesh-error.js';
import { NAME_CONSTRAINTS_OID, permittedUriHosts, readNameConstraints } from './name-constraints.js';
import { x509 } from './provider.js';

/**
 * Checks a city CA certificate the anchor handed back (federation.md N8): signed by the
 * pinned root, for the node's own CA key, a CA that signs leaves only, and a critical
 * name constraint permitting exactly the city's trust domain, nothing wider. A node that
 * accepted a wider CA would issue identities the anchor never meant it to.
 *
 * @throws MeshError `CERTIFICATE_INVALID` or `CERTIFICATE_NAME_CONSTRAINT`, naming the rule
 */
export function checkCityCa(input: {
  caPem: string;
  rootPem: string;
  publicKeyX: string;
  trustDomain: string;
  now: Date;
}): void {
  const fail = (code: 'CERTIFICATE_INVALID' | 'CERTIFICATE_NAME_CONSTRAINT', rule: string, message: string) =>
    new MeshError(code, `the city CA from the anchor ${message}`, { details: { field: 'cityCaPem', rule } });
  let node: X509Certificate;
  let cert: x509.X509Certificate;
  try {
    node = new X509Certificate(input.caPem);
    cert = new x509.X509Certificate(input.caPem);
  } catch (cause) {
    throw new MeshError('CERTIFICATE_INVALID', 'the city CA from the anchor does not parse', { cause });
  }
  if (!node.verify(new X509Certificate(input.rootPem).publicKey))
    throw fail('CERTIFICATE_INVALID', 'root', 'is not signed by the pinned root');
  if (node.publicKey.export({ format: 'jwk' }).x !== input.publicKeyX) {
    throw fail('CERTIFICATE_INVALID', 'key', 'is not for this node’s CA key');
  }
  const nowMs = input.now.getTime();
  if (new Date(node.validFrom).getTime() > nowMs + 60_000 || new Date(node.validTo).getTime() <= nowMs) {
    throw fail('CERTIFICATE_INVALID', 'validity', 'is not valid now');
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (basic === null || !basic.ca || basic.pathLength !== 0) {
    throw fail('CERTIFICATE_INVALID', 'basic-constraints', 'must be a CA with pathLenConstraint 0');
  }
  const ext = cert.getExtension(NAME_CONSTRAINTS_OID);
  let hosts: readonly string[];
  try {
    hosts = permittedUriHosts(readNameConstraints(cert));
  } catch (cause) {
    throw new MeshError('CERTIFICATE_NAME_CONSTRAINT', 'the city CA’s name constraints do not decode', { cause });
  }
  if (ext === null || !ext.critical || hosts.length !== 1 || hosts[0]!.toLowerCase() !== input.trustDomain) {
    throw fail(
      'CERTIFICATE_NAME_CONSTRAINT',
      'trust-domain',
      `must carry a critical name constraint permitting exactly ${input.trustDomain} (it permits ${hosts.join(', ') || 'anything'})`,
    );
  }
}
