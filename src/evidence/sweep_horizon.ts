/**
 * Targets probed by one source over the last few evidence windows: the
 * horizon of the sweep rule, as port_horizon.ts is the scan rule's. A sweep
 * is 25 hosts probed by one source; windows are whole minutes, so a sweep
 * slower than that (a ping every 3 s by hand, a tool's scan delay) never
 * fills one. Zeek's address-scan policy counts its 25 hosts within 5
 * minutes; so does this.
 *
 * Per (source, protocol): one 1,024-bit set of target hashes per window of
 * the last HORIZON_WINDOWS, in a ring; the distinct targets over the
 * horizon are the union's bits (linear counting). Only targets the sweep
 * rule counts are added (probed, and not answering the source lately:
 * answered_targets.ts), so a poller's revisits stay out, and a source that
 * probes the same dead hosts every minute counts them once.
 *
 * Memory is fixed: `capacity` sources in a direct-mapped table with a
 * short probe run; a source beyond it takes the slot least recently used,
 * counted.
 */
import { mix32 } from "../features/mod.ts";
import { HORIZON_WINDOWS } from "./port_horizon.ts";

const WORDS = 32, SET_BITS = WORDS * 32, PROBE = 4;

/** Counts of what the horizon did since it was made. */
export interface SweepHorizonStats {
  /** Sources given a slot. */
  sources: number;
  /** Sources pushed out of a slot still within the horizon. */
  evicted: number;
}

export class SweepHorizon {
  readonly stats: SweepHorizonStats = { sources: 0, evicted: 0 };
  readonly #check: Uint32Array;
  /** Per slot: the latest window (epoch) a target was added in; -1 when free. */
  readonly #epoch: Float64Array;
  readonly #sets: Uint32Array;
  readonly #mask: number;

  /** `capacity`: sources kept (a power of two). */
  constructor(capacity: number) {
    if (!(capacity > 0) || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`sweep horizon capacity must be a power of two, got ${capacity}`);
    }
    this.#check = new Uint32Array(capacity);
    this.#epoch = new Float64Array(capacity).fill(-1);
    this.#sets = new Uint32Array(capacity * HORIZON_WINDOWS * WORDS);
    this.#mask = capacity - 1;
  }

  /** Sources the table holds. */
  get capacity(): number {
    return this.#check.length;
  }

  /** Bytes the horizon holds. */
  get bytes(): number {
    return this.#check.byteLength + this.#epoch.byteLength + this.#sets.byteLength;
  }

  /**
   * Adds target `targetHash`, probed in window `epoch` by the source
   * `sourceHash` (with `check`, a second hash of it); returns the distinct
   * targets of that source over the horizon (this window and the ones before).
   */
  add(sourceHash: number, check: number, targetHash: number, epoch: number): number {
    check >>>= 0; // kept in a Uint32Array: compare as unsigned
    const home = sourceHash & this.#mask;
    let slot = -1, stalest = home;
    for (let k = 0; k < PROBE; k++) {
      const c = (home + k) & this.#mask;
      if (this.#epoch[c] >= 0 && this.#check[c] === check) {
        slot = c;
        break;
      }
      if (this.#epoch[c] < this.#epoch[stalest]) stalest = c;
    }
    if (slot < 0) {
      slot = stalest;
      if (this.#epoch[slot] >= 0 && epoch - this.#epoch[slot] < HORIZON_WINDOWS) {
        this.stats.evicted++;
      }
      this.stats.sources++;
      this.#check[slot] = check;
      this.#sets.fill(0, slot * HORIZON_WINDOWS * WORDS, (slot + 1) * HORIZON_WINDOWS * WORDS);
      this.#epoch[slot] = epoch;
    }
    // Clear the ring positions of the windows since the slot's latest (at most the whole ring).
    const base = slot * HORIZON_WINDOWS * WORDS;
    const latest = this.#epoch[slot];
    if (epoch > latest) {
      const steps = Math.min(epoch - latest, HORIZON_WINDOWS);
      for (let e = epoch - steps + 1; e <= epoch; e++) {
        const at = base + (e % HORIZON_WINDOWS) * WORDS;
        this.#sets.fill(0, at, at + WORDS);
      }
      this.#epoch[slot] = epoch;
    }
    // Callers' hashes of addresses can leave low bits unmixed: finish them.
    const bit = mix32(targetHash) & (SET_BITS - 1);
    this.#sets[base + (epoch % HORIZON_WINDOWS) * WORDS + (bit >>> 5)] |= 1 << (bit & 31);
    // The union's set bits.
    let bits = 0;
    for (let w = 0; w < WORDS; w++) {
      let word = 0;
      for (let r = 0; r < HORIZON_WINDOWS; r++) word |= this.#sets[base + r * WORDS + w];
      bits += popcount(word);
    }
    return bits >= SET_BITS ? SET_BITS : Math.round(-SET_BITS * Math.log(1 - bits / SET_BITS));
  }

  /** Forgets source `sourceHash` (named a sweep: its next line needs its own targets). */
  forget(sourceHash: number, check: number): void {
    check >>>= 0;
    const home = sourceHash & this.#mask;
    for (let k = 0; k < PROBE; k++) {
      const c = (home + k) & this.#mask;
      if (this.#epoch[c] >= 0 && this.#check[c] === check) {
        this.#epoch[c] = -1;
        return;
      }
    }
  }
}

/** Set bits of a 32-bit word. */
export function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
