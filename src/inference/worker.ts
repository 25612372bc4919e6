/**
 * The inference worker: holds one scoring engine per model and scores batches
 * of feature rows sent by `runner.ts`. Models within the op subset of the
 * sensor's own trainer run on the typed-array interpreter `onnx_lite`; any
 * other ONNX model runs on onnxruntime-web (WASM + SIMD), which is imported
 * and instantiated only when some model needs it (or when every model is
 * forced onto it: `engine: "onnxruntime"`, env IDS_ONNX_ENGINE=onnxruntime).
 * Feature and score buffers cross the worker boundary by transfer, never by copy.
 *
 * Protocol (see `WorkerRequest` / `WorkerReply` in runner.ts):
 * `init` -> `ready` | `error`; `run` -> `result` | `error`.
 */
import type * as Ort from "onnxruntime-web";
import { kitNetFromJson, type KitNetJson, KitNetScorer } from "../packet_models/mod.ts";
import type { ModelOutput, ModelSpec, Preprocessing } from "./model_spec.ts";
import { createLiteSession, type LiteSession, UnsupportedModelError } from "./onnx_lite/mod.ts";
import type { ModelEngine, WorkerRequest } from "./runner.ts";
import { allocateOutputs, OUTPUT_CACHE_ENTRIES, OutputCache } from "./output_cache.ts";

type OrtModule = typeof Ort;
/** onnxruntime-web, once some model needed it. */
let ort: OrtModule | null = null;

/** Where onnxruntime-web's wasm lives, resolved against this file so `deno compile --include` finds it. */
const DEFAULT_WASM_DIR = new URL("../../node_modules/onnxruntime-web/dist/", import.meta.url);
const WASM_FILE = "ort-wasm-simd-threaded.wasm";

/** A tensor as both engines return it. */
interface OutputTensor {
  type: string;
  dims: readonly number[];
  data: unknown;
}

/** Runs one batch through a graph: the input rows to every graph output by name. */
interface GraphRunner {
  outputNames: readonly string[];
  run(input: Float32Array, rows: number): Promise<Record<string, OutputTensor>>;
}

/**
 * A model ready to score: an ONNX graph (onnx_lite or onnxruntime), or a
 * typed-array KitNET scorer (`spec.kitnet`).
 */
type LoadedModel =
  | { spec: ModelSpec; graph: GraphRunner; kitnet: null }
  | { spec: ModelSpec; graph: null; kitnet: KitNetScorer };

/** Which engine scores each model, and why a graph left onnx_lite (reported in `ready`). */
let engines: ModelEngine[] = [];

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
  engine?: "auto" | "onnxruntime",
): Promise<void> {
  width = inputWidth;
  nonFiniteValue = nonFinite;
  cache = new OutputCache(OUTPUT_CACHE_ENTRIES, inputWidth);
  models = [];
  engines = [];
  const forceOrt = engine === "onnxruntime" || envEngine() === "onnxruntime";
  for (const spec of specs) {
    if (spec.kitnet) {
      models.push({ spec, graph: null, kitnet: kitNetScorer(spec, spec.kitnet, inputWidth) });
      engines.push({ model: spec.name, engine: "kitnet" });
      continue;
    }
    let lite: LiteSession | null = null;
    let why = "forced by IDS_ONNX_ENGINE=onnxruntime or the engine option";
    if (!forceOrt) {
      try {
        lite = createLiteSession(spec.onnx);
      } catch (error) {
        // Outside the subset, or bytes onnx_lite cannot read: onnxruntime decides.
        why = error instanceof UnsupportedModelError
          ? `not in onnx_lite's subset: ${error.message}`
          : `onnx_lite could not read it: ${error instanceof Error ? error.message : error}`;
      }
    }
    if (lite !== null) {
      models.push({ spec, graph: liteRunner(spec, lite), kitnet: null });
      engines.push({ model: spec.name, engine: "onnx-lite" });
      continue;
    }
    models.push({ spec, graph: await ortRunner(spec, why, wasmDir), kitnet: null });
    engines.push({ model: spec.name, engine: "onnxruntime", reason: why });
  }
  // The sessions hold the compiled module; the 14 MB of wasm bytes are not needed again.
  if (ort !== null) ort.env.wasm.wasmBinary = undefined;
  // One throwaway row per model: a fresh session's first run costs hundreds of
  // ms (buffers, kernels), which would otherwise land on the first live alert.
  const warmUp = new Float32Array(width);
  for (const model of models) await runModel(model, warmUp, 1);
}

/** IDS_ONNX_ENGINE, if this worker may read the environment. */
function envEngine(): string | undefined {
  try {
    return Deno.env.get("IDS_ONNX_ENGINE");
  } catch {
    return undefined;
  }
}

function modelSource(spec: ModelSpec): string {
  return spec.source ?? `model ${spec.name}`;
}

