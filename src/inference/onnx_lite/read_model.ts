/**
 * Reads an ONNX ModelProto into plain objects: the graph's inputs, outputs,
 * nodes with decoded attributes, and initializers as LiteTensors. The fields
 * are read straight off the wire (field numbers from onnx.proto) with
 * ProtoReader: protobufjs's generated `onnx-proto` module, which the trainer's
 * writer uses, took 65-220 ms to import and 50-160 ms to decode the bundled
 * models in the worker; reading only what the interpreter needs takes a few ms.
 */
import { BYTES, ProtobufError, ProtoReader } from "./protobuf.ts";
import { DATA_TYPE } from "./onnx_types.ts";
import { type LiteTensor, sizeOf, UnsupportedModelError } from "./tensor.ts";

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

/** AttributeProto.AttributeType codes. */
const ATTRIBUTE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

/** Decodes `bytes`; throws on bytes that are not a ModelProto with a graph. */
export function readModel(bytes: Uint8Array): ModelGraph {
  try {
    return readModelProto(new ProtoReader(bytes));
  } catch (error) {
    if (error instanceof ProtobufError) {
      throw new Error(`not an ONNX ModelProto (${error.message})`);
    }
    throw error;
  }
}

function readModelProto(r: ProtoReader): ModelGraph {
  const opsets = new Map<string, number>();
  let graph: ModelGraph | null = null;
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 8 && wire === BYTES) {
      const o = r.message();
      let domain = "";
      let version = 0;
      while (!o.done) {
        const [f, w] = o.key();
        if (f === 1 && w === BYTES) domain = o.string();
        else if (f === 2 && w === 0) version = o.int64();
        else o.skip(w);
      }
      opsets.set(domain, version);
    } else if (field === 7 && wire === BYTES) {
      graph = readGraph(r.message(), opsets);
    } else r.skip(wire);
  }
  if (!graph) throw new Error("not an ONNX model: no graph");
  return graph;
}

function readGraph(r: ProtoReader, opsets: Map<string, number>): ModelGraph {
  const initializers = new Map<string, LiteTensor>();
  const nodes: ModelNode[] = [];
  const inputs: ValueDecl[] = [];
  const outputs: ValueDecl[] = [];
  while (!r.done) {
    const [field, wire] = r.key();
    if (wire !== BYTES) {
      r.skip(wire);
      continue;
    }
    if (field === 1) nodes.push(readNode(r.message(), nodes.length));
    else if (field === 5) {
      const [name, tensor] = readTensor(r.message(), "initializer");
      initializers.set(name, tensor);
    } else if (field === 15) throw new UnsupportedModelError("sparse initializers");
    else if (field === 11) inputs.push(readValueInfo(r.message()));
    else if (field === 12) outputs.push(readValueInfo(r.message()));
    else r.skip(wire);
  }
  return {
    opsets,
    inputs: inputs.filter((v) => !initializers.has(v.name)),
    outputs,
    initializers,
    nodes,
  };
}

function readNode(r: ProtoReader, index: number): ModelNode {
  const node: ModelNode = {
    name: "",
    opType: "",
    domain: "",
    inputs: [],
    outputs: [],
    attributes: new Map(),
  };
  const attributes: [string, ProtoReader][] = [];
  while (!r.done) {
    const [field, wire] = r.key();
    if (wire !== BYTES) r.skip(wire);
    else if (field === 1) node.inputs.push(r.string());
    else if (field === 2) node.outputs.push(r.string());
    else if (field === 3) node.name = r.string();
    else if (field === 4) node.opType = r.string();
    else if (field === 7) node.domain = r.string();
    else if (field === 5) attributes.push(["", r.message()]);
    else r.skip(wire);
  }
  node.name ||= `${node.opType}_${index}`;
  for (const [, a] of attributes) {
    const [name, value] = readAttribute(a, node.opType);
    node.attributes.set(name, value);
  }
  return node;
}

function readValueInfo(r: ProtoReader): ValueDecl {
  const decl: ValueDecl = { name: "", elemType: 0, dims: [] };
  let tensorType = false;
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === BYTES) decl.name = r.string();
    else if (field === 2 && wire === BYTES) {
      const type = r.message();
      while (!type.done) {
        const [f, w] = type.key();
        if (f === 1 && w === BYTES) {
          tensorType = true;
          readTensorType(type.message(), decl);
        } else type.skip(w);
      }
    } else r.skip(wire);
  }
  if (!tensorType) throw new UnsupportedModelError(`value ${decl.name}: not a tensor type`);
  return decl;
}

function readTensorType(r: ProtoReader, decl: ValueDecl): void {
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 0) decl.elemType = r.varint();
    else if (field === 2 && wire === BYTES) {
      const shape = r.message();
      while (!shape.done) {
        const [f, w] = shape.key();
        if (f !== 1 || w !== BYTES) {
          shape.skip(w);
          continue;
        }
        const dim = shape.message();
        let size = -1;
        while (!dim.done) {
          const [df, dw] = dim.key();
          if (df === 1 && dw === 0) size = dim.int64();
          else if (df === 2 && dw === BYTES) {
            dim.skip(dw);
            size = -1;
          } else dim.skip(dw);
        }
        decl.dims.push(size > 0 ? size : -1);
      }
    } else r.skip(wire);
  }
}

