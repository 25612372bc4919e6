/**
 * Sweep counting shared by the ARP and ND monitors. Per sender slot: an
 * episode (its first and latest probe, probes, bytes) and the distinct
 * targets it probed, within a 10 s window and over the episode, each in a
 * 1,024-bit set read by linear counting. A sender quiet for EPISODE_GAP
 * ends its episode. The monitors find a sender's slot by their own key (an
 * IPv4 word, an IPv6 address) and keep what they name it by; this holds
 * whether the slot is in use and what it counts, in typed arrays, with no
 * allocation per probe.
 */

/** Distinct targets must be reached within this window (the episode's set keeps counting past it). */
export const SWEEP_WINDOW_MICROS = 10e6;
/** A sender quiet this long ends its episode (its closing line, when it probed more since). */
export const EPISODE_GAP_MICROS = 30e6;
const BITMAP_WORDS = 32;
const TIMES = 3, COUNTS = 5;

export class SweepEpisodes {
  /**
   * The current packet's time (us), written by the monitor before `start`
   * and `probe`: a double this large passed as an argument to a call that is
   * not inlined is boxed, an allocation per packet.
   */
  readonly clock = new Float64Array(1);
  /** Per slot: episode start, latest probe, window start (packet time, us). */
  readonly #times: Float64Array;
  /** Per slot: probes, bytes, distinct targets of the episode, of them when its first line was made (0: none yet), of the window. */
  readonly #counts: Float64Array;
  readonly #windowSet: Uint32Array;
  readonly #episodeSet: Uint32Array;
  /** Per slot: 1 while it holds an episode. */
  readonly #live: Uint8Array;

  /** `threshold`: distinct targets within the window that make a sweep. */
  constructor(slots: number, private readonly threshold: number) {
    this.#times = new Float64Array(slots * TIMES);
    this.#counts = new Float64Array(slots * COUNTS);
    this.#windowSet = new Uint32Array(slots * BITMAP_WORDS);
    this.#episodeSet = new Uint32Array(slots * BITMAP_WORDS);
    this.#live = new Uint8Array(slots);
  }

  /** Whether slot `s` holds an episode (started and not ended). */
  isLive(s: number): boolean {
    return this.#live[s] === 1;
  }

  /** Frees slot `s` (its owner has read what it needs: a closing line, see owesClosingLine). */
  end(s: number): void {
    this.#live[s] = 0;
  }

  /** Calls `end(s, nowMicros)` for every live slot whose episode is quiet by `nowMicros`. */
  endQuiet(nowMicros: number, end: (s: number, t: number) => void): void {
    const live = this.#live;
    for (let s = 0; s < live.length; s++) {
      if (live[s] === 1 && this.quietAt(s, nowMicros)) end(s, nowMicros);
    }
  }

  /** Calls `end(s, latest probe)` for every live slot (end of input). */
  endAll(end: (s: number, t: number) => void): void {
    const live = this.#live;
    for (let s = 0; s < live.length; s++) if (live[s] === 1) end(s, this.latestProbe(s));
  }

  /** Starts slot `s`'s episode at the clock. */
  start(s: number): void {
    const t = this.clock[0], ti = s * TIMES;
    this.#live[s] = 1;
    this.#times[ti] = t;
    this.#times[ti + 1] = t;
    this.#times[ti + 2] = t;
    this.#counts.fill(0, s * COUNTS, (s + 1) * COUNTS);
    this.#windowSet.fill(0, s * BITMAP_WORDS, (s + 1) * BITMAP_WORDS);
    this.#episodeSet.fill(0, s * BITMAP_WORDS, (s + 1) * BITMAP_WORDS);
  }

  /**
   * Counts a probe by slot `s` at the clock of the target hashed to
   * `targetHash`, `bytes` on the wire. True when it is the probe that brings
   * the window to `threshold` distinct targets: the episode's first line.
   */
  probe(s: number, targetHash: number, bytes: number): boolean {
    const t = this.clock[0], times = this.#times, counts = this.#counts;
    const ti = s * TIMES, ci = s * COUNTS;
    if (t > times[ti + 1]) times[ti + 1] = t;
    if (t - times[ti + 2] > SWEEP_WINDOW_MICROS) {
      times[ti + 2] = t;
      counts[ci + 4] = 0;
      this.#windowSet.fill(0, s * BITMAP_WORDS, (s + 1) * BITMAP_WORDS);
    }
    counts[ci]++;
    counts[ci + 1] += bytes;
    const bit = targetHash & (BITMAP_WORDS * 32 - 1);
    const word = s * BITMAP_WORDS + (bit >>> 5), mask = 1 << (bit & 31);
    if ((this.#windowSet[word] & mask) === 0) {
      this.#windowSet[word] |= mask;
      counts[ci + 4]++;
    }
    if ((this.#episodeSet[word] & mask) === 0) {
      this.#episodeSet[word] |= mask;
      counts[ci + 2]++;
    }
    if (counts[ci + 3] === 0 && counts[ci + 4] >= this.threshold) {
      counts[ci + 3] = counts[ci + 2];
      return true;
    }
    return false;
  }

  /** True when slot `s`'s episode, quiet since its latest probe, has ended by `nowMicros`. */
  quietAt(s: number, nowMicros: number): boolean {
    return nowMicros - this.#times[s * TIMES + 1] > EPISODE_GAP_MICROS;
  }

  /** True when slot `s`'s ending episode owes a closing line: it made a first line and probed more targets since. */
  owesClosingLine(s: number): boolean {
    const reported = this.#counts[s * COUNTS + 3];
    return reported > 0 && this.#counts[s * COUNTS + 2] > reported;
  }

  firstProbe(s: number): number {
    return this.#times[s * TIMES];
  }

  latestProbe(s: number): number {
    return this.#times[s * TIMES + 1];
  }

  probes(s: number): number {
    return this.#counts[s * COUNTS];
  }

  bytes(s: number): number {
    return this.#counts[s * COUNTS + 1];
  }

  /** Distinct targets of slot `s`'s episode (linear counting: exact while collisions are rare). */
  targets(s: number): number {
    return distinctEstimate(this.#counts[s * COUNTS + 2]);
  }
}

/** Distinct values behind `bits` set bits of a BITMAP_WORDS set (linear counting; exact while collisions are rare). */
export function distinctEstimate(bits: number): number {
  const m = BITMAP_WORDS * 32;
  return bits >= m ? m : Math.max(bits, Math.round(-m * Math.log(1 - bits / m)));
}

/** The set bits a BITMAP_WORDS set holds after `distinct` values (the inverse of distinctEstimate). */
export function bitsForDistinct(distinct: number): number {
  let bits = 0;
  while (distinctEstimate(bits) < distinct) bits++;
  return bits;
}
