/**
 * The one source of "now". Core code takes a Clock (or a `now` value) instead of reading
 * the wall clock, so expiry, rotation and offline-budget logic are testable.
 */
export interface Clock {
  /** The current instant, as a fresh Date the caller may keep or change. */
  now(): Date;
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Whole seconds since the Unix epoch, rounded down: a JWT NumericDate (RFC 7519 §2). */
  nowSeconds(): number;
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({
  now: () => new Date(),
  nowMs: () => Date.now(),
  nowSeconds: () => Math.floor(Date.now() / 1000),
});

/** 2025-01-01T00:00:00Z: where a ManualClock starts when given no instant. */
export const MANUAL_CLOCK_DEFAULT_START_MS = Date.UTC(2025, 0, 1);

function toMs(instant: Date | number, name: string): number {
  const ms = instant instanceof Date ? instant.getTime() : instant;
  if (!Number.isFinite(ms)) throw new TypeError(`${name} must be a valid Date or a finite number of milliseconds`);
  return ms;
}

/** A clock that moves only when told to: for tests and simulations. */
export class ManualClock implements Clock {
  #ms: number;

  /** @param start the initial instant (Date or epoch milliseconds); 2025-01-01T00:00:00Z by default */
  constructor(start: Date | number = MANUAL_CLOCK_DEFAULT_START_MS) {
    this.#ms = toMs(start, 'start');
  }

  now(): Date {
    return new Date(this.#ms);
  }

  nowMs(): number {
    return this.#ms;
  }

  nowSeconds(): number {
    return Math.floor(this.#ms / 1000);
  }

  /** Jumps to an instant, forwards or backwards (backwards models a clock stepped back). */
  set(instant: Date | number): void {
    this.#ms = toMs(instant, 'instant');
  }

  /** Moves forward by `ms` milliseconds (not negative: use {@link ManualClock.set} to go back). */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ms must be a finite number ≥ 0, got ${ms}`);
    this.#ms += ms;
  }

  /** Moves forward by `seconds` seconds. */
  advanceSeconds(seconds: number): void {
    this.advance(seconds * 1000);
  }
}
