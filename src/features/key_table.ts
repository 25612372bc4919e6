/**
 * A hash table of fixed-width keys (uint32 words) to rows of float64 state,
 * all in typed arrays, for the per-packet extractors (packet, sequence and
 * AfterImage features): a lookup or an insert allocates nothing. It is
 * bounded: entries live in a pool allocated once at `maxEntries` (virtual
 * until used) whose usable part doubles when full (the index is reallocated
 * per doubling, not per packet); a full pool first recycles its
 * least recently seen entry if that one is idle (`pruned`), and past
 * `maxEntries` recycles it anyway (`evicted`), so a spoofed flood costs a
 * bounded table and a count, never unbounded memory or a wholesale clear.
 */
import { adviseHugePages } from "../ffi/mod.ts";

/** Settings of one table. */
export interface KeyTableOptions {
  /** Key width in 32-bit words. */
  keyWords: number;
  /** Float64 state values per entry (the table adds one in front: the last-seen time). */
  stride: number;
  /** Starting capacity in entries (rounded up to a power of two). Default 4096. */
  initialCapacity?: number;
  /** Most entries held; past it the least recently seen entry is evicted. Default 1,048,576. */
  maxEntries?: number;
  /** A full table recycles its least recently seen entry before growing if it is this idle. Default 120 s. */
  idleMicros?: number;
  /**
   * Back the pool with transparent huge pages where the kernel allows (see
   * adviseHugePages): for large tables that fill with many entries. Default false.
   */
  hugePages?: boolean;
}

/** Housekeeping counters of one or more tables. */
export interface KeyTableStats {
  /** Entries held now. */
  entries: number;
  /** Idle entries recycled because the table was full. */
  pruned: number;
  /** Entries still live but least recently seen, recycled because the table was at maxEntries. */
  evicted: number;
  /** Bytes held by the tables' arrays. */
  bytes: number;
}

/** Sums the counters of several tables (or of counters already summed). */
export function keyTableStats(tables: readonly (KeyTable | KeyTableStats)[]): KeyTableStats {
  let entries = 0, pruned = 0, evicted = 0, bytes = 0;
  for (const t of tables) {
    const s = t instanceof KeyTable ? t.stats() : t;
    entries += s.entries, pruned += s.pruned, evicted += s.evicted, bytes += s.bytes;
  }
  return { entries, pruned, evicted, bytes };
}

/** Pool slots an eviction compares: the least recently seen of them goes. */
const EVICTION_SAMPLE = 16;

/**
 * Entries are numbered slots of a pool (state rows, last-seen times); an
 * open-addressing index (linear probing, at most half full) holds each
 * entry's slot, hash and key in one row, so a lookup touches one index row
 * and then the caller's state row, and a slot never moves while its entry
 * lives: the caller's values are `state[slot * stride + 1 ..]`. A full pool
 * frees the least recently seen of EVICTION_SAMPLE consecutive slots after a
 * rotating hand (sampled, as Redis does, so a hit costs no list upkeep): the
 * victim is older than 15 of its 16 peers, and among the oldest half of the
 * table with probability 1 - 2^-16.
 */
export class KeyTable {
  readonly keyWords: number;
  /** Values per state row: one reserved for the table, then the caller's `options.stride`. */
  readonly stride: number;
  /** Scratch key: fill its first keyWords words, then call find or lookup. */
  readonly key: Uint32Array;
  /** Row `slot` is `state[slot * stride .. (slot + 1) * stride)`; index 0 of a row is the table's. */
  state: Float64Array;
  /** True when the last find inserted a fresh (zeroed) entry. */
  inserted = false;
  /** Entries held now. */
  count = 0;
  /** Idle entries recycled because the table was full. */
  pruned = 0;
  /** Live entries recycled (least recently seen of a sample) because the table was at maxEntries. */
  evicted = 0;
  /** Pool size in entries. */
  private capacity: number;
  /** Last-seen time per slot, dense so an eviction's sample reads two cache lines. */
  private seen: Float64Array;
  /** Hash per slot, to find an evicted slot's index row. */
  private hashes: Int32Array;
  private hand = 0;
  /** Index rows: slot + 1 (0 when empty), hash, key words. */
  private index: Uint32Array;
  private readonly rowWords: number;
  private indexMask: number;
  private readonly maxEntries: number;
  private readonly idleMicros: number;
  private readonly hugePages: boolean;

  constructor(options: KeyTableOptions) {
    this.keyWords = options.keyWords;
    this.rowWords = options.keyWords + 2;
    this.stride = options.stride + 1;
    this.key = new Uint32Array(options.keyWords);
    this.maxEntries = Math.max(1, options.maxEntries ?? 1 << 20);
    this.idleMicros = options.idleMicros ?? 120e6;
    let capacity = 16;
    while (capacity < Math.min(options.initialCapacity ?? 4096, this.maxEntries)) capacity *= 2;
    this.capacity = Math.min(capacity, this.maxEntries);
    // The pool is allocated at its bound once: the pages stay virtual until slots reach them
    // (slots are handed out in order), so growing copies nothing and faults no page twice.
    this.state = new Float64Array(this.maxEntries * this.stride);
    this.seen = new Float64Array(this.maxEntries);
    this.hashes = new Int32Array(this.maxEntries);
    this.index = new Uint32Array(capacity * 2 * this.rowWords);
    this.indexMask = capacity * 2 - 1;
    this.hugePages = options.hugePages ?? false;
    if (this.hugePages) adviseHugePages(this.state);
  }

  /** Slot of `key`, inserting a zeroed entry when absent (sets `inserted`); marks it seen at `now`. */
  find(now: number): number {
    return this.findHashed(this.hash(), now);
  }

