/**
 * Copies of flow batches, for whoever keeps a batch past the meter's next
 * one (the detector's in-flight batches, capture workers posting their rows).
 */
import {
  copyFlowBatchRange,
  createFlowBatch,
  type FlowBatch,
  flowRowBytes,
} from "../features/mod.ts";

export { flowRowBytes };

/** Copies the valid part of a batch (bulk copies) so the flow meter may reuse its buffers. */
export function snapshotFlowBatch(b: FlowBatch): FlowBatch {
  const n = b.count;
  return {
    count: n,
    width: b.width,
    features: b.features.slice(0, n * b.width),
    srcAddr: b.srcAddr.slice(0, n * 16),
    dstAddr: b.dstAddr.slice(0, n * 16),
    srcPort: b.srcPort.slice(0, n),
    dstPort: b.dstPort.slice(0, n),
    protocol: b.protocol.slice(0, n),
    ipVersion: b.ipVersion.slice(0, n),
    vlan: b.vlan.slice(0, n),
    startMicros: b.startMicros.slice(0, n),
    endMicros: b.endMicros.slice(0, n),
    connState: b.connState.slice(0, n),
    endReason: b.endReason.slice(0, n),
    fwdPackets: b.fwdPackets.slice(0, n),
    bwdPackets: b.bwdPackets.slice(0, n),
    interim: b.interim.slice(0, n),
    exportSeq: b.exportSeq.slice(0, n),
    logins: b.logins.slice(0, n),
    firstTtl: b.firstTtl.slice(0, n),
  };
}

/**
 * Snapshots in one set of preallocated column buffers, taken and released in
 * order (first in, first out: the detector decides batches in input order).
 * A snapshot is a batch of views on a contiguous range of rows, so copying a
 * batch costs its bytes and nothing else: no buffer allocated per batch,
 * nothing for the collector (17 buffers per batch were most of the
 * detector's garbage).
 */
export class FlowSnapshotRing {
  readonly capacity: number;
  readonly width: number;
  #rows: FlowBatch;
  /** Snapshots held, oldest first, with where each starts. */
  #held: { batch: FlowBatch; start: number; released: boolean }[] = [];
  /** Where the next snapshot goes (the end of the newest). */
  #head = 0;

  constructor(capacityRows: number, width: number) {
    this.capacity = Math.max(1, capacityRows);
    this.width = width;
    this.#rows = createFlowBatch(this.capacity, width);
  }

  /** Snapshots held now. */
  get held(): number {
    return this.#held.length;
  }

  /** Bytes of the buffers. */
  get bytes(): number {
    return this.capacity * flowRowBytes(this.width);
  }

  /**
   * A copy of `b` in the ring, or null when its rows do not fit now (wait for
   * a release, or copy it elsewhere).
   */
  take(b: FlowBatch): FlowBatch | null {
    const n = b.count;
    if (b.width !== this.width) return null;
    const start = this.#place(n);
    if (start < 0) return null;
    const r = this.#rows;
    const w = this.width;
    const end = start + n;
    copyFlowBatchRange(b, 0, n, r, start);
    const batch: FlowBatch = {
      count: n,
      width: w,
      features: r.features.subarray(start * w, end * w),
      srcAddr: r.srcAddr.subarray(start * 16, end * 16),
      dstAddr: r.dstAddr.subarray(start * 16, end * 16),
      srcPort: r.srcPort.subarray(start, end),
      dstPort: r.dstPort.subarray(start, end),
      protocol: r.protocol.subarray(start, end),
      ipVersion: r.ipVersion.subarray(start, end),
      vlan: r.vlan.subarray(start, end),
      startMicros: r.startMicros.subarray(start, end),
      endMicros: r.endMicros.subarray(start, end),
      connState: r.connState.subarray(start, end),
      endReason: r.endReason.subarray(start, end),
      fwdPackets: r.fwdPackets.subarray(start, end),
      bwdPackets: r.bwdPackets.subarray(start, end),
      interim: r.interim.subarray(start, end),
      exportSeq: r.exportSeq.subarray(start, end),
      logins: r.logins.subarray(start, end),
      firstTtl: r.firstTtl.subarray(start, end),
    };
    this.#held.push({ batch, start, released: false });
    return batch;
  }

  /**
   * Gives back a snapshot (a batch the ring did not make is left alone). Its
   * rows are free once every older snapshot is given back too.
   */
  release(batch: FlowBatch): void {
    const held = this.#held;
    // Nearly always the oldest.
    for (let k = 0; k < held.length; k++) {
      if (held[k].batch === batch) {
        held[k].released = true;
        break;
      }
    }
    while (held.length > 0 && held[0].released) held.shift();
    if (held.length === 0) this.#head = 0;
  }

  /** Start of `n` free contiguous rows at the head (wrapping to 0), or -1. */
  #place(n: number): number {
    const cap = this.capacity;
    if (n > cap) return -1;
    const head = this.#head;
    let start = -1;
    if (this.#held.length === 0) start = 0;
    else {
      // Held: [tail, head) going round; a snapshot that did not fit before the
      // end started again at 0, leaving the end unused until the ring turns.
      const tail = this.#held[0].start;
      if (head > tail) {
        if (cap - head >= n) start = head;
        else if (tail >= n) start = 0;
      } else if (head < tail && tail - head >= n) start = head;
    }
    if (start >= 0) this.#head = (start + n) % cap;
    return start;
  }
}
