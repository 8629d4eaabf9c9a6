import type { ErrorDetails } from '../../common/errors/mesh-error.js';
import { MeshError } from '../../common/errors/mesh-error.js';

/** `ALREADY_EXISTS` for a put whose key is taken by different content. */
export function alreadyExists(what: string, details: ErrorDetails): MeshError {
  return new MeshError('ALREADY_EXISTS', `${what} already exists with different content`, { details });
}