  /** Hash of the scratch key, for warm and findHashed. */
  hashKey(): number {
    return this.hash();
  }

  /**
   * Reads the index row the key with hash `h` lands on and every cache line
   * of the state row it names, and returns a sum the caller must keep (so
   * the loads stay). Warming the tables a packet needs one after another,
   * before any update, lets their cache misses overlap instead of each
   * waiting for the last: the tables are larger than the caches, and these
   * misses were most of a packet's cost.
   */
  warm(h: number): number {
    const slot = this.index[(h & this.indexMask) * this.rowWords] - 1;
    if (slot < 0) return 0;
    const s = this.state, base = slot * this.stride, last = base + this.stride - 1;
    let sum = this.seen[slot];
    for (let k = base; k < last; k += 8) sum += s[k];
    return sum + s[last];
  }

  /** find with the hash already computed (hashKey of the same scratch key). */
  findHashed(h: number, now: number): number {
    const at = this.probe(h);
    if (this.index[at] !== 0) {
      const slot = this.index[at] - 1;
      this.inserted = false;
      this.seen[slot] = now;
      return slot;
    }
    const full = this.count === this.capacity;
    const slot = this.freeSlot(now);
    // Growth rebuilt the index or an eviction shifted its rows: find the free row again.
    const row = full ? this.probe(h) : at;
    const index = this.index;
    index[row] = slot + 1;
    index[row + 1] = h;
    const key = this.key;
    for (let k = 0; k < this.keyWords; k++) index[row + 2 + k] = key[k];
    this.hashes[slot] = h;
    this.seen[slot] = now;
    this.state.fill(0, slot * this.stride, (slot + 1) * this.stride);
    this.count++;
    this.inserted = true;
    return slot;
  }

  /** Slot of `key`, or -1 when absent (never inserts, does not count as seen). */
  lookup(): number {
    return this.index[this.probe(this.hash())] - 1;
  }

  /** This table's counters. */
  stats(): KeyTableStats {
    return { entries: this.count, pruned: this.pruned, evicted: this.evicted, bytes: this.bytes() };
  }

  /** Bytes of the table's arrays in use: the pool up to its current capacity, and the index. */
  bytes(): number {
    return this.capacity * (this.stride * 8 + 12) + this.index.byteLength;
  }

  /** Hash of the scratch key: a multiply-rotate per word, then MurmurHash3's finaliser. */
  private hash(): number {
    const key = this.key, words = this.keyWords;
    let h = words;
    for (let k = 0; k < words; k++) {
      h = Math.imul(h ^ key[k], 0x9e3779b1);
      h = (h << 13) | (h >>> 19);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** Index row (word offset) holding the scratch key (hash `h`), or the empty row where it would go. */
  private probe(h: number): number {
    const words = this.keyWords, rowWords = this.rowWords, key = this.key, index = this.index;
    const mask = this.indexMask;
    let i = h & mask;
    for (;;) {
      const row = i * rowWords;
      if (index[row] === 0) return row;
      if (index[row + 1] === h) {
        let k = 0;
        while (k < words && index[row + 2 + k] === key[k]) k++;
        if (k === words) return row;
      }
      i = (i + 1) & mask;
    }
  }

  /** A slot for a new entry: an unused one, else the pool grows or recycles an old entry. */
  private freeSlot(now: number): number {
    if (this.count < this.capacity) return this.count;
    const victim = this.leastRecentlySeen();
    const idle = this.seen[victim] <= now - this.idleMicros;
    if (!idle && this.capacity < this.maxEntries) {
      this.grow(Math.min(this.capacity * 2, this.maxEntries));
      return this.count;
    }
    if (idle) this.pruned++;
    else this.evicted++;
    this.remove(victim);
    return victim;
  }

  /** The least recently seen of EVICTION_SAMPLE slots from the hand, which moves past them. */
  private leastRecentlySeen(): number {
    const seen = this.seen, capacity = this.capacity;
    let best = this.hand, oldest = seen[best];
    for (let k = 1; k < EVICTION_SAMPLE; k++) {
      const slot = (this.hand + k) % capacity;
      if (seen[slot] < oldest) oldest = seen[slot], best = slot;
    }
    this.hand = (this.hand + EVICTION_SAMPLE) % capacity;
    return best;
  }

  /** Drops entry `slot` from the index (its pool slot is reused at once by the caller). */
  private remove(slot: number): void {
    const index = this.index, mask = this.indexMask, rowWords = this.rowWords;
    let i = this.hashes[slot] & mask;
    while (index[i * rowWords] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later rows of the run into the hole when their home allows.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const row = j * rowWords;
      if (index[row] === 0) break;
      const home = index[row + 1] & mask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!between) {
        index.copyWithin(i * rowWords, row, row + rowWords);
        i = j;
      }
    }
    index.fill(0, i * rowWords, (i + 1) * rowWords);
    this.count--;
  }

  /** Lets the pool use `capacity` slots (allocated already); the index is rebuilt larger. */
  private grow(capacity: number): void {
    let size = 16;
    while (size < capacity * 2) size *= 2;
    const old = this.index, rowWords = this.rowWords;
    this.index = new Uint32Array(size * rowWords);
    // The index is written all over at once: huge pages fault it in 512 times fewer faults.
    if (this.hugePages) adviseHugePages(this.index);
    this.indexMask = size - 1;
    for (let row = 0; row < old.length; row += rowWords) {
      if (old[row] === 0) continue;
      let i = old[row + 1] & this.indexMask;
      while (this.index[i * rowWords] !== 0) i = (i + 1) & this.indexMask;
      this.index.set(old.subarray(row, row + rowWords), i * rowWords);
    }
    this.capacity = capacity;
  }
}
