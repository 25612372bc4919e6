/**
 * A fixed-capacity hash table of small integer keys (addresses as 32-bit
 * words, ports, protocol) with numeric counters per entry, for per-host
 * evidence that must stay bounded whatever the traffic: a spoofed flood
 * brings a million sources, the table keeps `capacity` of them.
 *
 * Open addressing with a bounded probe window: a key lives in one of the
 * `PROBES` slots after its hash. When every slot of the window is taken, the
 * entry with the fewest flows (counter 0) is evicted and counted, so heavy
 * hitters stay and one-flow spoofed sources churn. Entries an alert group
 * points at are pinned and never evicted. `reset()` starts a new window in
 * O(1) (an epoch stamp per slot), without touching the arrays.
 *
 * Nothing is allocated per lookup: callers write the key into `key` and call
 * `upsert()`, which returns a slot index into `counters`.
 */

/** Slots examined per lookup; a key is found or placed within them. */
export const PROBES = 8;

/** Counts of what a table did since it was made. */
export interface HostTableStats {
  /** Entries created. */
  inserted: number;
  /** Entries pushed out to make room (their counts are lost to per-host evidence, not to the totals). */
  evicted: number;
  /** Lookups that found every slot of their window pinned (not counted per host). */
  refused: number;
}

/** Seed of the tables' key hash. */
export const KEY_SEED = 0x2545f491;

/**
 * The key hash's state `h` carried over `words[from..to)` as key words
 * `from..to` (each word mixed with its position). `foldKey(KEY_SEED, key, 0,
 * keyWords)` is a key's hash; keys that begin with the same words (a source,
 * then its target) share the state after them, so callers hash a shared
 * prefix once (`upsert(prefix, from)`).
 */
