/**
 * The flow table's hash index: open addressing with linear probing and
 * backward-shift deletion (no tombstones, probes stay short), two int32 per
 * slot: flow id + 1 (0 = empty), then the flow's hash, so a probe compares
 * keys only when the full hash matches. Kept at most half full. The lookup
 * loop itself lives in the table's hot path, which reads `slots` and `mask`
 * directly.
 */

import { adviseHugePages } from "../ffi/mod.ts";

/** Slots of the index (id + 1, hash pairs), grown by rebuilding. */
export class FlowIndex {
  slots = new Int32Array(0);
  mask = -1;

  /** Bytes held by the slots. */
  get byteLength(): number {
    return this.slots.byteLength;
  }

  /** Adds flow `id` with hash `h`. */
  insert(id: number, h: number): void {
    const mask = this.mask;
    const slots = this.slots;
    let slot = h & mask;
    while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = id + 1;
    slots[2 * slot + 1] = h;
  }

  /** Removes flow `id` (hash `h`) by backward shift. */
  remove(id: number, h: number): void {
    const mask = this.mask;
    const slots = this.slots;
    let hole = h & mask;
    while (slots[2 * hole] !== id + 1) hole = (hole + 1) & mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const entry = slots[2 * j];
      if (entry === 0) break;
      const home = slots[2 * j + 1] & mask;
      // Move the entry back when its home is not inside (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        slots[2 * hole] = entry;
        slots[2 * hole + 1] = slots[2 * j + 1];
        hole = j;
      }
    }
    slots[2 * hole] = 0;
  }

  /** Rebuilds the index with at least `count` slots (a power of two) from the old one. */
  resize(count: number): void {
    let size = 16;
    while (size < count) size *= 2;
    if (size <= this.mask + 1) return;
    const old = this.slots;
    this.slots = new Int32Array(2 * size);
    // Written all over at once: huge pages fault it in 512 times fewer faults (large indexes only).
    adviseHugePages(this.slots);
    this.mask = size - 1;
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] !== 0) this.insert(old[k] - 1, old[k + 1]);
    }
  }
}