function checkInputName(spec: ModelSpec, inputNames: readonly string[]): string {
  const inputName = spec.inputName ?? inputNames[0];
  if (!inputNames.includes(inputName)) {
    throw new Error(
      `model ${spec.name}: no input named ${inputName} (has ${inputNames.join(", ")})`,
    );
  }
  return inputName;
}

function liteRunner(spec: ModelSpec, session: LiteSession): GraphRunner {
  const inputName = checkInputName(spec, session.inputNames);
  return {
    outputNames: session.outputNames,
    run: (input, rows) =>
      Promise.resolve(
        session.run({ [inputName]: { type: "float32", dims: [rows, width], data: input } }),
      ),
  };
}

/** Imports onnxruntime-web on first use and points it at its wasm. */
async function loadOrt(wasmDir?: string): Promise<OrtModule> {
  if (ort !== null) return ort;
  const module = await import("onnxruntime-web");
  const dir = wasmDir ? new URL(wasmDir) : DEFAULT_WASM_DIR;
  module.env.wasm.numThreads = 1;
  module.env.wasm.proxy = false;
  module.env.wasm.wasmPaths = dir.href;
  // Handing the bytes over avoids a fetch and works the same inside a compiled binary.
  module.env.wasm.wasmBinary = await Deno.readFile(new URL(WASM_FILE, dir));
  ort = module;
  return module;
}

async function ortRunner(
  spec: ModelSpec,
  liteReason: string,
  wasmDir?: string,
): Promise<GraphRunner> {
  const runtime = await loadOrt(wasmDir);
  let session: Ort.InferenceSession;
  try {
    session = await runtime.InferenceSession.create(spec.onnx, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
    });
  } catch (error) {
    // onnxruntime says only "protobuf parsing failed": name the file (and what onnx_lite saw).
    throw new ModelLoadError(
      `${modelSource(spec)}: not a usable ONNX model (${
        error instanceof Error ? error.message : String(error)
      }; ${liteReason})`,
    );
  }
  const inputName = checkInputName(spec, session.inputNames);
  return {
    outputNames: session.outputNames,
    run: async (input, rows) =>
      await session.run({
        [inputName]: new runtime.Tensor("float32", input, [rows, width]),
      }) as unknown as Record<string, OutputTensor>,
  };
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
  // NaN and ±Infinity are the floats whose exponent bits are all ones: integer tests, no float loads.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & 0x7f800000) === 0x7f800000) values[i] = nonFiniteValue;
  }
}

function pickOutput(
  model: Extract<LoadedModel, { kitnet: null }>,
  results: Record<string, OutputTensor>,
  rows: number,
): OutputTensor {
  const { spec } = model;
  if (spec.outputName) {
    const t = results[spec.outputName];
    if (!t) throw new Error(`model ${spec.name}: no output named ${spec.outputName}`);
    return t;
  }
  for (const name of model.graph.outputNames) {
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
  const results = await model.graph.run(input.subarray(0, rows * width), rows);
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

/** Distinct rows of a batch: for each the row it first appears at and its hash, and for each row its distinct row. */
interface DistinctRows {
  count: number;
  firstRow: Int32Array;
  hash: Int32Array;
  rowOf: Int32Array;
}

/** Finds the distinct rows of `bits` (a batch's features bit for bit, after replaceNonFinite). */
function distinctRows(bits: Uint32Array, rows: number): DistinctRows {
  let size = 16;
  while (size < 2 * rows) size *= 2;
  const mask = size - 1;
  // Open addressing: slot -> distinct index + 1 (0 = empty), keyed by a row's first occurrence.
  const slots = new Int32Array(size);
  const firstRow = new Int32Array(rows);
  const hash = new Int32Array(rows);
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
        hash[count] = h;
        slots[slot] = ++count;
        rowOf[r] = count - 1;
        break;
      }
      if (hash[entry - 1] === h) {
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
      }
      slot = (slot + 1) & mask;
    }
  }
  return { count, firstRow, hash, rowOf };
}

/** Rows scored before, with their outputs (made at init, for the models' width). */
let cache = new OutputCache(OUTPUT_CACHE_ENTRIES, 1);

/**
 * Every model's outputs for the rows of a batch: each distinct row once, taken
 * from the cache when it was scored before, else scored (the misses packed
 * into one input) and remembered. Returns the outputs of the distinct rows,
 * in order of first appearance.
 */
