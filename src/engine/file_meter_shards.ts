/**
 * Metering a capture file on several cores: one worker per shard reads the
 * whole file itself (reading is the cheap part; no packets cross threads),
 * decodes every packet and meters only the flows whose direction-independent
 * hash falls in its shard (FlowMeterOptions.shard). Every worker's clock
 * advances on every metered packet, so flows expire as of the same packets
 * as in one meter, and each row carries merge keys by which this thread
 * merges the shards' rows back into the order one meter emits them: the
 * same rows in the same order, unless a shard reaches its share of the
 * bounds (maxFlows, memcap: each shard has 1/N of them) or the capture's
 * timestamps go backwards across flows near an expiry cutoff (see README).
 *
 * Backpressure: a worker holds at most MAX_PENDING_BATCHES posted batches
 * this thread has not merged yet, then waits.
 */
import { CaptureFileError, type CaptureFileStats } from "../capture/mod.ts";
import {
  copyFlowBatchRange,
  createFlowBatch,
  FEATURE_COUNT,
  FLOW_ROW_COLUMNS,
  type FlowBatch,
  type FlowMeterCounters,
  type FlowMeterOptions,
  type ShardedFlowBatch,
} from "../features/mod.ts";
import { addCounters, shareOfMeter } from "./meter_shards.ts";

/** What the main thread sends a shard worker. */
export interface FileShardStart {
  path: string;
  index: number;
  count: number;
  meter: FlowMeterOptions;
  /** Int32 word: slots filled and not yet merged. */
  pending: SharedArrayBuffer;
  /** The shard's row slots (sharedFlowBatch), filled in turn. */
  slots: SharedArrayBuffer[];
  slotRows: number;
}

/** A failure of a shard's reader or meter, sent as data (errors do not clone with their fields). */
export type FileShardError =
  | {
    kind: "capture-file";
    path: string;
    offset: number;
    reason: string;
    packetsBefore: number;
    message: string;
  }
  | { kind: "other"; message: string }
  | null;

/** What a shard worker posts. */
export type FileShardMessage =
  | { type: "flows"; slot: number; count: number }
  | {
    type: "done";
    counters: FlowMeterCounters;
    /** Shard 0's reader statistics (every shard reads the same file). */
    stats: CaptureFileStats | null;
    error: FileShardError;
  };

/**
 * Row slots per shard: filled slots a shard may be ahead of the merge. The
 * slots are shared memory, allocated once (fresh 3 MB buffers per batch
 * cost 9 ms each in V8's GC with the sensor's 1 MB young generation).
 */
export const SLOTS_PER_SHARD = 4;
/** Rows per slot. */
export const SLOT_ROWS = 4096;

/** Flows per merged output batch. */
const OUTPUT_BATCH = 4096;

/**
 * Shards a file is metered on when the user does not say: one. Every shard
 * reads and decodes the whole file and runs its own JIT, so two shards cost
 * about 2.3 times one's CPU (range capture: 2.0 s against 0.85 s); on the
 * 2-core build machine, shared, that made the run 2 to 3 times slower by
 * wall, and even on idle cores it cannot beat one (see README Performance).
 */
export const DEFAULT_FILE_SHARDS = 1;

/** A capture file metered by `shards` workers, its rows merged into one meter's order. */
export class FileMeterShards {
  readonly #path: string;
  readonly #shards: number;
  readonly #share: FlowMeterOptions;
  readonly #stats: CaptureFileStats | undefined;
  #counters: FlowMeterCounters | null = null;

  /** `stats`, when given, is filled with the reader's statistics when the flows end. */
  constructor(path: string, shards: number, options: FlowMeterOptions, stats?: CaptureFileStats) {
    if (!Number.isInteger(shards) || shards < 1) {
      throw new RangeError(`shards must be a whole number, 1 or more, got ${shards}`);
    }
    if (options.packetObserver) {
      throw new RangeError("sharded metering cannot feed a packet observer");
    }
    this.#path = path;
    this.#shards = shards;
    this.#share = shareOfMeter(options, shards);
    this.#stats = stats;
  }

