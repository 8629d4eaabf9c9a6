import { isIP } from 'node:net';
import { z } from 'zod';
import { parseCityName } from '../ids/city.js';
import { parseClusterName } from '../ids/cluster.js';
import { parseNodeName } from '../ids/workload-name.js';
import { zodIdentifier } from '../ids/zod-identifier.js';

/** A cluster name, by the identifier rules of `common/ids`. */
export const clusterField = zodIdentifier((input) => parseClusterName(input));

/** A city name, by the identifier rules of `common/ids`. */
export const cityField = zodIdentifier((input) => parseCityName(input));

/** A node name, by the identifier rules of `common/ids`. */
export const nodeNameField = zodIdentifier((input) => parseNodeName(input));

/** A TCP port to listen on or dial; 0 (ephemeral) is not accepted, peers must know it. */
export const portField = z.number().int().min(1).max(65535);

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A host to bind or dial: an IPv4/IPv6 address or a DNS name, without scheme or port. */
export const hostField = z.string().refine((host) => isIP(host) !== 0 || HOSTNAME.test(host), {
  message: 'must be an IP address or a DNS name, without scheme or port',
  params: { rule: 'host' },
});

/** A directory for the service's own files (keys, SQLite database, caches). */
export const dataDirField = z.string().min(1);

/** Log levels, as pino names them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** A pino log level, `info` by default. */
export const logLevelField = z.enum(LOG_LEVELS).default('info');

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * An OpenID Federation 1.0 Entity Identifier (§1.2): an `https` URL with a host and
 * optionally a port and path, no query, fragment or credentials. `http` passes here so
 * that the named check `entity-id-https` (see `httpsOnly`) can allow it for loopback in
 * development and explain why it refuses it otherwise.
 */
export const entityIdField = z.string().superRefine((value, ctx) => {
  const url = parseUrl(value);
  const problem =
    url === undefined
      ? 'must be an absolute URL'
      : url.protocol !== 'https:' && url.protocol !== 'http:'
        ? 'must use the https scheme'
        : url.username !== '' || url.password !== ''
          ? 'must not contain credentials'
          : url.search !== '' || value.includes('?')
            ? 'must not have a query'
            : url.hash !== '' || value.includes('#')
              ? 'must not have a fragment'
              : undefined;
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, params: { rule: 'entity-id' } });
});

/** A PostgreSQL connection URL (`postgres://` or `postgresql://`), as `pg` accepts. */
export const postgresUrlField = z.string().refine(
  (value) => {
    const url = parseUrl(value);
    return url !== undefined && (url.protocol === 'postgres:' || url.protocol === 'postgresql:');
  },
  { message: 'must be a postgres:// or postgresql:// URL', params: { rule: 'postgres-url' } },
);
