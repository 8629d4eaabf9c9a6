import { requirePattern, requireString } from './identifier-error.js';

declare const nodeNameBrand: unique symbol;
declare const clientIdBrand: unique symbol;

/** The name of one node of a city (`node-1`), unique within the city. */
export type NodeName = string & { readonly [nodeNameBrand]: true };

/** An OIDC client id registered at a city (`traffic-dashboard`), unique within the city. */
export type ClientId = string & { readonly [clientIdBrand]: true };

/** Node names are DNS-label-like so they can also name hosts and metrics. */
export const NODE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Client ids appear as one SPIFFE path segment (`/app/<client_id>`), so they use only
 * the characters SPIFFE allows in a segment (SPIFFE-ID §2.2): no percent-encoding needed.
 */
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Parses a node name. @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`) */
export function parseNodeName(input: unknown, field = 'nodeName'): NodeName {
  return requirePattern(requireString(input, field), NODE_NAME_PATTERN, field) as NodeName;
}

/** Parses an OIDC client id. @throws MeshError `INVALID_IDENTIFIER` (rules `type`, `pattern`) */
export function parseClientId(input: unknown, field = 'clientId'): ClientId {
  return requirePattern(requireString(input, field), CLIENT_ID_PATTERN, field) as ClientId;
}
