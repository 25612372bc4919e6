/**
 * Log chunks: 64-byte overflow logs for flows past their row's log that have
 * no statistics row yet (see CHUNK_PACKETS in flow_layout.ts). Reserved once
 * for the table's capacity (a page is committed only when a chunk on it is
 * first used) and recycled through a free list, as statistics rows are.
 */
import { CHUNK_BYTES, CHUNK_WORDS, NIL } from "./flow_layout.ts";

export class FlowLogChunks {
  readonly u32: Uint32Array;
  /** Chunks ever used (high-water mark), and how many are in use now. */
  chunksUsed = 0;
  live = 0;
  private freeHead = NIL;

  constructor(buffer: ArrayBuffer) {
    this.u32 = new Uint32Array(buffer);
  }

  /** A chunk from the free list or past the high-water mark (its contents are stale). */
  allocate(): number {
    let c: number;
    if (this.freeHead !== NIL) {
      c = this.freeHead;
      // A free chunk's first word holds the next free chunk + 1 (0 ends the list).
      this.freeHead = this.u32[c * CHUNK_WORDS] - 1;
    } else {
      c = this.chunksUsed++;
    }
    this.live++;
    return c;
  }

  /** Returns chunk `c` to the free list. */
  release(c: number): void {
    this.u32[c * CHUNK_WORDS] = this.freeHead + 1;
    this.freeHead = c;
    this.live--;
  }

  /** Bytes of chunks up to the high-water mark. */
  bytesAllocated(): number {
    return this.chunksUsed * CHUNK_BYTES;
  }
}
