import { MeshError } from '../../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../../common/errors/registry.js';

/**
 * Why a device description was refused: the field at fault (`regionCode`,
 * `credentials[1].publicJwk.x`), a stable code and a message naming the field. A value,
 * not an exception: a manifest of a million lines may hold many bad ones, and the import
 * lists them all and carries on.
 */
export class DeviceFault {
  constructor(
    readonly field: string,
    readonly code: ErrorCode,
    readonly message: string,
  ) {}

  /** The fault as the MeshError a single registration fails with. */
  toError(details: Readonly<Record<string, string | number>> = {}): MeshError {
    return new MeshError(this.code, this.message, { details: { field: this.field, ...details } });
  }
}

/**
 * The first member of `raw` outside `allowed`. Only called when the member count says there
 * is one: counting is cheaper than enumerating on every line.
 */
export function unknownMember(raw: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  return Object.keys(raw).find((key) => !allowed.has(key));
}
