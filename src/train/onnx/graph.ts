/**
 * A small ONNX graph writer: declare inputs, outputs, float initializers and
 * nodes, then serialise a ModelProto that onnxruntime-web loads. Encoding goes
 * through the `onnx-proto` package (protobufjs code generated from onnx.proto),
 * so the bytes follow the official schema.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

/** Element types used by this project's graphs. */
export type ElementType = "float32" | "int64";

/** A dimension: a fixed size, or a named symbolic one such as "N" for the batch. */
export type Dim = number | string;

/** Attribute values accepted on a node; arrays must be homogeneous. */
export type AttributeValue =
  | number
  | string
  | string[]
  | { float: number }
  | { floats: ArrayLike<number> }
  | { ints: ArrayLike<number> }
  | { tensor: { data: Float32Array; dims: number[] } };

/** Opset versions this writer targets (onnxruntime-web 1.30 supports both). */
export const DEFAULT_OPSET = 13;
/** `ai.onnx.ml` opset: 3 is the last with TreeEnsembleClassifier/Regressor unchanged since sklearn's exporters. */
export const DEFAULT_ML_OPSET = 3;

const ELEMENT_TYPE_CODES: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

interface ValueInfo {
  name: string;
  type: ElementType;
  shape: Dim[];
}

/**
 * Builds one ONNX graph. Node and value names are the caller's; the builder
 * checks that every node input is defined before it is used and every output
 * is produced, so a malformed graph fails here rather than inside the runtime.
 */
export class OnnxGraphBuilder {
  #inputs: ValueInfo[] = [];
  #outputs: ValueInfo[] = [];
  #initializers: { name: string; data: Float32Array | BigInt64Array; dims: number[] }[] = [];
  #nodes: {
    opType: string;
    inputs: string[];
    outputs: string[];
    attributes: Record<string, AttributeValue>;
    domain: string;
  }[] = [];
  #defined = new Set<string>();
  #usesMl = false;
  #nodeCounter = 0;

  constructor(readonly graphName: string) {}

  /** Declares a graph input. */
  addInput(name: string, type: ElementType, shape: Dim[]): string {
    this.#define(name);
    this.#inputs.push({ name, type, shape });
    return name;
  }

  /** Declares a graph output; it must be produced by a node or be an input. */
  addOutput(name: string, type: ElementType, shape: Dim[]): string {
    this.#outputs.push({ name, type, shape });
    return name;
  }

  /** Adds a constant float32 tensor (weights, scaling vectors). */
  addFloatInitializer(name: string, data: Float32Array | number[], dims: number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    checkSize(name, values.length, dims);
    this.#define(name);
    this.#initializers.push({ name, data: values, dims });
    return name;
  }

  /** Adds a constant int64 tensor (shapes, axes). */
  addInt64Initializer(name: string, data: number[], dims: number[]): string {
    checkSize(name, data.length, dims);
    this.#define(name);
    this.#initializers.push({ name, data: BigInt64Array.from(data.map(BigInt)), dims });
    return name;
  }

  /**
   * Adds a node. `outputs` default to one fresh name; returns the output names.
   * Use domain "ai.onnx.ml" for the traditional-ML operators.
   */
  addNode(
    opType: string,
    inputs: string[],
    options: { outputs?: string[]; attributes?: Record<string, AttributeValue>; domain?: string } =
      {},
  ): string[] {
    for (const input of inputs) {
      if (input !== "" && !this.#defined.has(input)) {
        throw new Error(`ONNX graph ${this.graphName}: ${opType} uses undefined value '${input}'`);
      }
    }
    const outputs = options.outputs ?? [`${opType.toLowerCase()}_${this.#nodeCounter++}`];
    for (const output of outputs) this.#define(output);
    const domain = options.domain ?? "";
    if (domain === "ai.onnx.ml") this.#usesMl = true;
    this.#nodes.push({ opType, inputs, outputs, attributes: options.attributes ?? {}, domain });
    return outputs;
  }

  /** Serialises the graph as an ONNX ModelProto. */
  build(
    metadata: Record<string, string> = {},
    producer = { name: "ids-sensor", version: "0.1.0" },
  ): Uint8Array {
    for (const output of this.#outputs) {
      if (!this.#defined.has(output.name)) {
        throw new Error(`ONNX graph ${this.graphName}: output '${output.name}' is never produced`);
      }
    }
    const opsetImport = [{ domain: "", version: DEFAULT_OPSET }];
    if (this.#usesMl) opsetImport.push({ domain: "ai.onnx.ml", version: DEFAULT_ML_OPSET });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: producer.name,
      producerVersion: producer.version,
      opsetImport: opsetImport.map((o) => onnx.OperatorSetIdProto.create(o)),
      metadataProps: Object.entries(metadata).map(([key, value]) =>
        onnx.StringStringEntryProto.create({ key, value })
      ),
      graph: onnx.GraphProto.create({
        name: this.graphName,
        input: this.#inputs.map(valueInfo),
        output: this.#outputs.map(valueInfo),
        initializer: this.#initializers.map(tensorProto),
        node: this.#nodes.map((n, i) =>
          onnx.NodeProto.create({
            name: `${n.opType}_${i}`,
            opType: n.opType,
            input: n.inputs,
            output: n.outputs,
            domain: n.domain,
            attribute: Object.entries(n.attributes).map(([name, value]) =>
              attributeProto(name, value)
            ),
          })
        ),
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  #define(name: string) {
    if (this.#defined.has(name)) {
      throw new Error(`ONNX graph ${this.graphName}: value '${name}' defined twice`);
    }
    this.#defined.add(name);
  }
}

function checkSize(name: string, length: number, dims: number[]) {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length) {
    throw new Error(`initializer ${name}: ${length} values for dims [${dims}] (${expected})`);
  }
}

function valueInfo(v: ValueInfo) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: ELEMENT_TYPE_CODES[v.type],
        shape: onnx.TensorShapeProto.create({
          dim: v.shape.map((d) =>
            onnx.TensorShapeProto.Dimension.create(
              typeof d === "number" ? { dimValue: d } : { dimParam: d },
            )
          ),
        }),
      }),
    }),
  });
}

function tensorProto(t: { name: string; data: Float32Array | BigInt64Array; dims: number[] }) {
  const isFloat = t.data instanceof Float32Array;
  // raw_data is little-endian bytes; typed arrays on every platform Deno runs on are little-endian.
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
  return onnx.TensorProto.create({
    name: t.name,
    dims: t.dims,
    dataType: isFloat ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
    rawData: raw,
  });
}

const encoder = new TextEncoder();

function attributeProto(name: string, value: AttributeValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === "number") {
    // A bare number is an INT attribute; write { float: x } for FLOAT ones.
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float: ${value} }`);
    return onnx.AttributeProto.create({ name, type: T.INT, i: value });
  }
  if (typeof value === "string") {
    return onnx.AttributeProto.create({ name, type: T.STRING, s: encoder.encode(value) });
  }
  if (Array.isArray(value)) {
    return onnx.AttributeProto.create({
      name,
      type: T.STRINGS,
      strings: value.map((s) => encoder.encode(s)),
    });
  }
  if ("float" in value) {
    return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value.float });
  }
  if ("floats" in value) {
    return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: Array.from(value.floats) });
  }
  if ("ints" in value) {
    return onnx.AttributeProto.create({ name, type: T.INTS, ints: Array.from(value.ints) });
  }
  return onnx.AttributeProto.create({
    name,
    type: T.TENSOR,
    t: tensorProto({ name, data: value.tensor.data, dims: value.tensor.dims }),
  });
}
