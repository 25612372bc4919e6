/**
 * The inference worker: holds one onnxruntime-web (WASM + SIMD) session per
 * model and scores batches of feature rows sent by `runner.ts`. Feature and
 * score buffers cross the worker boundary by transfer, never by copy.
 *
 * Protocol (see `WorkerRequest` / `WorkerReply` in runner.ts):
 * `init` -> `ready` | `error`; `run` -> `result` | `error`.
 */
import * as ort from "onnxruntime-web";
import { kitNetFromJson, type KitNetJson, KitNetScorer } from "../packet_models/mod.ts";
import type { ModelOutput, ModelSpec, Preprocessing } from "./model_spec.ts";
import type { WorkerRequest } from "./runner.ts";

/** Where onnxruntime-web's wasm lives, resolved against this file so `deno compile --include` finds it. */
const DEFAULT_WASM_DIR = new URL("../../node_modules/onnxruntime-web/dist/", import.meta.url);
const WASM_FILE = "ort-wasm-simd-threaded.wasm";

/** A model ready to score: an onnxruntime session, or a typed-array KitNET scorer (`spec.kitnet`). */
type LoadedModel =
  | { spec: ModelSpec; session: ort.InferenceSession; inputName: string; kitnet: null }
  | { spec: ModelSpec; session: null; inputName: string; kitnet: KitNetScorer };

interface WorkerScope {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;
let models: LoadedModel[] = [];
let width = 0;
let nonFiniteValue = 0;

async function init(
  specs: ModelSpec[],
  inputWidth: number,
  nonFinite: number,
  wasmDir?: string,
): Promise<void> {
  width = inputWidth;
  nonFiniteValue = nonFinite;
  models = [];
  // A worker of typed-array scorers only never loads onnxruntime's 14 MB of wasm.
  if (specs.some((spec) => !spec.kitnet)) {
    const dir = wasmDir ? new URL(wasmDir) : DEFAULT_WASM_DIR;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = dir.href;
    // Handing the bytes over avoids a fetch and works the same inside a compiled binary.
    ort.env.wasm.wasmBinary = await Deno.readFile(new URL(WASM_FILE, dir));
  }
  for (const spec of specs) {
    if (spec.kitnet) {
      models.push({
        spec,
        session: null,
        inputName: "",
        kitnet: kitNetScorer(spec, spec.kitnet, inputWidth),
      });
      continue;
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(spec.onnx, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
      });
    } catch (error) {
      // onnxruntime says only "protobuf parsing failed": name the file.
      throw new ModelLoadError(
        `${spec.source ?? `model ${spec.name}`}: not a usable ONNX model (${
          error instanceof Error ? error.message : String(error)
        })`,
      );
    }
    const inputName = spec.inputName ?? session.inputNames[0];
    if (!session.inputNames.includes(inputName)) {
      throw new Error(
        `model ${spec.name}: no input named ${inputName} (has ${session.inputNames.join(", ")})`,
      );
    }
    models.push({ spec, session, inputName, kitnet: null });
  }
  // The sessions hold the compiled module; the 14 MB of wasm bytes are not needed again.
  ort.env.wasm.wasmBinary = undefined;
  // One throwaway row per model: a fresh session's first run costs hundreds of
  // ms (buffers, kernels), which would otherwise land on the first live alert.
  const warmUp = new Float32Array(width);
  for (const model of models) await runModel(model, warmUp, 1);
}