function readTensor(r: ProtoReader, what: string): [string, LiteTensor] {
  let name = "";
  const dims: number[] = [];
  let dataType = 0;
  let raw: Uint8Array | null = null;
  const floatData: number[] = [];
  const int64Data: number[] = [];
  const int32Data: number[] = [];
  let external = false;
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1) r.int64s(wire, dims);
    else if (field === 2 && wire === 0) dataType = r.varint();
    else if (field === 4) r.floats(wire, floatData);
    else if (field === 5) r.int64s(wire, int32Data);
    else if (field === 7) r.int64s(wire, int64Data);
    else if (field === 8 && wire === BYTES) name = r.string();
    else if (field === 9 && wire === BYTES) raw = r.bytesField();
    else if (field === 13 && wire === BYTES) {
      external = true;
      r.skip(wire);
    } else if (field === 14 && wire === 0) external ||= r.varint() === 1;
    else r.skip(wire);
  }
  const label = `${what} ${name}`;
  if (external) throw new UnsupportedModelError(`${label}: external data`);
  const size = sizeOf(dims);
  if (raw !== null && raw.length === 0) raw = null;
  // raw_data is little-endian; copy it so the tensor is aligned and owns its bytes.
  const rawBuffer = raw ? copyBytes(raw).buffer : null;
  switch (dataType) {
    case DATA_TYPE.FLOAT: {
      if (rawBuffer && rawBuffer.byteLength % 4 !== 0) {
        throw new Error(`${label}: raw_data of ${rawBuffer.byteLength} bytes`);
      }
      const data = rawBuffer ? new Float32Array(rawBuffer) : Float32Array.from(floatData);
      return [name, checked({ type: "float32", dims, data }, size, label)];
    }
    case DATA_TYPE.INT64: {
      if (rawBuffer && rawBuffer.byteLength % 8 !== 0) {
        throw new Error(`${label}: raw_data of ${rawBuffer.byteLength} bytes`);
      }
      const data = rawBuffer
        ? Float64Array.from(new BigInt64Array(rawBuffer), (v) => Number(v))
        : Float64Array.from(int64Data);
      return [name, checked({ type: "int64", dims, data }, size, label)];
    }
    case DATA_TYPE.BOOL: {
      const data = raw ? copyBytes(raw) : Uint8Array.from(int32Data, (v) => (v ? 1 : 0));
      return [name, checked({ type: "bool", dims, data }, size, label)];
    }
    default:
      throw new UnsupportedModelError(`${label}: element type ${dataType}`);
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

function readAttribute(r: ProtoReader, opType: string): [string, AttributeValue] {
  let name = "";
  let type = 0;
  let f = 0;
  let i = 0;
  let s: Uint8Array | null = null;
  let t: ProtoReader | null = null;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  let unsupported = "";
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === BYTES) name = r.string();
    else if (field === 20 && wire === 0) type = r.varint();
    else if (field === 2 && wire === 5) f = r.float();
    else if (field === 3 && wire === 0) i = r.int64();
    else if (field === 4 && wire === BYTES) s = r.bytesField();
    else if (field === 5 && wire === BYTES) t = r.message();
    else if (field === 7) r.floats(wire, floats);
    else if (field === 8) r.int64s(wire, ints);
    else if (field === 9 && wire === BYTES) strings.push(r.string());
    else if ([6, 10, 11, 14, 15, 21, 22, 23].includes(field)) {
      unsupported = `field ${field}`;
      r.skip(wire);
    } else r.skip(wire);
  }
  const what = `${opType} ${name}`;
  if (unsupported) throw new UnsupportedModelError(`${what}: attribute ${unsupported}`);
  switch (type) {
    case ATTRIBUTE.INT:
      return [name, { kind: "int", value: i }];
    case ATTRIBUTE.FLOAT:
      return [name, { kind: "float", value: f }];
    case ATTRIBUTE.STRING:
      return [name, { kind: "string", value: decoder.decode(s ?? new Uint8Array()) }];
    case ATTRIBUTE.INTS:
      return [name, { kind: "ints", value: ints }];
    case ATTRIBUTE.FLOATS:
      return [name, { kind: "floats", value: Float32Array.from(floats) }];
    case ATTRIBUTE.STRINGS:
      return [name, { kind: "strings", value: strings }];
    case ATTRIBUTE.TENSOR:
      if (!t) throw new Error(`${what}: tensor attribute without a tensor`);
      return [name, { kind: "tensor", value: readTensor(t, what)[1] }];
    default:
      throw new UnsupportedModelError(`${what}: attribute type ${type}`);
  }
}

const decoder = new TextDecoder();
