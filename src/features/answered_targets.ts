/**
 * Which targets answered a source's probes lately: the memory that tells a
 * poller from a discovery sweep. A monitoring server pinging its hosts every
 * 10 s to 5 min, a load balancer's health checks, the poller's kernel
 * re-resolving its targets' MACs: each probes the same answered targets over
 * and over. A sweep discovers: it probes targets it never had an answer from
 * (most addresses of a subnet do not answer). So a probe of a target that
 * answered the same source within the memory's span does not count toward
 * a sweep; an attacker sweeping again within it was named the first time,
 * and the addresses that did not answer still count when they are probed
 * again.
 *
 * A fixed table of (source, target) pairs held as two 32-bit hashes (the
 * slot from one, a fingerprint from the other: a wrong match needs both to
 * agree) and the time of the latest answer. A pair is found within PROBE
 * slots of its own; a new one takes a free slot or the one answered longest
 * ago. Typed arrays only; callers look up only probes, not every packet.
 */

/**
 * How long an answer counts: longer than the periods pollers run at (Nagios
 * and Icinga check every 1 to 5 minutes, Smokeping every 5) and than an
 * ICMP flow lasts (the meter's active timeout, 120 s, starts a poller's
 * echo flows anew every 2 minutes).
 */
export const ANSWER_MEMORY_MICROS = 900e6;

/** Probe run per pair. */
const PROBE = 4;

/** A bounded, expiring memory of (source, target) pairs that had an answer. */
export class AnsweredTargets {
  readonly #fingerprint: Uint32Array;
  /** Packet time of the pair's latest answer, microseconds (0: free). */
  readonly #time: Float64Array;
  readonly #mask: number;
  /** Pairs remembered, and slots taken from a pair still within the span (the table was full). */
  readonly stats = { remembered: 0, displaced: 0 };

  /**
   * `slots` (a power of two) pairs at most; an answer counts for `spanMicros`
   * after it.
   */
  constructor(slots: number, readonly spanMicros: number) {
    if (slots < PROBE || (slots & (slots - 1)) !== 0) {
      throw new Error(`answered-target slots must be a power of two >= ${PROBE}, got ${slots}`);
    }
    this.#fingerprint = new Uint32Array(slots);
    this.#time = new Float64Array(slots);
    this.#mask = slots - 1;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#fingerprint.byteLength + this.#time.byteLength;
  }

  /** Notes that the pair hashed to (`h1`, `h2`) had an answer at `t` (microseconds). */
  remember(h1: number, h2: number, t: number): void {
    const fp = h2 >>> 0, times = this.#time, fps = this.#fingerprint;
    let oldest = -1, oldestTime = Infinity;
    for (let k = 0; k < PROBE; k++) {
      const s = (h1 + k) & this.#mask;
      if (times[s] > 0 && fps[s] === fp) {
        if (t > times[s]) times[s] = t;
        return;
      }
      if (times[s] < oldestTime) oldest = s, oldestTime = times[s];
    }
    if (oldestTime > 0 && t - oldestTime <= this.spanMicros) this.stats.displaced++;
    fps[oldest] = fp;
    times[oldest] = t > 0 ? t : 1;
    this.stats.remembered++;
  }

  /** Whether the pair hashed to (`h1`, `h2`) had an answer within the span before `t`. */
  answered(h1: number, h2: number, t: number): boolean {
    const fp = h2 >>> 0, times = this.#time, fps = this.#fingerprint;
    for (let k = 0; k < PROBE; k++) {
      const s = (h1 + k) & this.#mask;
      if (times[s] > 0 && fps[s] === fp) return t - times[s] <= this.spanMicros;
    }
    return false;
  }
}
