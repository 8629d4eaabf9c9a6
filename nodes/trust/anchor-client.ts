import { request } from 'node:https';
import { MeshError } from '../../common/errors/mesh-error.js';
import { ERROR_REGISTRY, type ErrorCode } from '../../common/errors/registry.js';

/** Longest the node waits for the anchor per request. */
const TIMEOUT_MS = 10_000;

/**
 * HTTPS to the trust anchor. With `rootPem` the anchor's certificate must chain to that
 * root (and name `localhost` or the URL's host); without it, only `GET /ca` is allowed,
 * whose answer the caller checks against the join token's pin before trusting it.
 */
export async function anchorRequest(
  anchorUrl: string,
  path: string,
  options: {
    rootPem?: string;
    method?: 'GET' | 'POST';
    json?: unknown;
    /** The node's SVID and key, for the calls the anchor authenticates by mTLS. */
    clientCertificate?: { keyPem: string; certPem: string };
  } = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const url = new URL(path, anchorUrl);
  if (url.protocol !== 'https:')
    throw new MeshError('INVALID_CONFIG', `anchor URL must be https: ${anchorUrl}`, { details: { field: 'anchor' } });
  if (options.rootPem === undefined && path !== '/ca')
    throw new TypeError('only GET /ca may be fetched before the root is pinned');
  const payload = options.json === undefined ? undefined : JSON.stringify(options.json);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ...(options.rootPem ? { ca: options.rootPem } : { rejectUnauthorized: false }),
        ...(options.clientCertificate
          ? { key: options.clientCertificate.keyPem, cert: options.clientCertificate.certPem }
          : {}),
        minVersion: 'TLSv1.3',
        timeout: TIMEOUT_MS,
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (cause) =>
      reject(
        new MeshError('ANCHOR_UNAVAILABLE', `trust anchor ${url.origin} did not answer: ${cause.message}`, {
          details: { url: url.origin },
          cause,
        }),
      ),
    );
    req.end(payload);
  });
}

/** Turns an anchor error body (`{ error, error_description, reason }`) back into a MeshError. */
export function anchorFailure(status: number, body: string): MeshError {
  try {
    const parsed = JSON.parse(body) as { reason?: string; error_description?: string };
    if (parsed.reason && parsed.reason in ERROR_REGISTRY) {
      return new MeshError(parsed.reason as ErrorCode, `anchor refused: ${parsed.error_description ?? parsed.reason}`);
    }
  } catch {
    // not an anchor error body: fall through
  }
  return new MeshError('ANCHOR_UNAVAILABLE', `anchor answered HTTP ${status}`, { details: { status } });
}
