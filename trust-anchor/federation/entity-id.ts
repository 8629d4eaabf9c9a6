import { fail } from './failure.js';

/** Hosts for which `http` entity ids may be accepted in development (`allowLoopbackHttp`). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Parses an OpenID Federation 1.0 entity identifier (§1.2): an `https` URL with a host,
 * optionally a port and path, no query, fragment or credentials. Plain `http` passes only
 * for a loopback host and only when `allowLoopbackHttp` is set, mirroring the config rule
 * `httpsOnly` for development.
 *
 * @throws MeshError `TOKEN_MALFORMED` (rule `entity-id`, `details.claim` = `field`)
 */
export function parseEntityId(value: unknown, field: string, allowLoopbackHttp = false): URL {
  const refuse = (why: string) =>
    fail('TOKEN_MALFORMED', 'entity-id', `${field} ${why}`, {
      claim: field,
      value: typeof value === 'string' ? value.slice(0, 256) : null,
    });
  if (typeof value !== 'string') throw refuse('must be a string');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('must be an absolute URL');
  }
  const httpAllowed = allowLoopbackHttp && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !httpAllowed) throw refuse('must be an https URL');
  if (url.hostname === '') throw refuse('must have a host');
  if (url.username !== '' || url.password !== '') throw refuse('must not contain credentials');
  if (url.search !== '' || value.includes('?')) throw refuse('must not have a query');
  if (url.hash !== '' || value.includes('#')) throw refuse('must not have a fragment');
  return url;
}
