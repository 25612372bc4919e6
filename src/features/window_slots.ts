/**
 * Fixed slots for counts kept per key over windows of packet time, shared
 * by the DNS, HTTP and ICMP monitors: a key's slot is its own, a free one
 * of its probe run, or the run's least recently seen (taken over; counted
 * in `counters.slotsEvicted` when that one was seen within a window). A
 * slot's window starts afresh when it ends or the slot is taken: `fresh`
 * says so after `slot()`, and the monitor zeroes its own counts then. Slots
 * are never freed, so a key is always in its run before any free slot.
 */
export class WindowSlots {
  /**
   * Per slot: when its window started, when it was last seen; when its key
   * was last reported, `reports` entries per slot (one per kind of finding:
   * slot `s`'s kind `k` at `s * reports + k`).
   */
  readonly windowStart: Float64Array;
  readonly lastSeen: Float64Array;
  readonly reported: Float64Array;
  /** Whether the slot the last `slot()` returned started its window afresh. */
  fresh = false;
  readonly #key: Uint32Array;
  readonly #used: Uint8Array;
  readonly #mask: number;

  /**
   * `capacity`: slots (a power of two); `probe`: slots a key may sit in;
   * `windowMicros`: a window; `reports`: kinds of finding reported per slot.
   */
  constructor(
    capacity: number,
    private readonly probe: number,
    private readonly windowMicros: number,
    private readonly counters: { slotsEvicted: number },
    private readonly reports = 1,
  ) {
    this.windowStart = new Float64Array(capacity);
    this.lastSeen = new Float64Array(capacity);
    this.reported = new Float64Array(capacity * reports);
    this.#key = new Uint32Array(capacity);
    this.#used = new Uint8Array(capacity);
    this.#mask = capacity - 1;
  }

  /** The slot of `key` (a 32-bit hash) at packet time `t`, marked seen at `t`. */
  slot(key: number, t: number): number {
    const home = key & this.#mask;
    let s = -1, stalest = home;
    for (let k = 0; k < this.probe; k++) {
      const c = (home + k) & this.#mask;
      if (this.#used[c] === 1 && this.#key[c] === key) {
        s = c;
        break;
      }
      if (this.#used[c] === 0) {
        s = this.#claim(c, key);
        break;
      }
      if (this.lastSeen[c] < this.lastSeen[stalest]) stalest = c;
    }
    if (s < 0) {
      if (t - this.lastSeen[stalest] <= this.windowMicros) this.counters.slotsEvicted++;
      s = this.#claim(stalest, key);
    }
    this.fresh = t - this.windowStart[s] > this.windowMicros;
    if (this.fresh) this.windowStart[s] = t;
    this.lastSeen[s] = t;
    return s;
  }

  #claim(s: number, key: number): number {
    this.#used[s] = 1;
    this.#key[s] = key;
    this.windowStart[s] = -Infinity;
    this.reported.fill(-Infinity, s * this.reports, (s + 1) * this.reports);
    return s;
  }
}
