/**
 * The inference pool: collects feature rows from any number of callers into
 * batches bounded by size (`maxBatchRows`) and by age (`maxWaitMs`), sends each
 * batch to a worker by ArrayBuffer transfer, and hands every caller the scores
 * of its own rows. A lone flow on a quiet link is scored after at most
 * `maxWaitMs`; a flood fills batches and is scored at full batch speed.
 */
import { BundleError } from "./bundle.ts";
import {
  detailRow,
  type InferenceModels,
  type ModelOutput,
  type ModelScores,
} from "./model_spec.ts";

/**
 * The web Worker constructor, captured when this module loads: onnxruntime-web's
 * Node-flavoured glue replaces `globalThis.Worker` with `worker_threads.Worker`
 * the first time a session is created on this thread (training checks do that),
 * and a worker started through that one has no `self` and never answers.
 */
const WebWorker: typeof Worker = globalThis.Worker;

/** Tuning of an inference pool. */
export interface InferencePoolOptions {
  /** Rows per worker batch (default 4096). Larger calls are split. */
  maxBatchRows?: number;
  /** Longest time a row waits for its batch to fill (default 50 ms). */
  maxWaitMs?: number;
  /** Worker count (default 1: the host has few cores and WASM runs one thread each). */
  workers?: number;
  /** Folder URL holding onnxruntime-web's wasm (default: node_modules/onnxruntime-web/dist beside the source). */
  wasmDir?: string;
  /**
   * "auto" (default): models in onnx_lite's op subset run on it, others on
   * onnxruntime-web; "onnxruntime": every ONNX model on onnxruntime-web (for
   * A/B runs; also env IDS_ONNX_ENGINE=onnxruntime).
   */
  engine?: "auto" | "onnxruntime";
}

/** Which engine scores a model: onnx_lite, onnxruntime-web (with why), or the KitNET scorer. */
export interface ModelEngine {
  model: string;
  engine: "onnx-lite" | "onnxruntime" | "kitnet";
  /** Why an ONNX model is not on onnx_lite. */
  reason?: string;
}

/** Running totals of a pool. */
export interface InferencePoolStats {
  rows: number;
  batches: number;
  /** Batches sent because they were full. */
  batchesBySize: number;
  /** Batches sent because their first row waited `maxWaitMs`. */
  batchesByWait: number;
  /** Batches sent by an explicit `flush()`. */
  batchesByFlush: number;
  /** Time spent inside workers (preprocessing + ONNX), milliseconds. */
  workerMs: number;
  /** The first worker's engine per model (model name -> engine, and why not onnx_lite). */
  engines?: Record<string, string>;
}

/** A pool of inference workers sharing one batching queue. */
export interface InferencePool {
  /** Input width the models expect. */
  readonly width: number;
  /**
   * Scores `rows` rows of `features` (row-major, `rows * width` values). The
   * rows are copied into a batch buffer at call time (one bulk copy), so the
   * caller may reuse `features` as soon as this returns.
   */
  infer(features: Float32Array, rows: number): Promise<ModelScores>;
  /** Sends whatever is queued now instead of waiting for size or age. */
  flush(): void;
  /** Totals so far. */
  readonly stats: Readonly<InferencePoolStats>;
  /** Scores what is queued, waits for it, and stops the workers. */
  close(): Promise<void>;
}

interface PendingCall {
  rows: number;
  outputs: ModelOutput[] | null;
  remaining: number;
  resolve(scores: ModelScores): void;
  reject(error: Error): void;
}

/** A slice of a call placed in a batch. */
interface Segment {
  call: PendingCall;
  callRow: number;
  batchRow: number;
  rows: number;
}

interface OpenBatch {
  features: Float32Array;
  rows: number;
  segments: Segment[];
  openedAt: number;
}

interface WorkerSlot {
  worker: Worker;
  inFlight: Map<number, Segment[]>;
}

type BatchTrigger = "size" | "wait" | "flush";

/**
 * Starts `options.workers` inference workers with the given models and waits
 * until every session is loaded. Throws with the worker's message if a model
 * fails to load.
 */
