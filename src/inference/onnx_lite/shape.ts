/**
 * Operators that move or relabel values without arithmetic: Reshape,
 * Unsqueeze, Flatten, Concat, Gather and Cast.
 */
import type { KernelFactory, OutputBuffers } from "./kernel.ts";
import { DATA_TYPE } from "./onnx_types.ts";
import {
  expectInt64,
  type LiteTensor,
  normaliseAxis,
  sizeOf,
  UnsupportedModelError,
  withDims,
} from "./tensor.ts";

/** Reshape: 0 copies the input's dim (allowzero 0), -1 takes the rest. */
export const reshapeKernel: KernelFactory = ({ attributes }) => {
  const allowZero = attributes.int("allowzero", 0) !== 0;
  attributes.checkAllRead();
  if (allowZero) throw new UnsupportedModelError("Reshape: allowzero");
  return ([x, shape]) => {
    const input = x!;
    const wanted = Array.from(expectInt64(shape!, "Reshape shape").data);
    const dims = wanted.map((d, i) => (d === 0 ? input.dims[i] : d));
    const free = dims.indexOf(-1);
    const total = input.data.length;
    if (free >= 0) {
      const rest = sizeOf(dims.filter((_, i) => i !== free));
      dims[free] = rest === 0 ? 0 : total / rest;
    }
    if (sizeOf(dims) !== total || dims.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`Reshape: [${input.dims}] cannot become [${wanted}]`);
    }
    return [withDims(input, dims)];
  };
};

/** Unsqueeze: axes as an input since opset 13, an attribute before. */
export const unsqueezeKernel: KernelFactory = ({ attributes, opset }) => {
  const fixed = opset < 13 ? attributes.ints("axes") : null;
  attributes.checkAllRead();
  return ([x, axesInput]) => {
    const input = x!;
    const axes = fixed ?? Array.from(expectInt64(axesInput!, "Unsqueeze axes").data);
    const rank = input.dims.length + axes.length;
    const where = new Set(axes.map((a) => normaliseAxis(a, rank, "Unsqueeze")));
    const dims: number[] = [];
    let from = 0;
    for (let i = 0; i < rank; i++) dims.push(where.has(i) ? 1 : input.dims[from++]);
    return [withDims(input, dims)];
  };
};

export const flattenKernel: KernelFactory = ({ attributes }) => {
  const axisAttr = attributes.int("axis", 1);
  attributes.checkAllRead();
  return ([x]) => {
    const input = x!;
    const rank = input.dims.length;
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    if (axis < 0 || axis > rank) throw new Error(`Flatten: axis ${axisAttr} for rank ${rank}`);
    return [withDims(input, [sizeOf(input.dims.slice(0, axis)), sizeOf(input.dims.slice(axis))])];
  };
};

function allocateLike(t: LiteTensor, size: number, buffers: OutputBuffers): LiteTensor["data"] {
  if (t.type === "float32") return buffers.float32(0, size);
  if (t.type === "int64") return buffers.int64(0, size);
  return buffers.bool(0, size);
}

export const concatKernel: KernelFactory = ({ attributes }) => {
  const axisAttr = attributes.int("axis");
  attributes.checkAllRead();
  return (inputs, buffers) => {
    const parts = inputs as LiteTensor[];
    const first = parts[0];
    const rank = first.dims.length;
    const axis = normaliseAxis(axisAttr, rank, "Concat");
    const outer = sizeOf(first.dims.slice(0, axis));
    const inner = sizeOf(first.dims.slice(axis + 1));
    let span = 0;
    for (const p of parts) {
      if (
        p.type !== first.type || p.dims.length !== rank ||
        p.dims.some((d, i) => i !== axis && d !== first.dims[i])
      ) {
        throw new Error(`Concat: [${p.dims}] ${p.type} does not fit [${first.dims}] ${first.type}`);
      }
      span += p.dims[axis];
    }
    const out = allocateLike(first, outer * span * inner, buffers);
    let offset = 0;
    for (const p of parts) {
      const block = p.dims[axis] * inner;
      for (let o = 0; o < outer; o++) {
        out.set(p.data.subarray(o * block, (o + 1) * block) as never, o * span * inner + offset);
      }
      offset += block;
    }
    const dims = first.dims.slice();
    dims[axis] = span;
    return [{ type: first.type, dims, data: out } as LiteTensor];
  };
};

export const gatherKernel: KernelFactory = ({ attributes }) => {
  const axisAttr = attributes.int("axis", 0);
  attributes.checkAllRead();
  return ([x, idx], buffers) => {
    const input = x!;
    const indices = expectInt64(idx!, "Gather indices");
    const axis = normaliseAxis(axisAttr, input.dims.length, "Gather");
    const span = input.dims[axis];
    const outer = sizeOf(input.dims.slice(0, axis));
    const inner = sizeOf(input.dims.slice(axis + 1));
    const n = indices.data.length;
    const out = allocateLike(input, outer * n * inner, buffers);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        let k = indices.data[j];
        if (k < 0) k += span;
        if (k < 0 || k >= span) throw new Error(`Gather: index ${indices.data[j]} of ${span}`);
        const from = (o * span + k) * inner;
        out.set(input.data.subarray(from, from + inner) as never, (o * n + j) * inner);
      }
    }
    const dims = [...input.dims.slice(0, axis), ...indices.dims, ...input.dims.slice(axis + 1)];
    return [{ type: input.type, dims, data: out } as LiteTensor];
  };
};

const CAST_TARGETS: Record<number, LiteTensor["type"]> = {
  [DATA_TYPE.FLOAT]: "float32",
  [DATA_TYPE.INT64]: "int64",
  [DATA_TYPE.BOOL]: "bool",
};

export const castKernel: KernelFactory = ({ attributes }) => {
  const to = CAST_TARGETS[attributes.int("to")];
  attributes.checkAllRead(["saturate"]);
  if (to === undefined) throw new UnsupportedModelError(`Cast: to ${attributes.int("to")}`);
  return ([x], buffers): LiteTensor[] => {
    const input = x!;
    if (input.type === to) return [input];
    const dims = input.dims.slice();
    const d = input.data;
    const n = d.length;
    if (to === "float32") {
      const out = buffers.float32(0, n);
      for (let i = 0; i < n; i++) out[i] = d[i];
      return [{ type: to, dims, data: out }];
    }
    if (to === "bool") {
      const out = buffers.bool(0, n);
      for (let i = 0; i < n; i++) out[i] = d[i] ? 1 : 0;
      return [{ type: to, dims, data: out }];
    }
    // float -> int64 truncates toward zero, as static_cast does.
    const out = buffers.int64(0, n);
    for (let i = 0; i < n; i++) out[i] = Math.trunc(d[i]);
    return [{ type: to, dims, data: out }];
  };
};
