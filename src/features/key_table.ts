/**
 * A hash table of fixed-width keys (uint32 words) to rows of float64 state,
 * all in typed arrays, for the per-packet extractors (packet, sequence and
 * AfterImage features): a lookup or an insert allocates nothing. Entries idle
 * longer than `idleMicros` are dropped when the table fills; if it is still
 * too full, it grows (an allocation per doubling, not per packet) up to
 * `maxEntries`, past which it is cleared and the clearing counted.
 */

/** Settings of one table. */
export interface KeyTableOptions {
  /** Key width in 32-bit words. */
  keyWords: number;
  /** Float64 state values per entry (the table adds one in front: the last-seen time). */
  stride: number;
  /** Starting capacity (rounded up to a power of two). Default 4096. */
  initialCapacity?: number;
  /** Most entries held; past it the table is cleared. Default 1,048,576. */
  maxEntries?: number;
  /** Entries not seen for this long are dropped when the table fills. Default 120 s. */
  idleMicros?: number;
}

const LOAD_LIMIT = 0.7;

/**
 * Open addressing, linear probing; `key` is the caller's scratch key for
 * find/lookup. A key row is its words then a used flag, and a state row
 * starts with the entry's last-seen time, so a lookup touches two cache
 * lines: the caller's values are `state[slot * stride + 1 ..]`.
 */
export class KeyTable {
  readonly keyWords: number;
  /** Values per state row: the last-seen time, then the caller's `options.stride`. */
  readonly stride: number;
  private readonly keyStride: number;
  /** Scratch key: fill its first keyWords words, then call find or lookup. */
  readonly key: Uint32Array;
  /** Row `slot` is `state[slot * stride .. (slot + 1) * stride)`; index 0 of a row is the table's. */
  state: Float64Array;
  /** True when the last find inserted a fresh (zeroed) entry. */
  inserted = false;
  /** Entries held now. */
  count = 0;
  /** Times the table was cleared because it reached maxEntries. */
  clears = 0;
  /** Entries dropped as idle. */
  pruned = 0;
  private capacity: number;
  private mask: number;
  private keys: Uint32Array;
  private readonly maxEntries: number;
  private readonly idleMicros: number;

  constructor(options: KeyTableOptions) {
    this.keyWords = options.keyWords;
    this.keyStride = options.keyWords + 1;
    this.stride = options.stride + 1;
    this.key = new Uint32Array(options.keyWords);
    this.maxEntries = options.maxEntries ?? 1 << 20;
    this.idleMicros = options.idleMicros ?? 120e6;
    let capacity = 16;
    while (capacity < (options.initialCapacity ?? 4096)) capacity *= 2;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.keys = new Uint32Array(capacity * this.keyStride);
    this.state = new Float64Array(capacity * this.stride);
  }

  /** Slot of `key`, inserting a zeroed entry when absent (sets `inserted`); marks it seen at `now`. */
  find(now: number): number {
    let slot = this.probe();
    if (slot >= 0) {
      this.inserted = false;
      this.state[slot * this.stride] = now;
      return slot;
    }
    if (this.count + 1 > this.capacity * LOAD_LIMIT) {
      this.makeRoom(now);
      slot = this.probe();
    }
    slot = -slot - 1;
    const words = this.keyWords, key = this.key, base = slot * this.keyStride;
    for (let k = 0; k < words; k++) this.keys[base + k] = key[k];
    this.keys[base + words] = 1;
    this.state.fill(0, slot * this.stride, (slot + 1) * this.stride);
    this.state[slot * this.stride] = now;
    this.count++;
    this.inserted = true;
    return slot;
  }

  /** Slot of `key`, or -1 when absent (never inserts). */
  lookup(): number {
    const slot = this.probe();
    return slot >= 0 ? slot : -1;
  }

  /** Bytes held by the table's arrays. */
  bytes(): number {
    return this.keys.byteLength + this.state.byteLength;
  }

  /** The slot holding `key` (>= 0), or -(free slot) - 1 where it would go. */
  private probe(): number {
    const words = this.keyWords, stride = this.keyStride, key = this.key, keys = this.keys;
    // MurmurHash3's word mixing and finaliser: every key bit reaches the low (index) bits.
    let h = 0;
    for (let k = 0; k < words; k++) {
      let w = Math.imul(key[k], 0xcc9e2d51);
      w = Math.imul((w << 15) | (w >>> 17), 0x1b873593);
      h ^= w;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    let slot = h & this.mask;
    for (;;) {
      const base = slot * stride;
      if (keys[base + words] === 0) return -slot - 1;
      let same = true;
      for (let k = 0; k < words; k++) {
        if (keys[base + k] !== key[k]) {
          same = false;
          break;
        }
      }
      if (same) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Drops idle entries; grows or clears when that frees too little. */
  private makeRoom(now: number): void {
    const before = this.count;
    this.rebuild(this.capacity, now - this.idleMicros);
    this.pruned += before - this.count;
    if (this.count + 1 <= this.capacity * LOAD_LIMIT * 0.75) return;
    if (this.capacity * LOAD_LIMIT < this.maxEntries) {
      this.rebuild(this.capacity * 2, -Infinity);
      return;
    }
    this.clears++;
    this.keys.fill(0);
    this.count = 0;
  }

  /** Re-inserts the entries seen after `keepAfter` into arrays of `capacity` slots. */
  private rebuild(capacity: number, keepAfter: number): void {
    const oldKeys = this.keys, oldState = this.state, oldCapacity = this.capacity;
    const words = this.keyWords, keyStride = this.keyStride, stride = this.stride;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.keys = new Uint32Array(capacity * keyStride);
    this.state = new Float64Array(capacity * stride);
    this.count = 0;
    const scratch = this.key.slice();
    for (let s = 0; s < oldCapacity; s++) {
      if (oldKeys[s * keyStride + words] === 0 || oldState[s * stride] <= keepAfter) continue;
      for (let k = 0; k < words; k++) this.key[k] = oldKeys[s * keyStride + k];
      const slot = -this.probe() - 1;
      this.keys.set(oldKeys.subarray(s * keyStride, (s + 1) * keyStride), slot * keyStride);
      this.state.set(oldState.subarray(s * stride, (s + 1) * stride), slot * stride);
      this.count++;
    }
    this.key.set(scratch);
  }
}