/** The typed-array scorer of a KitNET model spec; its weights must fit the input width. */
function kitNetScorer(spec: ModelSpec, weights: KitNetJson, inputWidth: number): KitNetScorer {
  let scorer: KitNetScorer;
  try {
    scorer = new KitNetScorer(kitNetFromJson(weights));
  } catch (error) {
    throw new ModelLoadError(
      `${spec.source ?? `model ${spec.name}`}: not usable KitNET weights (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  }
  if (scorer.model.featureCount !== inputWidth) {
    throw new ModelLoadError(
      `${
        spec.source ?? `model ${spec.name}`
      }: KitNET weights for ${scorer.model.featureCount} features, rows have ${inputWidth}`,
    );
  }
  return scorer;
}

/** Applies the bundle's scaling into `out` (same shape as `raw`). */
function preprocess(raw: Float32Array, rows: number, p: Preprocessing, out: Float32Array): void {
  const mean = Float32Array.from(p.mean);
  const inverseScale = Float32Array.from(p.scale, (s) => (s === 0 ? 1 : 1 / s));
  const log = p.log1p ? Uint8Array.from(p.log1p, (b) => (b ? 1 : 0)) : null;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let c = 0; c < width; c++) {
      let x = raw[base + c];
      if (log !== null && log[c] === 1) x = Math.sign(x) * Math.log1p(Math.abs(x));
      out[base + c] = (x - mean[c]) * inverseScale[c];
    }
  }
}

/** Replaces NaN and ±Infinity in place (the bundle's `nonFiniteValue`); WASM kernels would spread them. */
function replaceNonFinite(values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) values[i] = nonFiniteValue;
  }
}

function pickOutput(
  model: Extract<LoadedModel, { kitnet: null }>,
  results: ort.InferenceSession.OnnxValueMapType,
  rows: number,
) {
  const { spec } = model;
  if (spec.outputName) {
    const t = results[spec.outputName];
    if (!t) throw new Error(`model ${spec.name}: no output named ${spec.outputName}`);
    return t;
  }
  for (const name of model.session.outputNames) {
    const t = results[name];
    if (!t || t.type !== "float32") continue;
    if (spec.role === "anomaly") return t;
    if (t.dims.length === 2 && t.dims[0] === rows) return t;
  }
  throw new Error(`model ${spec.name}: no float32 output fits role ${spec.role}`);
}

/**
 * Scaled input rows, reused from batch to batch: onnxruntime copies its input
 * into the WASM heap, so this buffer is free again once `run` returns. A new
 * one per batch was a megabyte of garbage per model per batch in a flood.
 */
let scaled = new Float32Array(0);

/** `data` itself when it is exactly its own buffer (transferable as is), else a copy of its first `length` values. */
function ownedValues(data: Float32Array, length: number): Float32Array {
  if (
    data.length === length && data.byteOffset === 0 && data.buffer.byteLength === data.byteLength
  ) {
    return data;
  }
  return data.slice(0, length);
}

async function runModel(model: LoadedModel, raw: Float32Array, rows: number): Promise<ModelOutput> {
  const { spec } = model;
  if (model.kitnet !== null) {
    // Raw rows in (a KitNET normalises inside), one RMSE per row out, transferred to the caller.
    const values = model.kitnet.scoreRows(raw, rows, new Float32Array(rows));
    return { name: spec.name, role: spec.role, columns: 1, values };
  }
  let input = raw;
  if (spec.preprocessing) {
    if (scaled.length < raw.length) scaled = new Float32Array(raw.length);
    input = scaled.subarray(0, raw.length);
    preprocess(raw, rows, spec.preprocessing, input);
  }
  const feeds = { [model.inputName]: new ort.Tensor("float32", input, [rows, width]) };
  const results = await model.session.run(feeds);
  const tensor = pickOutput(model, results, rows);
  const data = tensor.data as Float32Array;
  if (spec.role === "classifier") {
    const columns = tensor.dims.length === 2 ? Number(tensor.dims[1]) : 1;
    return { name: spec.name, role: spec.role, columns, values: ownedValues(data, rows * columns) };
  }
  if (data.length === rows) {
    let featureErrors: Float32Array | undefined;
    if (spec.featureErrorsOutput) {
      const errors = results[spec.featureErrorsOutput];
      if (!errors) {
        throw new Error(`model ${spec.name}: no output named ${spec.featureErrorsOutput}`);
      }
      featureErrors = ownedValues(errors.data as Float32Array, rows * width);
    }
    let classDistance: Float32Array | undefined;
    let classDistanceColumns: number | undefined;
    if (spec.classDistanceOutput) {
      const distances = results[spec.classDistanceOutput];
      if (!distances || distances.dims.length !== 2 || Number(distances.dims[0]) !== rows) {
        throw new Error(
          `model ${spec.name}: no [rows, classes] output named ${spec.classDistanceOutput}`,
        );
      }
      classDistanceColumns = Number(distances.dims[1]);
      classDistance = ownedValues(distances.data as Float32Array, rows * classDistanceColumns);
    }
    let votes: Float32Array | undefined;
    let voteColumns: number | undefined;
    if (spec.votesOutput) {
      const t = results[spec.votesOutput];
      if (!t || t.dims.length !== 2 || Number(t.dims[0]) !== rows) {
        throw new Error(`model ${spec.name}: no [rows, members] output named ${spec.votesOutput}`);
      }
      voteColumns = Number(t.dims[1]);
      votes = (t.data as Float32Array).slice(0, rows * voteColumns);
    }
    return {
      name: spec.name,
      role: spec.role,
      columns: 1,
      values: ownedValues(data, rows),
      featureErrors,
      classDistance,
      classDistanceColumns,
      votes,
      voteColumns,
    };
  }
  if (data.length === rows * width) {
    // An autoencoder: score each row by its mean squared reconstruction error.
    const featureErrors = new Float32Array(rows * width);
    const values = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = r * width, end = c + width; c < end; c++) {
        const d = input[c] - data[c];
        featureErrors[c] = d * d;
        sum += d * d;
      }
      values[r] = sum / width;
    }
    return { name: spec.name, role: spec.role, columns: 1, values, featureErrors };
  }
  throw new Error(
    `model ${spec.name}: anomaly output has ${data.length} values for ${rows} rows of width ${width}`,
  );
}

/** Distinct rows of a batch: their features, and for each row the index of its distinct row. */
interface DistinctRows {
  count: number;
  features: Float32Array;
  rowOf: Int32Array;
}

/**
 * Finds the distinct rows of `features` (bit for bit, after replaceNonFinite).
 * Returns null when fewer than a quarter of the rows repeat (not worth the copy).
 */
function distinctRows(features: Float32Array, rows: number): DistinctRows | null {
  if (rows < 2) return null;
  const bits = new Uint32Array(features.buffer, features.byteOffset, rows * width);
  let size = 16;
  while (size < 2 * rows) size *= 2;
  const mask = size - 1;
  // Open addressing: slot -> distinct index + 1 (0 = empty), keyed by a row's first occurrence.
  const slots = new Int32Array(size);
  const firstRow = new Int32Array(rows);
  const rowOf = new Int32Array(rows);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    let h = 0x811c9dc5;
    for (let c = base, end = base + width; c < end; c++) h = Math.imul(h ^ bits[c], 0x01000193);
    h ^= h >>> 15;
    let slot = h & mask;
    for (;;) {
      const entry = slots[slot];
      if (entry === 0) {
        firstRow[count] = r;
        slots[slot] = ++count;
        rowOf[r] = count - 1;
        break;
      }
      const other = firstRow[entry - 1] * width;
      let same = true;
      for (let c = 0; c < width; c++) {
        if (bits[base + c] !== bits[other + c]) {
          same = false;
          break;
        }
      }
      if (same) {
        rowOf[r] = entry - 1;
        break;
      }
      slot = (slot + 1) & mask;
    }
  }
  if (count > rows * 0.75) return null;
  const packed = new Float32Array(count * width);
  for (let d = 0; d < count; d++) {
    packed.set(features.subarray(firstRow[d] * width, (firstRow[d] + 1) * width), d * width);
  }
  return { count, features: packed, rowOf };
}

/** Copies each distinct row's outputs back to every row that had it (every per-row field of ModelOutput). */
function expandOutput(o: ModelOutput, rowOf: Int32Array, rows: number): ModelOutput {
  const expand = (values: Float32Array, columns: number) => {
    const out = new Float32Array(rows * columns);
    for (let r = 0; r < rows; r++) {
      const from = rowOf[r] * columns;
      for (let c = 0; c < columns; c++) out[r * columns + c] = values[from + c];
    }
    return out;
  };
  return {
    ...o,
    values: expand(o.values, o.columns),
    featureErrors: o.featureErrors && expand(o.featureErrors, width),
    classDistance: o.classDistance && expand(o.classDistance, o.classDistanceColumns ?? 0),
    votes: o.votes && expand(o.votes, o.voteColumns ?? 0),
  };
}

// One message at a time: onnxruntime-web must not run two batches at once in one
// WASM instance (overlapping runs mix up outputs and fault on unaligned accesses).
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event: MessageEvent) => {
  queue = queue.then(() => handle(event.data));
};

async function handle(msg: WorkerRequest): Promise<void> {
  try {
    if (msg.type === "init") {
      await init(msg.models, msg.width, msg.nonFiniteValue ?? 0, msg.wasmDir);
      scope.postMessage({ type: "ready" });
    } else if (msg.type === "run") {
      const started = performance.now();
      const features = msg.features;
      const rows = msg.rows;
      // The batch buffer is sized for a full batch; only its first rows are valid.
      const valid = features.subarray(0, rows * width);
      replaceNonFinite(valid);
      // Floods and scans make many identical rows: score each distinct row once.
      const distinct = distinctRows(valid, rows);
      let outputs: ModelOutput[] = [];
      if (distinct === null) {
        for (const model of models) outputs.push(await runModel(model, valid, rows));
      } else {
        for (const model of models) {
          outputs.push(await runModel(model, distinct.features, distinct.count));
        }
        outputs = outputs.map((o) => expandOutput(o, distinct.rowOf, rows));
      }
      const transfer: Transferable[] = [features.buffer as ArrayBuffer];
      for (const o of outputs) {
        transfer.push(o.values.buffer as ArrayBuffer);
        if (o.featureErrors) transfer.push(o.featureErrors.buffer as ArrayBuffer);
        if (o.classDistance) transfer.push(o.classDistance.buffer as ArrayBuffer);
        if (o.votes) transfer.push(o.votes.buffer as ArrayBuffer);
      }
      scope.postMessage({
        type: "result",
        id: msg.id,
        rows,
        outputs,
        features,
        workerMs: performance.now() - started,
      }, transfer);
    }
  } catch (error) {
    scope.postMessage({
      type: "error",
      id: msg.type === "run" ? msg.id : undefined,
      message: error instanceof Error ? error.message : String(error),
      badModel: error instanceof ModelLoadError,
    });
  }
}

/** Model bytes onnxruntime cannot load (the bundle's fault, not the sensor's). */
class ModelLoadError extends Error {}
