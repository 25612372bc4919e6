/**
 * Compiles a decoded ONNX graph into a plan and runs it batch by batch: nodes
 * in dependency order, each with its kernel built once; nodes fed only by
 * initializers folded to constants at load; intermediate values dropped after
 * their last use. A dry run on a few zero rows at load checks every kernel
 * against the real shapes, so a model the subset cannot run is known before
 * the first batch (and scored by onnxruntime instead).
 *
 * A graph whose rows are independent (checked at load: rows scored together
 * equal each row scored alone, bit for bit) runs in chunks of CHUNK_ROWS rows,
 * so intermediate values stay in cache instead of streaming megabytes per op.
 */
import { NodeAttributes } from "./attributes.ts";
import type { Kernel, OutputBuffers } from "./kernel.ts";
import { DATA_TYPE } from "./onnx_types.ts";
import { kernelFactory, SUPPORTED_OPSETS } from "./ops.ts";
import { type ModelGraph, readModel, type ValueDecl } from "./read_model.ts";
import { type LiteTensor, UnsupportedModelError } from "./tensor.ts";

/** Rows per chunk: a [rows, 5, 77] float intermediate of 128 rows is 197 KB. */
export const CHUNK_ROWS = 128;

const LITE_TYPES: Record<number, LiteTensor["type"]> = {
  [DATA_TYPE.FLOAT]: "float32",
  [DATA_TYPE.INT64]: "int64",
  [DATA_TYPE.BOOL]: "bool",
};

interface Step {
  opType: string;
  kernel: Kernel;
  inputs: number[];
  outputs: number[];
  /** Value slots whose last use is this step. */
  release: number[];
  buffers: OutputBuffers;
}

/** Fresh buffers: for graph outputs (handed to the caller) and folded constants. */
const FRESH: OutputBuffers = {
  float32: (_k, size) => new Float32Array(size),
  int64: (_k, size) => new Float64Array(size),
  bool: (_k, size) => new Uint8Array(size),
};

/**
 * A step's buffers, kept from batch to batch for values internal to the graph
 * (`fresh[k]` true: output k is a graph output, allocated new each time).
 * Every buffer handed out is recorded in `pooled`.
 */
function reusedBuffers(fresh: boolean[], pooled: Set<ArrayBufferLike>): OutputBuffers {
  const kept: (Float32Array | Float64Array | Uint8Array | undefined)[] = [];
  function take<T extends Float32Array | Float64Array | Uint8Array>(
    k: number,
    size: number,
    make: (n: number) => T,
  ): T {
    if (fresh[k]) return make(size);
    let buffer = kept[k] as T | undefined;
    if (
      buffer === undefined || buffer.length < size || buffer.constructor !== make(0).constructor
    ) {
      if (buffer) pooled.delete(buffer.buffer);
      buffer = make(size);
      kept[k] = buffer;
      pooled.add(buffer.buffer);
    }
    return buffer.subarray(0, size) as T;
  }
  return {
    float32: (k, size) => take(k, size, (n) => new Float32Array(n)),
    int64: (k, size) => take(k, size, (n) => new Float64Array(n)),
    bool: (k, size) => take(k, size, (n) => new Uint8Array(n)),
  };
}

