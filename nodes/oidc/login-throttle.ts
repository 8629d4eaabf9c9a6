import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { normalizeUsername } from './accounts.js';

export interface LoginThrottleOptions {
  /** Failed sign-ins per username in one window before it is locked; default 5. */
  readonly failuresPerUsername?: number;
  /** Failed sign-ins from one address in one window before it is locked; default 50. */
  readonly failuresPerAddress?: number;
  /** Window and lock length in seconds; default 900 (15 minutes). */
  readonly windowSeconds?: number;
}

export const DEFAULT_LOGIN_THROTTLE = Object.freeze({
  failuresPerUsername: 5,
  failuresPerAddress: 50,
  windowSeconds: 900,
});

/**
 * Slows password guessing on the login page: a username (whether or not it exists, so the
 * lock reveals nothing) or a client address that fails too often is locked for a window.
 * Checked before the password hash runs, so a flood of guesses also cannot spend the
 * node's CPU on scrypt. Kept in memory per node process; a restart forgets it, which a
 * 15-minute window makes cheap.
 */
export class LoginThrottle {
  readonly #byUsername: RateLimiterMemory;
  readonly #byAddress: RateLimiterMemory;

  constructor(options: LoginThrottleOptions = {}) {
    const o = { ...DEFAULT_LOGIN_THROTTLE, ...options };
    for (const [name, value] of Object.entries(o)) {
      if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer`);
    }
    const limiter = (points: number) =>
      new RateLimiterMemory({ points, duration: o.windowSeconds, blockDuration: o.windowSeconds });
    this.#byUsername = limiter(o.failuresPerUsername);
    this.#byAddress = limiter(o.failuresPerAddress);
  }

  /** Seconds until `username` may try again from `address`; 0 when it may now. */
  async lockedFor(username: string, address: string): Promise<number> {
    const [user, from] = await Promise.all([
      this.#byUsername.get(normalizeUsername(username)),
      this.#byAddress.get(address),
    ]);
    return Math.max(lockSeconds(user, this.#byUsername.points), lockSeconds(from, this.#byAddress.points));
  }

  /** Counts a failed sign-in against both the username and the address. */
  async failed(username: string, address: string): Promise<void> {
    await Promise.all([
      this.#byUsername.consume(normalizeUsername(username)).catch(ignoreLimit),
      this.#byAddress.consume(address).catch(ignoreLimit),
    ]);
  }

  /** A successful sign-in clears the username's failures (the address keeps its count). */
  async succeeded(username: string): Promise<void> {
    await this.#byUsername.delete(normalizeUsername(username));
  }
}

function lockSeconds(res: RateLimiterRes | null, points: number): number {
  return res !== null && res.consumedPoints >= points ? Math.max(1, Math.ceil(res.msBeforeNext / 1000)) : 0;
}

/** Going over the limit is what locks: the rejection itself needs no handling. */
function ignoreLimit(err: unknown): void {
  if (!(err instanceof RateLimiterRes)) throw err;
}
