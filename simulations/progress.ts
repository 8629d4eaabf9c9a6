import type { Clock } from '../common/clock.js';

/** How often a counting phase prints, at most: enough to see it move, not a flood. */
const EVERY_MS = 2_000;

/** Progress of one phase: counted steps with rate and ETA, and free notes. */
export interface PhaseProgress {
  /** One more of `total` done (`n` more when given). */
  tick(n?: number): void;
  note(message: string): void;
  /** The phase is over: prints its wall time. */
  done(): number;
}

/**
 * Progress lines for the person watching a run (stderr): `[exchange] 120/702 pairs
 * (17 %, 9.5/s, ETA 61 s)`, printed at most every two seconds per phase and at the end.
 */
export class Progress {
  readonly #write: (line: string) => void;
  readonly #clock: Clock;

  constructor(write: (line: string) => void, clock: Clock) {
    this.#write = write;
    this.#clock = clock;
  }

  phase(name: string, total = 0, unit = 'steps'): PhaseProgress {
    const started = this.#clock.nowMs();
    let done = 0;
    let printedAt = started;
    const line = (text: string) => this.#write(`[${name}] ${text}\n`);
    if (total > 0) line(`0/${total} ${unit}`);
    return {
      tick: (n = 1) => {
        done += n;
        const now = this.#clock.nowMs();
        if (total === 0 || (now - printedAt < EVERY_MS && done < total)) return;
        printedAt = now;
        line(countLine(done, total, unit, now - started));
      },
      note: line,
      done: () => {
        const ms = this.#clock.nowMs() - started;
        line(`done in ${(ms / 1000).toFixed(1)} s`);
        return ms;
      },
    };
  }
}

/** `12/27 cities (44 %, 1.2/s, ETA 13 s)`: the rate so far predicts the rest. */
export function countLine(done: number, total: number, unit: string, elapsedMs: number): string {
  const share = Math.floor((done / total) * 100);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const eta = rate > 0 && done < total ? `, ETA ${Math.ceil((total - done) / rate)} s` : '';
  return `${done}/${total} ${unit} (${share} %, ${rate.toFixed(1)}/s${eta})`;
}