async function scoreDistinct(valid: Float32Array, rows: number): Promise<{
  outputs: ModelOutput[];
  distinct: DistinctRows;
}> {
  const bits = new Uint32Array(valid.buffer, valid.byteOffset, rows * width);
  const distinct = distinctRows(bits, rows);
  const { count, firstRow, hash } = distinct;
  const entry = new Int32Array(count);
  let misses = 0;
  for (let d = 0; d < count; d++) {
    entry[d] = cache.find(bits, firstRow[d], hash[d]);
    if (entry[d] < 0) misses++;
  }
  if (misses === rows) {
    // Nothing repeats and nothing was seen: score the batch as it is.
    const outputs: ModelOutput[] = [];
    for (const model of models) outputs.push(await runModel(model, valid, rows));
    cache.expect(outputs);
    for (let r = 0; r < rows; r++) cache.store(bits, r, hash[r], outputs, r);
    return { outputs, distinct };
  }
  const scored: ModelOutput[] = [];
  const missOf = new Int32Array(count);
  if (misses > 0) {
    const packed = new Float32Array(misses * width);
    for (let d = 0, m = 0; d < count; d++) {
      if (entry[d] >= 0) continue;
      missOf[d] = m;
      packed.set(valid.subarray(firstRow[d] * width, (firstRow[d] + 1) * width), m * width);
      m++;
    }
    for (const model of models) scored.push(await runModel(model, packed, misses));
    cache.expect(scored);
  }
  if (misses === count) return { outputs: scored, distinct: storeMisses(bits, distinct, scored) };
  const shapes = cache.shapes!;
  const outputs = allocateOutputs(shapes, count, width);
  // Hits first: storing a miss may replace an entry a hit of this batch points at.
  for (let d = 0; d < count; d++) if (entry[d] >= 0) cache.copyTo(entry[d], outputs, d);
  if (misses > 0) {
    for (let d = 0; d < count; d++) {
      if (entry[d] >= 0) continue;
      copyMiss(scored, missOf[d], outputs, d);
      cache.store(bits, firstRow[d], hash[d], scored, missOf[d]);
    }
  }
  return { outputs, distinct };
}

/** Remembers every distinct row of a batch whose rows were all scored now (in distinct order). */
function storeMisses(bits: Uint32Array, distinct: DistinctRows, scored: ModelOutput[]) {
  for (let d = 0; d < distinct.count; d++) {
    cache.store(bits, distinct.firstRow[d], distinct.hash[d], scored, d);
  }
  return distinct;
}

/** Copies row `from` of each model's `scored` outputs into row `to` of `outputs`. */
function copyMiss(scored: ModelOutput[], from: number, outputs: ModelOutput[], to: number) {
  for (let m = 0; m < outputs.length; m++) {
    const a = scored[m];
    const b = outputs[m];
    b.values.set(a.values.subarray(from * a.columns, (from + 1) * a.columns), to * a.columns);
    if (a.featureErrors && b.featureErrors) {
      b.featureErrors.set(a.featureErrors.subarray(from * width, (from + 1) * width), to * width);
    }
    const d = a.classDistanceColumns ?? 0;
    if (a.classDistance && b.classDistance) {
      b.classDistance.set(a.classDistance.subarray(from * d, (from + 1) * d), to * d);
    }
    const v = a.voteColumns ?? 0;
    if (a.votes && b.votes) b.votes.set(a.votes.subarray(from * v, (from + 1) * v), to * v);
  }
}

/**
 * Copies each distinct row's `values` back to every row that had it; the wide
 * fields stay one row per distinct row, with `detailRowOf` (see ModelOutput).
 */
function expandOutput(o: ModelOutput, rowOf: Int32Array, rows: number): ModelOutput {
  const columns = o.columns;
  const values = new Float32Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    const from = rowOf[r] * columns;
    for (let c = 0; c < columns; c++) values[r * columns + c] = o.values[from + c];
  }
  const wide = o.featureErrors !== undefined || o.classDistance !== undefined ||
    o.votes !== undefined;
  return wide ? { ...o, values, detailRowOf: rowOf } : { ...o, values };
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
      await init(msg.models, msg.width, msg.nonFiniteValue ?? 0, msg.wasmDir, msg.engine);
      scope.postMessage({ type: "ready", engines });
    } else if (msg.type === "run") {
      const started = performance.now();
      const features = msg.features;
      const rows = msg.rows;
      // The batch buffer is sized for a full batch; only its first rows are valid.
      const valid = features.subarray(0, rows * width);
      replaceNonFinite(valid);
      // Floods and scans make many identical rows: score each distinct row once, and a row
      // scored in an earlier batch not again.
      const scored = await scoreDistinct(valid, rows);
      const distinct = scored.distinct;
      let outputs = scored.outputs;
      if (distinct.count < rows) {
        outputs = outputs.map((o) => expandOutput(o, distinct.rowOf, rows));
      }
      const transfer: Transferable[] = [features.buffer as ArrayBuffer];
      // One map for every output of the batch: transferred once.
      if (outputs.some((o) => o.detailRowOf)) transfer.push(distinct.rowOf.buffer as ArrayBuffer);
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

/** Model bytes no engine can load (the bundle's fault, not the sensor's). */
class ModelLoadError extends Error {}
