/**
 * An instant as the federation verifiers take it: a `Date`, or a JWT NumericDate (whole or
 * fractional seconds since the Unix epoch, RFC 7519 §2).
 */
export type Instant = Date | number;

/**
 * A NumericDate above this is almost certainly milliseconds passed by mistake (it is the
 * year 5138 in seconds): refusing it beats silently accepting every expired token.
 */
const MAX_PLAUSIBLE_SECONDS = 1e11;

/**
 * `now` as seconds since the epoch.
 *
 * @throws TypeError naming `option` when `now` is not a valid Date or a plausible number of seconds
 */
export function toSeconds(now: Instant, option = 'now'): number {
  const seconds = now instanceof Date ? now.getTime() / 1000 : now;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) {
    throw new TypeError(`${option} must be a valid Date or a finite number of seconds`);
  }
  if (Math.abs(seconds) >= MAX_PLAUSIBLE_SECONDS) {
    throw new TypeError(`${option} must be in seconds, not milliseconds (got ${seconds})`);
  }
  return seconds;
}
