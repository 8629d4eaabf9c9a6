import type { NamingConstraints } from './types.js';

/**
 * True when `host` falls under `constraint`, with the URI rules of RFC 5280 §4.2.1.10 that
 * OpenID Federation 1.0 §6.2.2 refers to: `.example.com` is any host below `example.com`
 * (not `example.com` itself), `example.com` is that host only. Hosts compare
 * case-insensitively.
 */
export function hostMatches(host: string, constraint: string): boolean {
  const h = host.toLowerCase();
  const c = constraint.toLowerCase();
  return c.startsWith('.') ? h.length > c.length && h.endsWith(c) : h === c;
}

/**
 * Why `host` breaks `constraints`, or `undefined` when it does not: it must match some
 * `permitted` entry and no `excluded` entry (excluded wins).
 */
export function namingViolation(host: string, constraints: NamingConstraints): string | undefined {
  const excluded = constraints.excluded?.find((c) => hostMatches(host, c));
  if (excluded !== undefined) return `host ${host} is excluded by "${excluded}"`;
  if (!constraints.permitted.some((c) => hostMatches(host, c))) {
    return `host ${host} is not within the permitted ${JSON.stringify(constraints.permitted)}`;
  }
  return undefined;
}
