/**
 * Slots for fragmented datagrams being followed, keyed by (source,
 * destination, a key of id and protocol), each kept DATAGRAM_TTL after its
 * first fragment: the IP anomaly monitor compares a datagram's fragments,
 * FragmentHeaders puts its TCP header together. Open addressing over a
 * short probe run; a full run gives up its oldest datagram (counted). The
 * owner resets its own per-slot state when `created` says the slot is new.
 */
import { mix32 } from "./mix32.ts";

/** Fragments of one datagram are followed for this long after its first. */
export const DATAGRAM_TTL_MICROS = 30e6;
const PROBE = 4;

export class DatagramSlots {
  /** Whether the last `slot` call gave a new slot (the owner resets its state for it). */
  created = false;
  /** Datagrams given up, still being followed, for a new one (the table was full). */
  evicted = 0;
  readonly #key: Uint32Array;
  readonly #first: Float64Array;

  /** `capacity`: a power of two. */
  constructor(readonly capacity: number) {
    this.#key = new Uint32Array(capacity * 3);
    this.#first = new Float64Array(capacity).fill(-Infinity);
  }

  /**
   * The slot of datagram (src, dst, key) at time `t`: its own while fresh,
   * else (when `create`) a stale one or the oldest of its probe run; -1 when
   * it has none and `create` is false.
   */
  slot(src: number, dst: number, key: number, t: number, create = true): number {
    key >>>= 0;
    this.created = false;
    const mask = this.capacity - 1;
    const start = mix32(src ^ mix32(dst ^ mix32(key))) & mask;
    let oldest = start;
    for (let k = 0; k < PROBE; k++) {
      const s = (start + k) & mask;
      const fresh = t - this.#first[s] <= DATAGRAM_TTL_MICROS;
      if (
        fresh && this.#key[3 * s] === src && this.#key[3 * s + 1] === dst &&
        this.#key[3 * s + 2] === key
      ) return s;
      if (!fresh) return create ? this.#claim(s, src, dst, key, t) : -1;
      if (this.#first[s] < this.#first[oldest]) oldest = s;
    }
    if (!create) return -1;
    this.evicted++;
    return this.#claim(oldest, src, dst, key, t);
  }

  #claim(s: number, src: number, dst: number, key: number, t: number): number {
    this.#key[3 * s] = src;
    this.#key[3 * s + 1] = dst;
    this.#key[3 * s + 2] = key;
    this.#first[s] = t;
    this.created = true;
    return s;
  }
}