/** A compiled model: feed named float32 inputs, get every graph output. */
export class LiteSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** Op types of the graph (for load info). */
  readonly opTypes: string[];
  readonly #steps: Step[];
  readonly #constants: (LiteTensor | null)[];
  readonly #inputSlots: number[];
  readonly #inputDecls: ValueDecl[];
  readonly #outputSlots: number[];
  readonly #outputTypes: LiteTensor["type"][];
  /** Buffers reused across batches: an output viewing one is copied before it leaves. */
  readonly #pooled = new Set<ArrayBufferLike>();
  /** True when every row's outputs depend on that row alone (then batches run in chunks). */
  readonly rowIndependent: boolean;

  constructor(graph: ModelGraph) {
    for (const [domain, version] of graph.opsets) {
      const range = SUPPORTED_OPSETS[domain === "ai.onnx" ? "" : domain];
      if (range && (version < range[0] || version > range[1])) {
        throw new UnsupportedModelError(`opset ${domain || "ai.onnx"} ${version}`);
      }
    }
    const slots = new Map<string, number>();
    const slot = (name: string) => {
      let s = slots.get(name);
      if (s === undefined) slots.set(name, s = slots.size);
      return s;
    };
    const constants: (LiteTensor | null)[] = [];
    const known = new Set<number>();
    for (const [name, t] of graph.initializers) {
      constants[slot(name)] = t;
      known.add(slot(name));
    }
    this.#inputDecls = graph.inputs;
    for (const input of graph.inputs) {
      if (input.elemType !== DATA_TYPE.FLOAT) {
        throw new UnsupportedModelError(`input ${input.name}: element type ${input.elemType}`);
      }
      known.add(slot(input.name));
    }
    this.#inputSlots = graph.inputs.map((i) => slot(i.name));
    // Dependency order: repeatedly take the nodes whose inputs are all known.
    const pending = graph.nodes.slice();
    const steps: Step[] = [];
    this.opTypes = [...new Set(graph.nodes.map((n) => n.opType))];
    while (pending.length > 0) {
      const ready = pending.findIndex((n) => n.inputs.every((i) => i === "" || known.has(slot(i))));
      if (ready < 0) {
        throw new Error(
          `node ${pending[0].name} (${pending[0].opType}) uses a value never produced`,
        );
      }
      const [node] = pending.splice(ready, 1);
      const factory = kernelFactory(node.domain, node.opType);
      if (!factory) {
        throw new UnsupportedModelError(`op ${node.domain ? node.domain + "." : ""}${node.opType}`);
      }
      const version = graph.opsets.get(node.domain) ?? graph.opsets.get("ai.onnx") ?? 13;
      const inputs = node.inputs.map((i) => (i === "" ? -1 : slot(i)));
      const kernel = factory({
        attributes: new NodeAttributes(node),
        constants: inputs.map((s) => (s >= 0 ? constants[s] ?? null : null)),
        opset: version,
      });
      const outputs = node.outputs.map((o) => {
        if (o === "") return -1;
        if (known.has(slot(o))) throw new Error(`value ${o} produced twice`);
        known.add(slot(o));
        return slot(o);
      });
      if (inputs.every((s) => s < 0 || constants[s])) {
        // Constant folding: this node's result is the same for every batch.
        const results = kernel(inputs.map((s) => (s >= 0 ? constants[s]! : null)), FRESH);
        outputs.forEach((s, k) => {
          if (s >= 0) constants[s] = results[k];
        });
        continue;
      }
      const graphOutputs = new Set(graph.outputs.map((o) => o.name));
      steps.push({
        opType: node.opType,
        kernel,
        inputs,
        outputs,
        release: [],
        buffers: reusedBuffers(node.outputs.map((o) => graphOutputs.has(o)), this.#pooled),
      });
    }
    this.#outputSlots = graph.outputs.map((o) => {
      const s = slots.get(o.name);
      if (s === undefined || !known.has(s)) throw new Error(`output ${o.name} is never produced`);
      return s;
    });
    this.#outputTypes = graph.outputs.map((o) => {
      const t = LITE_TYPES[o.elemType];
      if (!t) throw new UnsupportedModelError(`output ${o.name}: element type ${o.elemType}`);
      return t;
    });
    // Release each computed value after the last step that reads it (outputs are kept).
    const keep = new Set(this.#outputSlots);
    const lastUse = new Map<number, number>();
    steps.forEach((step, i) => step.inputs.forEach((s) => s >= 0 && lastUse.set(s, i)));
    for (const [s, i] of lastUse) if (!keep.has(s) && !constants[s]) steps[i].release.push(s);
    this.#steps = steps;
    this.#constants = constants;
    this.inputNames = graph.inputs.map((i) => i.name);
    this.outputNames = graph.outputs.map((o) => o.name);
    // Dry runs on zero rows of the declared width: any kernel that cannot take the
    // real shapes fails here, at load.
    for (const rows of [1, 3]) this.#dryRun(rows);
    this.rowIndependent = this.#checkRowIndependence();
  }

  /** Scores 4 random rows together and one by one: row-independent if every output matches bit for bit. */
  #checkRowIndependence(): boolean {
    if (this.#inputDecls.length !== 1) return false;
    const decl = this.#inputDecls[0];
    const width = decl.dims.slice(1).reduce((a, b) => a * b, 1);
    const rows = 4;
    const data = new Float32Array(rows * width);
    // A fixed pseudo-random pattern over magnitudes from 1e-3 to 1e5, both signs.
    let seed = 12345;
    for (let i = 0; i < data.length; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      data[i] = ((seed / 2 ** 32) - 0.3) * 10 ** ((seed % 9) - 3);
    }
    const dimsOf = (n: number) => [n, ...decl.dims.slice(1)];
    const together = this.#runOnce({ [decl.name]: { type: "float32", dims: dimsOf(rows), data } });
    for (const name of this.outputNames) {
      if (together[name].dims[0] !== rows) return false;
    }
    for (let r = 0; r < rows; r++) {
      const alone = this.#runOnce({
        [decl.name]: {
          type: "float32",
          dims: dimsOf(1),
          data: data.subarray(r * width, (r + 1) * width),
        },
      });
      for (const name of this.outputNames) {
        const all = together[name].data;
        const one = alone[name].data;
        const per = all.length / rows;
        if (one.length !== per) return false;
        for (let i = 0; i < per; i++) {
          if (!Object.is(one[i], all[r * per + i])) return false;
        }
      }
    }
    return true;
  }

  #dryRun(rows: number): void {
    const feeds: Record<string, LiteTensor> = {};
    for (const decl of this.#inputDecls) {
      const dims = decl.dims.map((d, i) => (i === 0 ? rows : d));
      if (dims.slice(1).some((d) => d < 0)) {
        throw new UnsupportedModelError(`input ${decl.name}: symbolic dims beyond the batch`);
      }
      const size = dims.reduce((a, b) => a * b, 1);
      feeds[decl.name] = { type: "float32", dims, data: new Float32Array(size) };
    }
    const out = this.run(feeds);
    this.outputNames.forEach((name, i) => {
      if (out[name].type !== this.#outputTypes[i]) {
        throw new UnsupportedModelError(
          `output ${name}: computed ${out[name].type}, declared ${this.#outputTypes[i]}`,
        );
      }
    });
  }

  /** Runs one batch (in chunks of CHUNK_ROWS rows when the graph's rows are independent). */
  run(feeds: Record<string, LiteTensor>): Record<string, LiteTensor> {
    if (!this.rowIndependent) return this.#runOnce(feeds);
    const name = this.inputNames[0];
    const feed = feeds[name];
    if (!feed) throw new Error(`no feed for input ${name}`);
    const rows = feed.dims[0];
    if (rows <= CHUNK_ROWS) return this.#runOnce(feeds);
    const perRow = feed.data.length / rows;
    const out: Record<string, LiteTensor> = {};
    for (let start = 0; start < rows; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, rows - start);
      const part = this.#runOnce({
        [name]: {
          ...feed,
          dims: [n, ...feed.dims.slice(1)],
          data: feed.data.subarray(start * perRow, (start + n) * perRow),
        } as LiteTensor,
      });
      for (const outName of this.outputNames) {
        const t = part[outName];
        const per = t.data.length / n;
        if (start === 0) {
          const size = per * rows;
          const data = t.type === "float32"
            ? new Float32Array(size)
            : t.type === "int64"
            ? new Float64Array(size)
            : new Uint8Array(size);
          out[outName] = { type: t.type, dims: [rows, ...t.dims.slice(1)], data } as LiteTensor;
        }
        out[outName].data.set(t.data as never, start * per);
      }
    }
    return out;
  }

  #runOnce(feeds: Record<string, LiteTensor>): Record<string, LiteTensor> {
    const values: (LiteTensor | null)[] = this.#constants.slice();
    this.inputNames.forEach((name, i) => {
      const t = feeds[name];
      if (!t) throw new Error(`no feed for input ${name}`);
      values[this.#inputSlots[i]] = t;
    });
    for (const step of this.#steps) {
      const results = step.kernel(
        step.inputs.map((s) => (s >= 0 ? values[s] : null)),
        step.buffers,
      );
      for (let k = 0; k < step.outputs.length; k++) {
        const s = step.outputs[k];
        if (s >= 0) values[s] = results[k] ?? null;
      }
      for (const s of step.release) values[s] = null;
    }
    // Outputs are the caller's to keep or transfer: never hand out a view of a
    // feed, a constant or a reused buffer.
    const shared = new Set<ArrayBufferLike>(this.#pooled);
    for (const t of Object.values(feeds)) shared.add(t.data.buffer);
    for (const t of this.#constants) if (t) shared.add(t.data.buffer);
    const out: Record<string, LiteTensor> = {};
    this.outputNames.forEach((name, i) => {
      const t = values[this.#outputSlots[i]]!;
      out[name] = shared.has(t.data.buffer) ? { ...t, data: t.data.slice() } as LiteTensor : t;
    });
    return out;
  }
}

/**
 * Decodes and compiles ONNX bytes. Throws UnsupportedModelError for a model
 * outside the subset, any other Error for bytes that are not a valid model.
 */
export function createLiteSession(bytes: Uint8Array): LiteSession {
  return new LiteSession(readModel(bytes));
}
