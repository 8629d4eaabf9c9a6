import { sameContent } from '../../common/content-key.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import {
  MAX_POLICY_SET_BYTES,
  type PolicyActivation,
  type PolicyChange,
  type PolicyVersion,
  type PolicyVersionSummary,
} from '../../common/stores/policy-store.js';
import { clone } from './clone.js';
import { alreadyExists } from './errors.js';
import {
  malformed,
  optionalText,
  requireDate,
  requireHex64,
  requireInteger,
  requirePlainObject,
  requireText,
} from './validate.js';

export { MAX_POLICY_SET_BYTES };

const VERSION_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_SUBJECT = 512;
const MAX_COMMENT = 1000;
const MAX_SUMMARY = 4000;
// Control characters and backslashes have no place in a policy file name, and a lone
// surrogate cannot be written as UTF-8: SQLite would store U+FFFD where memory keeps it.
const BAD_PATH_CHARS = /[\p{Cc}\\]|\p{Cs}/u;
const LONE_SURROGATE = /\p{Cs}/u;

/** A version id: 1-64 characters of `[A-Za-z0-9._-]`, not `.` or `..` (it may name a directory). */
export function requireVersionId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !VERSION_ID.test(value) || value === '.' || value === '..') {
    malformed(field, 'must be 1 to 64 characters of [A-Za-z0-9._-], not "." or ".."');
  }
  return value;
}

function boundedText(field: string, value: unknown, max: number): string {
  const text = requireText(field, value);
  if (text.length > max) malformed(field, `must be at most ${max} characters`);
  return text;
}

function optionalBoundedText(field: string, value: unknown, max: number): string | undefined {
  const text = optionalText(field, value);
  if (text !== undefined && text.length > max) malformed(field, `must be at most ${max} characters`);
  return text;
}

function checkPath(path: string): void {
  const field = `files[${JSON.stringify(path)}]`;
  // `__proto__` would be dropped by plain-object copies in memory yet kept by SQLite's JSON.
  if (path === '' || path === '__proto__' || BAD_PATH_CHARS.test(path)) malformed(field, 'is not a valid file path');
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    malformed(field, 'must be a relative path without empty, "." or ".." segments');
  }
}

function checkFiles(value: unknown): void {
  const files = Object.entries(requirePlainObject('files', value));
  if (files.length === 0) malformed('files', 'must hold at least one file');
  let bytes = 0;
  for (const [path, content] of files) {
    checkPath(path);
    if (typeof content !== 'string' || LONE_SURROGATE.test(content)) {
      malformed(`files[${JSON.stringify(path)}]`, 'must be a well-formed UTF-8 string');
    }
    bytes += Buffer.byteLength(path, 'utf8') + Buffer.byteLength(content, 'utf8');
    if (bytes > MAX_POLICY_SET_BYTES) malformed('files', `must total at most ${MAX_POLICY_SET_BYTES} bytes`);
  }
}

/** The stored form of a version to put: checked, and copied so the caller cannot change it. */
export function checkPolicyVersion(input: PolicyVersion): PolicyVersion {
  if (input === null || typeof input !== 'object') malformed('version', 'must be an object');
  requireVersionId('version', input.version);
  requireHex64('digest', input.digest);
  checkFiles(input.files);
  requireDate('createdAt', input.createdAt);
  boundedText('createdBy', input.createdBy, MAX_SUBJECT);
  optionalBoundedText('comment', input.comment, MAX_COMMENT);
  return clone({
    version: input.version,
    digest: input.digest,
    files: { ...input.files },
    createdAt: input.createdAt,
    createdBy: input.createdBy,
    comment: input.comment,
  });
}

/** A repeated put of the same version is a retry; anything else under its id is `ALREADY_EXISTS`. */
export function resolvePutConflict(stored: PolicyVersion, given: PolicyVersion): void {
  if (!sameContent(stored, given)) throw alreadyExists(`policy version ${given.version}`, { version: given.version });
}

/** An activation checked and copied; `expectedActive` checked too. */
export function checkActivation(input: PolicyActivation, expectedActive: string | undefined): PolicyActivation {
  if (input === null || typeof input !== 'object') malformed('activation', 'must be an object');
  requireVersionId('version', input.version);
  if (expectedActive !== undefined) requireVersionId('expectedActive', expectedActive);
  requireDate('changedAt', input.changedAt);
  boundedText('changedBy', input.changedBy, MAX_SUBJECT);
  optionalBoundedText('summary', input.summary, MAX_SUMMARY);
  requireInteger('rulesAdded', input.rulesAdded, 0);
  requireInteger('rulesRemoved', input.rulesRemoved, 0);
  return clone({
    version: input.version,
    changedAt: input.changedAt,
    changedBy: input.changedBy,
    summary: input.summary,
    rulesAdded: input.rulesAdded,
    rulesRemoved: input.rulesRemoved,
  });
}

/**
 * The change that activating makes after `current` (the latest change, if any), or
 * `VERSION_CONFLICT` when the caller's `expectedActive` is not the version in force.
 */
export function nextChange(
  current: PolicyChange | undefined,
  activation: PolicyActivation,
  expectedActive: string | undefined,
): PolicyChange {
  const actual = current?.version;
  if (actual !== expectedActive) {
    throw new MeshError(
      'VERSION_CONFLICT',
      `policy version ${actual ?? '(none)'} is active, not ${expectedActive ?? '(none)'}`,
      { details: { expectedActive: expectedActive ?? null, actualActive: actual ?? null } },
    );
  }
  return clone({
    sequence: (current?.sequence ?? 0) + 1,
    ...activation,
    previousVersion: actual,
  });
}

/** A version as listed. */
export function summarize(version: PolicyVersion, activeVersion: string | undefined): PolicyVersionSummary {
  const { files: _files, ...rest } = version;
  return clone({ ...rest, active: version.version === activeVersion });
}

export function checkSince(since: Date): Date {
  return requireDate('since', since);
}

export function policyVersionNotFound(version: string): MeshError {
  return new MeshError('POLICY_VERSION_NOT_FOUND', `no policy version ${version}`, { details: { version } });
}