export function foldKey(h: number, words: Uint32Array, from: number, to: number): number {
  for (let k = from; k < to; k++) {
    h ^= Math.imul(words[k] + k, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h;
}

/** A bounded table of counters keyed by `keyWords` 32-bit words. */
export class HostTable {
  /** Number of slots (a power of two). */
  readonly capacity: number;
  readonly keyWords: number;
  /** Counters per entry; counter 0 is the entry's flow count (eviction picks the smallest). */
  readonly fields: number;
  /** The key to look up: fill `key[0..keyWords)` before `upsert` / `find`. */
  readonly key: Uint32Array;
  /** `capacity * fields` counters; entry `s` owns `[s * fields, (s + 1) * fields)`. */
  readonly counters: Float64Array;
  /** Per slot: an alert group index + 1, or 0 (also pins the slot). */
  readonly group: Int32Array;
  /** True when the last `upsert` created the entry. */
  created = false;
  /** Flows (counter 0) of the entry the last `upsert` evicted, 0 when none was. */
  evictedFlows = 0;
  /** Key of the entry the last `upsert` evicted (valid when `evictedFlows > 0`). */
  readonly evictedKey: Uint32Array;
  readonly stats: HostTableStats = { inserted: 0, evicted: 0, refused: 0 };
  #keys: Uint32Array;
  /** Per slot: its key's full hash, compared before the key words. */
  #tags: Int32Array;
  #epoch: Uint32Array;
  #current = 1;
  #mask: number;
  #size = 0;

  constructor(capacity: number, keyWords: number, fields: number) {
    let slots = 16;
    while (slots < capacity) slots *= 2;
    this.capacity = slots;
    this.keyWords = keyWords;
    this.fields = fields;
    this.key = new Uint32Array(keyWords);
    this.evictedKey = new Uint32Array(keyWords);
    this.#keys = new Uint32Array(slots * keyWords);
    this.#tags = new Int32Array(slots);
    this.counters = new Float64Array(slots * fields);
    this.group = new Int32Array(slots);
    this.#epoch = new Uint32Array(slots);
    this.#mask = slots - 1;
  }

  /** Entries live in the current window. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.#keys.byteLength + this.#tags.byteLength + this.counters.byteLength +
      this.group.byteLength + this.#epoch.byteLength;
  }

  /** Whether slot `s` holds a live entry. */
  live(s: number): boolean {
    return this.#epoch[s] === this.#current;
  }

  /** Copies the key of slot `s` into `out` (for printing an alert's addresses). */
  keyOf(s: number, out: Uint32Array): Uint32Array {
    const w = this.keyWords;
    for (let k = 0; k < w; k++) out[k] = this.#keys[s * w + k];
    return out;
  }

  #matches(s: number): boolean {
    const w = this.keyWords;
    const base = s * w;
    for (let k = 0; k < w; k++) if (this.#keys[base + k] !== this.key[k]) return false;
    return true;
  }

  /**
   * Slot of `key`, or -1 (`prefix`, `from`: as for `upsert`). Entries are never removed within a window (an
   * eviction reuses its slot), so the slots of a probe window fill from its
   * start: a key is before the window's first free slot, or absent.
   */
  find(prefix = KEY_SEED, from = 0): number {
    const h = foldKey(prefix, this.key, from, this.keyWords);
    let s = h & this.#mask;
    for (let p = 0; p < PROBES; p++, s = (s + 1) & this.#mask) {
      if (this.#epoch[s] !== this.#current) return -1;
      if (this.#tags[s] === h && this.#matches(s)) return s;
    }
    return -1;
  }

  /**
   * Slot of `key`, created (counters zeroed) when absent. Returns -1 when the
   * whole probe window is pinned by alert groups (counted in `stats.refused`).
   * `prefix`: the hash state after the key's first `from` words, when the
   * caller has it (see `foldKey`).
   */
  upsert(prefix = KEY_SEED, from = 0): number {
    const h = foldKey(prefix, this.key, from, this.keyWords);
    const start = h & this.#mask;
    let slot = -1;
    let s = start;
    // The key, or the first free slot (see `find`): only a full window has a victim to choose.
    for (let p = 0; p < PROBES; p++, s = (s + 1) & this.#mask) {
      if (this.#epoch[s] !== this.#current) {
        slot = s;
        break;
      }
      if (this.#tags[s] === h && this.#matches(s)) {
        this.created = false;
        this.evictedFlows = 0;
        return s;
      }
    }
    this.evictedFlows = 0;
    if (slot < 0) {
      // The entry with the fewest flows that no alert group pins (the first of equals).
      let victim = -1;
      let victimFlows = Number.POSITIVE_INFINITY;
      s = start;
      for (let p = 0; p < PROBES; p++, s = (s + 1) & this.#mask) {
        if (this.group[s] !== 0) continue;
        const flows = this.counters[s * this.fields];
        if (flows < victimFlows) {
          victimFlows = flows;
          victim = s;
        }
      }
      if (victim < 0) {
        this.stats.refused++;
        this.created = false;
        return -1;
      }
      slot = victim;
      this.evictedFlows = victimFlows;
      this.keyOf(victim, this.evictedKey);
      this.stats.evicted++;
      this.#size--;
    }
    this.#epoch[slot] = this.#current;
    this.#tags[slot] = h;
    this.#keys.set(this.key, slot * this.keyWords);
    this.counters.fill(0, slot * this.fields, (slot + 1) * this.fields);
    this.group[slot] = 0;
    this.#size++;
    this.stats.inserted++;
    this.created = true;
    return slot;
  }

  /** Starts a new window: every entry and pin is dropped, in O(1). */
  reset(): void {
    this.#current++;
    if (this.#current === 0xffffffff) {
      this.#epoch.fill(0);
      this.#current = 1;
    }
    this.group.fill(0);
    this.#size = 0;
  }

  /** Calls `visit` for every live slot. */
  forEachLive(visit: (slot: number) => void): void {
    for (let s = 0; s < this.capacity; s++) if (this.#epoch[s] === this.#current) visit(s);
  }
}

/**
 * HyperLogLog distinct counters, one register array per table slot: the
 * number of distinct sources hitting a target in bounded memory (a spoofed
 * flood has as many sources as packets). Standard error about
 * 1.04 / sqrt(registers): 6.5% with 256; small counts use linear counting and
 * are close to exact.
 */
export class DistinctSketches {
  readonly registersPerSlot: number;
  readonly registers: Uint8Array;
  #bits: number;

  /** `registers` per slot: a power of two from 16 to 4096 (default 256). */
  constructor(slots: number, registers = 256) {
    this.#bits = Math.round(Math.log2(registers));
    if (2 ** this.#bits !== registers || this.#bits < 4 || this.#bits > 12) {
      throw new Error(`sketch registers must be a power of two from 16 to 4096, got ${registers}`);
    }
    this.registersPerSlot = registers;
    this.registers = new Uint8Array(slots * registers);
  }

  /** Forgets slot `s` (when its table entry is created). */
  clear(s: number): void {
    const m = this.registersPerSlot;
    this.registers.fill(0, s * m, (s + 1) * m);
  }

  /** Adds an item of 32-bit hash `h` to slot `s`. */
  add(s: number, h: number): void {
    const b = this.#bits;
    const index = h >>> (32 - b);
    // An int32, not `>>> 0`: clz32 reads it as unsigned anyway, and an unsigned value over 2^31
    // threw the optimised code away again and again (60 deopts a run on range traffic).
    const rest = h << b;
    const rank = rest === 0 ? 33 - b : Math.clz32(rest) + 1;
    const at = s * this.registersPerSlot + index;
    if (rank > this.registers[at]) this.registers[at] = rank;
  }

  /**
   * Adds the item hashed as `foldKey(seed | 0, words, 0, n)` to slot `s`, the
   * hash computed here: a hash at or above 2^31 passed between functions is a heap number,
   * and `add`'s integer code was thrown away for it again and again (V8's
   * deopt trace on range traffic).
   */
  addKey(s: number, words: Uint32Array, n: number, seed: number): void {
    let h = seed | 0;
    for (let k = 0; k < n; k++) {
      h ^= Math.imul(words[k] + k, 0x9e3779b1);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
    const b = this.#bits;
    const index = h >>> (32 - b);
    // An int32, not `>>> 0`: clz32 reads it as unsigned anyway, and an unsigned value over 2^31
    // threw the optimised code away again and again (60 deopts a run on range traffic).
    const rest = h << b;
    const rank = rest === 0 ? 33 - b : Math.clz32(rest) + 1;
    const at = s * this.registersPerSlot + index;
    if (rank > this.registers[at]) this.registers[at] = rank;
  }

  /** Estimated distinct items of slot `s`. */
  estimate(s: number): number {
    const m = this.registersPerSlot;
    let sum = 0;
    let zeros = 0;
    for (let k = s * m; k < (s + 1) * m; k++) {
      sum += 2 ** -this.registers[k];
      if (this.registers[k] === 0) zeros++;
    }
    const alpha = m === 16 ? 0.673 : m === 32 ? 0.697 : m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / m);
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(raw);
  }
}
