import { MeshError } from '../../common/errors/mesh-error.js';
import { type Caller, describeCaller } from './caller.js';

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
  const who = describeCaller(caller);
  throw new MeshError('ROLE_REQUIRED', `${method} needs an app of this city with role ${role}; ${who} has none`, {
    details: { role, method },
  });
}

/**
 * The caller as an app of this city, for calls no node or visiting app may make.
 *
 * @throws MeshError `PEER_IDENTITY_MISMATCH` (rule `apps-only`)
 */
export function requireLocalApp(caller: Caller, method: string): AppCaller {
  if (caller.kind === 'app') return caller;
  throw new MeshError('PEER_IDENTITY_MISMATCH', `${method} is for apps of this city, not ${describeCaller(caller)}`, {
    details: { rule: 'apps-only' },
  });
}
