/**
 * Reads an ONNX ModelProto into plain objects: the graph's inputs, outputs,
 * nodes with decoded attributes, and initializers as LiteTensors. Decoding goes
 * through `onnx-proto` (protobufjs generated from onnx.proto), the package the
 * trainer's writer (src/train/onnx/graph.ts) encodes with.
 */
import onnxProto from "onnx-proto";
import { type LiteTensor, sizeOf, UnsupportedModelError } from "./tensor.ts";

const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** A decoded node attribute. */
export type AttributeValue =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "ints"; value: number[] }
  | { kind: "floats"; value: Float32Array }
  | { kind: "strings"; value: string[] }
  | { kind: "tensor"; value: LiteTensor };

export interface ModelNode {
  name: string;
  opType: string;
  /** "" for the default ONNX domain, "ai.onnx.ml" for the traditional-ML operators. */
  domain: string;
  /** Input value names; "" marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttributeValue>;
}

export interface ValueDecl {
  name: string;
  /** ONNX element type code (1 float, 7 int64, ...). */
  elemType: number;
  /** Fixed sizes, or -1 for a symbolic/unknown dimension. */
  dims: number[];
}

export interface ModelGraph {
  /** Opset version per domain ("" and "ai.onnx.ml"). */
  opsets: Map<string, number>;
  inputs: ValueDecl[];
  outputs: ValueDecl[];
  initializers: Map<string, LiteTensor>;
  nodes: ModelNode[];
}

/** A Long from protobufjs, or a plain number, as a JS number (exact below 2^53). */
function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (v !== null && typeof v === "object" && "toNumber" in v) {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number(v);
}

const decoder = new TextDecoder();

/** Decodes `bytes`; throws on bytes that are not a ModelProto with a graph. */
export function readModel(bytes: Uint8Array): ModelGraph {
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new Error(
      `not an ONNX ModelProto (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const graph = model.graph;
  if (!graph) throw new Error("not an ONNX model: no graph");
  if ((graph.sparseInitializer ?? []).length > 0) {
    throw new UnsupportedModelError("sparse initializers");
  }
  const opsets = new Map<string, number>();
  for (const o of model.opsetImport ?? []) opsets.set(o.domain ?? "", num(o.version));
  const initializers = new Map<string, LiteTensor>();
  for (const t of graph.initializer ?? []) {
    initializers.set(t.name ?? "", readTensor(t as TensorLike, `initializer ${t.name}`));
  }
  return {
    opsets,
    inputs: (graph.input ?? []).map(valueDecl).filter((v) => !initializers.has(v.name)),
    outputs: (graph.output ?? []).map(valueDecl),
    initializers,
    nodes: (graph.node ?? []).map((n, i) => {
      const attributes = new Map<string, AttributeValue>();
      for (const a of n.attribute ?? []) {
        attributes.set(a.name ?? "", readAttribute(a as AttributeLike, `${n.opType} ${a.name}`));
      }
      return {
        name: n.name || `${n.opType}_${i}`,
        opType: n.opType ?? "",
        domain: n.domain ?? "",
        inputs: n.input ?? [],
        outputs: n.output ?? [],
        attributes,
      };
    }),
  };
}

interface ValueInfoLike {
  name?: string | null;
  type?: {
    tensorType?: {
      elemType?: number | null;
      shape?: { dim?: { dimValue?: unknown; dimParam?: string | null }[] | null } | null;
    } | null;
  } | null;
}

function valueDecl(v: ValueInfoLike): ValueDecl {
  const tensorType = v.type?.tensorType;
  if (!tensorType) throw new UnsupportedModelError(`value ${v.name}: not a tensor type`);
  return {
    name: v.name ?? "",
    elemType: tensorType.elemType ?? 0,
    dims: (tensorType.shape?.dim ?? []).map((d) => {
      const n = num(d.dimValue ?? 0);
      return d.dimParam || n <= 0 ? -1 : n;
    }),
  };
}

interface TensorLike {
  name?: string | null;
  dims?: unknown[] | null;
  dataType?: number | null;
  rawData?: Uint8Array | null;
  floatData?: number[] | null;
  int64Data?: unknown[] | null;
  int32Data?: number[] | null;
  externalData?: unknown[] | null;
  dataLocation?: number | null;
}

function readTensor(t: TensorLike, what: string): LiteTensor {
  if ((t.externalData ?? []).length > 0 || t.dataLocation === 1) {
    throw new UnsupportedModelError(`${what}: external data`);
  }
  const dims = (t.dims ?? []).map(num);
  const size = sizeOf(dims);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  // raw_data is little-endian; copy it so the tensor is aligned and owns its bytes
  // (protobufjs may hand out a Node Buffer, whose slice() is a view, not a copy).
  const rawBuffer = raw ? copyBytes(raw).buffer : null;
  switch (t.dataType) {
    case DataType.FLOAT: {
      const data = rawBuffer ? new Float32Array(rawBuffer) : Float32Array.from(t.floatData ?? []);
      return checked({ type: "float32", dims, data }, size, what);
    }
    case DataType.INT64: {
      const data = rawBuffer
        ? Float64Array.from(new BigInt64Array(rawBuffer), (v) => Number(v))
        : Float64Array.from(t.int64Data ?? [], num);
      return checked({ type: "int64", dims, data }, size, what);
    }
    case DataType.BOOL: {
      const data = raw ? copyBytes(raw) : Uint8Array.from(t.int32Data ?? [], (v) => (v ? 1 : 0));
      return checked({ type: "bool", dims, data }, size, what);
    }
    default:
      throw new UnsupportedModelError(`${what}: element type ${t.dataType}`);
  }
}

function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

function checked(t: LiteTensor, size: number, what: string): LiteTensor {
  if (t.data.length !== size) {
    throw new Error(`${what}: ${t.data.length} values for dims [${t.dims}]`);
  }
  return t;
}

interface AttributeLike {
  name?: string | null;
  type?: number | null;
  i?: unknown;
  f?: number | null;
  s?: Uint8Array | null;
  t?: TensorLike | null;
  ints?: unknown[] | null;
  floats?: number[] | null;
  strings?: Uint8Array[] | null;
}

function readAttribute(a: AttributeLike, what: string): AttributeValue {
  switch (a.type) {
    case AttributeType.INT:
      return { kind: "int", value: num(a.i ?? 0) };
    case AttributeType.FLOAT:
      return { kind: "float", value: Math.fround(a.f ?? 0) };
    case AttributeType.STRING:
      return { kind: "string", value: decoder.decode(a.s ?? new Uint8Array()) };
    case AttributeType.INTS:
      return { kind: "ints", value: (a.ints ?? []).map(num) };
    case AttributeType.FLOATS:
      return { kind: "floats", value: Float32Array.from(a.floats ?? []) };
    case AttributeType.STRINGS:
      return { kind: "strings", value: (a.strings ?? []).map((s) => decoder.decode(s)) };
    case AttributeType.TENSOR:
      return { kind: "tensor", value: readTensor(a.t ?? {}, what) };
    default:
      throw new UnsupportedModelError(`${what}: attribute type ${a.type}`);
  }
}