  /** Every shard's counters, added up (complete once flows() has ended). */
  counters(): FlowMeterCounters {
    if (!this.#counters) throw new Error("the sharded meter has not finished");
    return this.#counters;
  }

  /** The counters once every shard finished (a corrupt file included), else null. */
  finishedCounters(): FlowMeterCounters | null {
    return this.#counters;
  }

  /**
   * The merged rows in batches; a batch is valid until the next is asked for.
   * A corrupt file ends with its CaptureFileError after every row before it.
   */
  async *flows(): AsyncGenerator<FlowBatch> {
    const n = this.#shards;
    const slots = Array.from(
      { length: n },
      () => Array.from({ length: SLOTS_PER_SHARD }, () => sharedFlowBatch(SLOT_ROWS)),
    );
    const columns = slots.map((list) => list.map((b) => new Columns(b, b.order)));
    /** Per shard: filled slots not yet merged, in order (slot index, rows). */
    const queued: number[][] = Array.from({ length: n }, () => []);
    const cursor = new Int32Array(n);
    const done: (FileShardMessage & { type: "done" })[] = [];
    const finished = new Uint8Array(n);
    const pending = Array.from({ length: n }, () => new Int32Array(new SharedArrayBuffer(4)));
    let wake: (() => void) | null = null;
    let crashed: Error | null = null;
    const workers = Array.from({ length: n }, (_, index) => {
      const worker = new Worker(new URL("./metering_file_worker.ts", import.meta.url).href, {
        type: "module",
      });
      worker.onmessage = (event: MessageEvent<FileShardMessage>) => {
        const message = event.data;
        if (message.type === "flows") queued[index].push(message.slot, message.count);
        else {
          done[index] = message;
          finished[index] = 1;
        }
        wake?.();
      };
      worker.onerror = (event) => {
        event.preventDefault();
        crashed ??= new Error(`flow meter shard ${index} failed: ${event.message}`);
        finished[index] = 1;
        wake?.();
      };
      const start: FileShardStart = {
        path: this.#path,
        index,
        count: n,
        meter: this.#share,
        pending: pending[index].buffer as SharedArrayBuffer,
        slots: slots[index].map((b) => b.features.buffer as SharedArrayBuffer),
        slotRows: SLOT_ROWS,
      };
      worker.postMessage(start);
      return worker;
    });
    const waitForMessage = () => new Promise<void>((resolve) => wake = resolve);
    const out = createFlowBatch(OUTPUT_BATCH);
    const outColumns = new Columns(out, new Float64Array(2 * OUTPUT_BATCH));
    try {
      for (;;) {
        // Every shard still running must show its next row before the smallest is known.
        let waiting = false;
        for (let s = 0; s < n; s++) {
          if (queued[s].length === 0 && finished[s] === 0) waiting = true;
        }
        if (crashed) throw crashed;
        if (waiting) {
          await waitForMessage();
          wake = null;
          continue;
        }
        let best = -1, bestA = Infinity, bestB = Infinity;
        for (let s = 0; s < n; s++) {
          if (queued[s].length === 0) continue;
          const head = columns[s][queued[s][0]];
          const c = 2 * cursor[s];
          const a = head.order[c], b = head.order[c + 1];
          if (a < bestA || (a === bestA && b < bestB)) best = s, bestA = a, bestB = b;
        }
        if (best < 0) break;
        const q = queued[best];
        copyRow(columns[best][q[0]], cursor[best], outColumns, out.count);
        out.count++;
        if (++cursor[best] === q[1]) {
          // The slot is merged: the shard may fill it again.
          q.splice(0, 2);
          cursor[best] = 0;
          Atomics.sub(pending[best], 0, 1);
          Atomics.notify(pending[best], 0);
        }
        if (out.count === OUTPUT_BATCH) {
          yield out;
          out.count = 0;
        }
      }
      if (out.count > 0) yield out;
      this.#finish(done);
    } finally {
      for (const worker of workers) worker.terminate();
    }
  }

  /** Sums the shards' counters, fills the reader's statistics, rethrows a shard's failure. */
  #finish(done: (FileShardMessage & { type: "done" })[]): void {
    this.#counters = done.map((d) => d.counters).reduce((sum, c) => addCounters(sum, c));
    const first = done[0];
    if (this.#stats && first.stats) Object.assign(this.#stats, first.stats, { path: this.#path });
    const error = done.find((d) => d.error)?.error;
    if (!error) return;
    if (error.kind === "capture-file") {
      const failure = new CaptureFileError(
        error.path,
        error.offset,
        error.reason,
        error.packetsBefore,
      );
      if (this.#stats) this.#stats.error = failure;
      throw failure;
    }
    throw new Error(error.message);
  }
}

/**
 * A ShardedFlowBatch of `rows` rows whose columns share one SharedArrayBuffer
 * (`features.buffer`); pass that buffer to rebuild the same views elsewhere.
 */
export function sharedFlowBatch(rows: number, buffer?: SharedArrayBuffer): ShardedFlowBatch {
  const width = FEATURE_COUNT;
  // Every column of the batch, plus the merge keys; widest first, so every view is aligned.
  const layout: [
    string,
    {
      BYTES_PER_ELEMENT: number;
      new (buffer: ArrayBuffer, offset: number, length: number): unknown;
    },
    number,
  ][] = [
    ["order", Float64Array, 2 * rows],
    ["features", Float32Array, rows * width],
    ...FLOW_ROW_COLUMNS.map(([name, Kind, perRow]) =>
      [name, Kind, perRow * rows] as [string, typeof Kind, number]
    ),
  ];
  layout.sort((a, b) => b[1].BYTES_PER_ELEMENT - a[1].BYTES_PER_ELEMENT);
  let bytes = 0;
  for (const [, Kind, length] of layout) bytes += Kind.BYTES_PER_ELEMENT * length;
  const sab = buffer ?? new SharedArrayBuffer(bytes);
  const views: Record<string, unknown> = {};
  let at = 0;
  for (const [name, Kind, length] of layout) {
    views[name] = new Kind(sab as unknown as ArrayBuffer, at, length);
    at += Kind.BYTES_PER_ELEMENT * length;
  }
  // features first in the object is not needed: its buffer is the whole SharedArrayBuffer.
  return { count: 0, width, ...views } as unknown as ShardedFlowBatch;
}

/** The columns of a FlowBatch, in one shape whatever made the batch (row copies stay monomorphic). */
class Columns {
  readonly width: number;
  readonly features: Float32Array;
  readonly srcAddr: Uint8Array;
  readonly dstAddr: Uint8Array;
  readonly srcPort: Uint16Array;
  readonly dstPort: Uint16Array;
  readonly protocol: Uint8Array;
  readonly ipVersion: Uint8Array;
  readonly vlan: Uint16Array;
  readonly startMicros: Float64Array;
  readonly endMicros: Float64Array;
  readonly connState: Uint8Array;
  readonly endReason: Uint8Array;
  readonly fwdPackets: Uint32Array;
  readonly bwdPackets: Uint32Array;
  readonly interim: Uint8Array;
  readonly exportSeq: Uint16Array;
  readonly logins: Uint8Array;
  readonly firstTtl: Uint8Array;
  readonly order: Float64Array;

  constructor(b: FlowBatch, order: Float64Array) {
    this.width = b.width;
    this.features = b.features;
    this.srcAddr = b.srcAddr;
    this.dstAddr = b.dstAddr;
    this.srcPort = b.srcPort;
    this.dstPort = b.dstPort;
    this.protocol = b.protocol;
    this.ipVersion = b.ipVersion;
    this.vlan = b.vlan;
    this.startMicros = b.startMicros;
    this.endMicros = b.endMicros;
    this.connState = b.connState;
    this.endReason = b.endReason;
    this.fwdPackets = b.fwdPackets;
    this.bwdPackets = b.bwdPackets;
    this.interim = b.interim;
    this.exportSeq = b.exportSeq;
    this.logins = b.logins;
    this.firstTtl = b.firstTtl;
    this.order = order;
  }
}

/** Copies row `i` of `from` to row `j` of `to` (every column, merge keys too). */
function copyRow(from: Columns, i: number, to: Columns, j: number): void {
  const width = from.width;
  const f = from.features, t = to.features;
  for (let k = 0, a = i * width, b = j * width; k < width; k++) t[b + k] = f[a + k];
  const fs = from.srcAddr, ts = to.srcAddr, fd = from.dstAddr, td = to.dstAddr;
  for (let k = 0, a = i * 16, b = j * 16; k < 16; k++) ts[b + k] = fs[a + k], td[b + k] = fd[a + k];
  to.srcPort[j] = from.srcPort[i];
  to.dstPort[j] = from.dstPort[i];
  to.protocol[j] = from.protocol[i];
  to.ipVersion[j] = from.ipVersion[i];
  to.vlan[j] = from.vlan[i];
  to.startMicros[j] = from.startMicros[i];
  to.endMicros[j] = from.endMicros[i];
  to.connState[j] = from.connState[i];
  to.endReason[j] = from.endReason[i];
  to.fwdPackets[j] = from.fwdPackets[i];
  to.bwdPackets[j] = from.bwdPackets[i];
  to.interim[j] = from.interim[i];
  to.exportSeq[j] = from.exportSeq[i];
  to.logins[j] = from.logins[i];
  to.firstTtl[j] = from.firstTtl[i];
  to.order[2 * j] = from.order[2 * i];
  to.order[2 * j + 1] = from.order[2 * i + 1];
}

/**
 * Copies rows `from .. from + n)` of `src` (with merge keys `order`) to `to`
 * from row `at` on, a column at a time.
 */
export function appendRows(
  src: FlowBatch,
  order: Float64Array,
  from: number,
  n: number,
  to: ShardedFlowBatch,
  at: number,
): void {
  copyFlowBatchRange(src, from, n, to, at);
  to.order.set(order.subarray(2 * from, 2 * (from + n)), 2 * at);
}
