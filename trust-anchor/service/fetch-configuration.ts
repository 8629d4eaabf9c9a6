import { request } from 'node:https';
import { MeshError } from '../../common/errors/mesh-error.js';

/** Largest entity configuration the anchor reads; a real one is a few KiB. */
const MAX_CONFIGURATION_BYTES = 64 * 1024;
const TIMEOUT_MS = 5000;

/** Fetches an entity's configuration; injected in tests that have no DNS for entity ids. */
export type ConfigurationFetcher = (entityId: string, rootPem: string) => Promise<string>;

/**
 * GETs `<entityId>/.well-known/openid-federation` over TLS that must chain to the
 * cluster root (a member's HTTPS listener presents its SVID), with a timeout and a size
 * cap: the anchor only ever calls members it enrolled, never an arbitrary URL.
 */
export const fetchEntityConfiguration: ConfigurationFetcher = (entityId, rootPem) =>
  new Promise((resolve, reject) => {
    const url = new URL('/.well-known/openid-federation', entityId.endsWith('/') ? entityId : `${entityId}/`);
    const unavailable = (why: string, cause?: unknown) =>
      new MeshError('PEER_UNAVAILABLE', `the entity configuration of ${entityId} could not be fetched: ${why}`, {
        details: { field: 'sub' },
        ...(cause === undefined ? {} : { cause }),
      });
    const req = request(url, { method: 'GET', ca: rootPem, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_CONFIGURATION_BYTES) req.destroy(unavailable('the answer is too large'));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(unavailable(`HTTP ${res.statusCode}`));
        else resolve(Buffer.concat(chunks).toString('utf8').trim());
      });
      res.on('error', (err) => reject(unavailable(err.message, err)));
    });
    req.on('timeout', () => req.destroy(unavailable(`no answer in ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(err instanceof MeshError ? err : unavailable(err.message, err)));
    req.end();
  });