export async function createInferencePool(
  models: InferenceModels,
  options: InferencePoolOptions = {},
): Promise<InferencePool> {
  const maxBatchRows = Math.max(1, options.maxBatchRows ?? 4096);
  const maxWaitMs = Math.max(0, options.maxWaitMs ?? 50);
  const width = models.width;
  const stats: InferencePoolStats = {
    rows: 0,
    batches: 0,
    batchesBySize: 0,
    batchesByWait: 0,
    batchesByFlush: 0,
    workerMs: 0,
  };
  const spareBuffers: Float32Array[] = [];
  const slots: WorkerSlot[] = [];
  let open: OpenBatch | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let nextId = 1;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  const workerCount = Math.max(1, options.workers ?? 1);
  try {
    for (let i = 0; i < workerCount; i++) {
      const started = await startWorker(models, options.wasmDir, options.engine);
      stats.engines ??= Object.fromEntries(
        started.engines.map((e) => [e.model, e.reason ? `${e.engine} (${e.reason})` : e.engine]),
      );
      slots.push(started.slot);
    }
  } catch (error) {
    for (const slot of slots) slot.worker.terminate();
    throw error;
  }
  for (const slot of slots) {
    slot.worker.onmessage = (e) => onReply(slot, e.data);
    slot.worker.onerror = (event) => {
      // A crashed worker fails its batches loudly instead of leaving callers waiting.
      event.preventDefault();
      for (const segments of slot.inFlight.values()) {
        for (const s of segments) {
          s.call.reject(new Error(`inference worker crashed: ${event.message}`));
        }
      }
      slot.inFlight.clear();
    };
  }

  function takeBuffer(): Float32Array {
    return spareBuffers.pop() ?? new Float32Array(maxBatchRows * width);
  }

  function onReply(slot: WorkerSlot, msg: WorkerReply): void {
    if (msg.type === "ready" || msg.id === undefined) return;
    const segments = slot.inFlight.get(msg.id);
    if (!segments) return;
    slot.inFlight.delete(msg.id);
    if (msg.type === "error") {
      for (const s of segments) s.call.reject(new Error(`inference worker: ${msg.message}`));
    } else if (msg.type === "result") {
      stats.workerMs += msg.workerMs;
      if (msg.features.length === maxBatchRows * width) spareBuffers.push(msg.features);
      for (const s of segments) {
        try {
          deliver(s, msg.outputs);
        } catch (error) {
          s.call.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
    if (inFlightCount() === 0 && open === null) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  function deliver(segment: Segment, batchOutputs: ModelOutput[]): void {
    const { call } = segment;
    if (segment.rows === call.rows) {
      // The whole call is in this batch: hand out views of its rows, no copy.
      call.outputs = batchOutputs.map((o) => viewRows(o, segment.batchRow, call.rows, width));
    } else {
      call.outputs ??= batchOutputs.map((o) => allocateLike(o, call.rows, width));
      for (let m = 0; m < batchOutputs.length; m++) {
        copyRows(
          batchOutputs[m],
          segment.batchRow,
          call.outputs[m],
          segment.callRow,
          segment.rows,
          width,
        );
      }
    }
    call.remaining -= segment.rows;
    if (call.remaining === 0) call.resolve({ rows: call.rows, outputs: call.outputs });
  }

  function inFlightCount(): number {
    let n = 0;
    for (const slot of slots) n += slot.inFlight.size;
    return n;
  }

  function send(trigger: BatchTrigger): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    const batch = open;
    open = null;
    if (batch === null || batch.rows === 0) return;
    stats.batches++;
    stats.rows += batch.rows;
    if (trigger === "size") stats.batchesBySize++;
    else if (trigger === "wait") stats.batchesByWait++;
    else stats.batchesByFlush++;
    let slot = slots[0];
    for (const s of slots) if (s.inFlight.size < slot.inFlight.size) slot = s;
    const id = nextId++;
    slot.inFlight.set(id, batch.segments);
    const request: WorkerRequest = { type: "run", id, rows: batch.rows, features: batch.features };
    slot.worker.postMessage(request, [batch.features.buffer as ArrayBuffer]);
  }

  function armTimer(): void {
    if (timer === undefined) timer = setTimeout(() => send("wait"), maxWaitMs);
  }

  return {
    width,
    stats,
    infer(features: Float32Array, rows: number): Promise<ModelScores> {
      if (closed) return Promise.reject(new Error("inference pool is closed"));
      if (!Number.isInteger(rows) || rows < 0 || features.length < rows * width) {
        return Promise.reject(
          new Error(
            `infer: ${rows} rows of width ${width} need ${
              rows * width
            } values, got ${features.length}`,
          ),
        );
      }
      if (rows === 0) return Promise.resolve({ rows: 0, outputs: [] });
      return new Promise<ModelScores>((resolve, reject) => {
        const call: PendingCall = { rows, outputs: null, remaining: rows, resolve, reject };
        // A call that fits in one batch is not split across two, so its outputs are views of the
        // batch's, not copies: the open batch leaves first when the call does not fit in its rest.
        if (open !== null && rows <= maxBatchRows && open.rows + rows > maxBatchRows) send("size");
        let done = 0;
        while (done < rows) {
          open ??= { features: takeBuffer(), rows: 0, segments: [], openedAt: performance.now() };
          const n = Math.min(rows - done, maxBatchRows - open.rows);
          open.features.set(features.subarray(done * width, (done + n) * width), open.rows * width);
          open.segments.push({ call, callRow: done, batchRow: open.rows, rows: n });
          open.rows += n;
          done += n;
          if (open.rows === maxBatchRows) send("size");
        }
        if (open !== null) armTimer();
      });
    },
    flush(): void {
      send("flush");
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      send("flush");
      if (inFlightCount() > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      for (const slot of slots) slot.worker.terminate();
    },
  };
}

/** Messages to the worker. */
export type WorkerRequest =
  | {
    type: "init";
    models: InferenceModels["models"];
    width: number;
    nonFiniteValue?: number;
    wasmDir?: string;
    engine?: "auto" | "onnxruntime";
  }
  | { type: "run"; id: number; rows: number; features: Float32Array };

/** Messages from the worker. */
export type WorkerReply =
  | { type: "ready"; engines?: ModelEngine[] }
  | { type: "error"; id?: number; message: string; badModel?: boolean }
  | {
    type: "result";
    id: number;
    rows: number;
    outputs: ModelOutput[];
    features: Float32Array;
    workerMs: number;
  };

function startWorker(
  models: InferenceModels,
  wasmDir?: string,
  engine?: "auto" | "onnxruntime",
): Promise<{ slot: WorkerSlot; engines: ModelEngine[] }> {
  const worker = new WebWorker(new URL("./worker.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      reject(new Error(`inference worker failed to start: ${event.message}`));
    };
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      if (event.data.type === "ready") {
        resolve({ slot: { worker, inFlight: new Map() }, engines: event.data.engines ?? [] });
      } else if (event.data.type === "error") {
        worker.terminate();
        reject(
          event.data.badModel
            ? new BundleError(event.data.message)
            : new Error(`inference worker: ${event.data.message}`),
        );
      }
    };
    const init: WorkerRequest = {
      type: "init",
      models: models.models,
      width: models.width,
      nonFiniteValue: models.nonFiniteValue,
      wasmDir,
      engine,
    };
    worker.postMessage(init);
  });
}

function rowWidth(o: ModelOutput): number {
  return o.columns;
}

function viewRows(o: ModelOutput, from: number, rows: number, width: number): ModelOutput {
  const w = rowWidth(o);
  const values = o.values.subarray(from * w, (from + rows) * w);
  // Wide fields of distinct rows stay whole: the call's slice of the map points into them.
  if (o.detailRowOf) {
    return { ...o, values, detailRowOf: o.detailRowOf.subarray(from, from + rows) };
  }
  const d = o.classDistanceColumns ?? 0;
  return {
    ...o,
    values,
    featureErrors: o.featureErrors?.subarray(from * width, (from + rows) * width),
    classDistance: o.classDistance?.subarray(from * d, (from + rows) * d),
    votes: o.votes?.subarray(from * (o.voteColumns ?? 0), (from + rows) * (o.voteColumns ?? 0)),
  };
}

/** An output of `rows` rows shaped like `o`, every field one row per input row. */
function allocateLike(o: ModelOutput, rows: number, width: number): ModelOutput {
  const { detailRowOf: _, ...shape } = o;
  return {
    ...shape,
    values: new Float32Array(rows * rowWidth(o)),
    featureErrors: o.featureErrors ? new Float32Array(rows * width) : undefined,
    classDistance: o.classDistance
      ? new Float32Array(rows * (o.classDistanceColumns ?? 0))
      : undefined,
    votes: o.votes ? new Float32Array(rows * (o.voteColumns ?? 0)) : undefined,
  };
}

/** Copies `rows` rows of `from` (through its `detailRowOf`, if any) into `to`, which has none. */
function copyRows(
  from: ModelOutput,
  fromRow: number,
  to: ModelOutput,
  toRow: number,
  rows: number,
  width: number,
): void {
  const w = rowWidth(from);
  to.values.set(from.values.subarray(fromRow * w, (fromRow + rows) * w), toRow * w);
  const copyWide = (
    source: Float32Array | undefined,
    target: Float32Array | undefined,
    n: number,
  ) => {
    if (!source || !target) return;
    if (!from.detailRowOf) {
      target.set(source.subarray(fromRow * n, (fromRow + rows) * n), toRow * n);
      return;
    }
    for (let r = 0; r < rows; r++) {
      const at = detailRow(from, fromRow + r) * n;
      target.set(source.subarray(at, at + n), (toRow + r) * n);
    }
  };
  copyWide(from.featureErrors, to.featureErrors, width);
  copyWide(from.classDistance, to.classDistance, from.classDistanceColumns ?? 0);
  copyWide(from.votes, to.votes, from.voteColumns ?? 0);
}
