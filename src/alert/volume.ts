/**
 * The alert volume cap: at most `linesPerMinute` alert lines in any 60
 * seconds of sensor time (capture time offline, the wall clock live),
 * whatever the input. A line over the cap is not written; it is counted, and
 * the next line that is written carries the count (`alert.suppressed`), so a
 * reader of the alert stream alone still knows what it did not see.
 *
 * The check is exact over a sliding minute: the times of the last
 * `linesPerMinute` lines are kept in a ring, and a line may go when the
 * oldest of them is a minute old.
 */

/** Default cap on alert lines per minute. */
export const DEFAULT_ALERTS_PER_MINUTE = 30;

/** What the cap held back. */
export interface SuppressedLines {
  /** Lines not written. */
  lines: number;
  /** Flows those lines stood for. */
  flows: number;
}

/** Sliding-minute line limiter. */
export class AlertVolumeCap {
  readonly linesPerMinute: number;
  #times: Float64Array;
  #next = 0;
  #written = 0;
  #pending: SuppressedLines = { lines: 0, flows: 0 };
  #total: SuppressedLines = { lines: 0, flows: 0 };

  constructor(linesPerMinute = DEFAULT_ALERTS_PER_MINUTE) {
    if (!Number.isInteger(linesPerMinute) || linesPerMinute < 1) {
      throw new Error(`alert lines per minute must be a positive integer, got ${linesPerMinute}`);
    }
    this.linesPerMinute = linesPerMinute;
    this.#times = new Float64Array(linesPerMinute).fill(Number.NEGATIVE_INFINITY);
  }

  /** Lines written so far. */
  get written(): number {
    return this.#written;
  }

  /** Everything held back so far. */
  get suppressed(): Readonly<SuppressedLines> {
    return { ...this.#total };
  }

  /**
   * Asks to write a line standing for `flows` flows at `timeMicros`. True: write it and
   * attach `takeSuppressed()`; false: it was counted as suppressed.
   */
  admit(timeMicros: number, flows: number): boolean {
    const oldest = this.#times[this.#next];
    if (timeMicros - oldest < 60e6) {
      this.#pending.lines++;
      this.#pending.flows += flows;
      this.#total.lines++;
      this.#total.flows += flows;
      return false;
    }
    this.#times[this.#next] = timeMicros;
    this.#next = (this.#next + 1) % this.linesPerMinute;
    this.#written++;
    return true;
  }

  /** Lines held back since the last written line (then zeroed), or null when none. */
  takeSuppressed(): SuppressedLines | null {
    if (this.#pending.lines === 0) return null;
    const out = this.#pending;
    this.#pending = { lines: 0, flows: 0 };
    return out;
  }
}
