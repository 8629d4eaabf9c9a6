import { MeshError } from '../../common/errors/mesh-error.js';
import type { Caller } from './caller.js';

/** Roles the protocol names (docs/specs/protocol.md §3). */
export type ProtocolRole = 'auditor' | 'data-office' | 'device-admin' | 'policy-admin' | 'operator';

export type AppCaller = Extract<Caller, { kind: 'app' }>;

/** Whether the caller is an app of this city holding `role`. */
export function hasAppRole(caller: Caller, role: ProtocolRole): caller is AppCaller {
  return caller.kind === 'app' && caller.app.roles.includes(role);
}

/**
 * The app caller of a call reserved to a role of this city. Roles come from this node's app
 * registry, never from the request; a peer node never holds one of this city's roles.
 *
 * @throws MeshError `ROLE_REQUIRED` naming the role and the method
 */
export function requireAppRole(caller: Caller, role: ProtocolRole, method: string): AppCaller {
  if (caller.kind === 'app' && caller.app.roles.includes(role)) return caller;
  const who = caller.kind === 'app' ? `app ${caller.app.clientId}` : `node ${caller.peer.spiffeId}`;
  throw new MeshError('ROLE_REQUIRED', `${method} needs an app of this city with role ${role}; ${who} has none`, {
    details: { role, method },
  });
}
