/**
 * Reductions over contiguous axes (ReduceMean, ReduceSum, ReduceMax,
 * ReduceMin), Softmax over one axis, and ArgMax. Sums run in float64 and are
 * rounded once, so they may differ from onnxruntime's float32 vector sums in
 * the last bits.
 */
import type { KernelContext, KernelFactory } from "./kernel.ts";
import {
  expectFloat,
  expectInt64,
  floatTensor,
  type LiteTensor,
  normaliseAxis,
  sizeOf,
  UnsupportedModelError,
} from "./tensor.ts";

type Reducer = "mean" | "sum" | "max" | "min";

/** Opset at which each reduction's axes moved from an attribute to an input. */
const AXES_INPUT_SINCE: Record<Reducer, number> = { sum: 13, mean: 18, max: 18, min: 18 };

function reduceKernel(name: string, how: Reducer): KernelFactory {
  return ({ attributes, opset, constants }: KernelContext) => {
    const keepDims = attributes.int("keepdims", 1) !== 0;
    const noopWithEmptyAxes = attributes.int("noop_with_empty_axes", 0) !== 0;
    let fixedAxes: number[] | null = null;
    if (opset < AXES_INPUT_SINCE[how]) {
      fixedAxes = attributes.has("axes") ? attributes.ints("axes") : null;
    } else if (constants[1]) {
      fixedAxes = Array.from(expectInt64(constants[1], `${name} axes`).data);
    }
    attributes.checkAllRead();
    if (noopWithEmptyAxes) throw new UnsupportedModelError(`${name}: noop_with_empty_axes`);
    return ([x, axesInput], buffers) => {
      const input = expectFloat(x!, name);
      const rank = input.dims.length;
      const rawAxes = fixedAxes ??
        (axesInput ? Array.from(expectInt64(axesInput, `${name} axes`).data) : null) ??
        input.dims.map((_, i) => i);
      const axes = rawAxes.map((a) => normaliseAxis(a, rank, name)).sort((p, q) => p - q);
      for (let i = 1; i < axes.length; i++) {
        if (axes[i] !== axes[i - 1] + 1) {
          throw new UnsupportedModelError(`${name}: non-contiguous axes [${rawAxes}]`);
        }
      }
      const first = axes[0] ?? 0;
      const last = axes.length > 0 ? axes[axes.length - 1] : -1;
      const outer = sizeOf(input.dims.slice(0, first));
      const span = sizeOf(input.dims.slice(first, last + 1));
      const inner = sizeOf(input.dims.slice(last + 1));
      const out = buffers.float32(0, outer * inner);
      if (how === "max" || how === "min") {
        reduceExtreme(input.data, outer, span, inner, how === "max", out);
      } else reduceSum(input.data, outer, span, inner, how === "mean" ? 1 / span : 1, out);
      const dims = keepDims
        ? input.dims.map((n, i) => (axes.includes(i) ? 1 : n))
        : input.dims.filter((_, i) => !axes.includes(i));
      return [floatTensor(dims, out)];
    };
  };
}

/** Sums over the middle axis of `[outer, span, inner]`, in float64, times `factor` (1/span for a mean). */
function reduceSum(
  d: Float32Array,
  outer: number,
  span: number,
  inner: number,
  factor: number,
  out: Float32Array,
): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let acc = 0;
      for (let p = o * span, end = p + span; p < end; p++) acc += d[p];
      out[o] = factor === 1 ? acc : acc * factor;
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = 0;
      for (let s = 0, p = o * span * inner + i; s < span; s++, p += inner) acc += d[p];
      out[o * inner + i] = factor === 1 ? acc : acc * factor;
    }
  }
}

/** Max (or min) over the middle axis of `[outer, span, inner]`; NaN wins. */
function reduceExtreme(
  d: Float32Array,
  outer: number,
  span: number,
  inner: number,
  max: boolean,
  out: Float32Array,
): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = max ? -Infinity : Infinity;
      for (let s = 0, p = o * span * inner + i; s < span; s++, p += inner) {
        const v = d[p];
        if (v !== v || (max ? v > acc : v < acc)) acc = v;
        if (acc !== acc) break;
      }
      out[o * inner + i] = acc;
    }
  }
}

export const REDUCE_KERNELS: Record<string, KernelFactory> = {
  ReduceMean: reduceKernel("ReduceMean", "mean"),
  ReduceSum: reduceKernel("ReduceSum", "sum"),
  ReduceMax: reduceKernel("ReduceMax", "max"),
  ReduceMin: reduceKernel("ReduceMin", "min"),
};

/**
 * Softmax: along `axis` since opset 13; before, over the input flattened to 2-D
 * at `axis`. As MLAS: exp(x - max) in float32, a float32 sum, times 1/sum.
 */
export const softmaxKernel: KernelFactory = ({ attributes, opset }) => {
  const axisAttr = attributes.int("axis", opset >= 13 ? -1 : 1);
  attributes.checkAllRead();
  return ([x], buffers) => {
    const input = expectFloat(x!, "Softmax");
    const rank = input.dims.length;
    const axis = normaliseAxis(axisAttr, rank, "Softmax");
    const span = opset >= 13 ? input.dims[axis] : sizeOf(input.dims.slice(axis));
    const inner = opset >= 13 ? sizeOf(input.dims.slice(axis + 1)) : 1;
    const outer = input.data.length / (span * inner || 1);
    const out = buffers.float32(0, input.data.length);
    const d = input.data;
    const e = new Float32Array(1);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * span * inner + i;
        let max = -Infinity;
        for (let s = 0; s < span; s++) max = Math.max(max, d[base + s * inner]);
        let sum = 0;
        for (let s = 0; s < span; s++) {
          e[0] = Math.exp(Math.fround(d[base + s * inner] - max));
          out[base + s * inner] = e[0];
          sum = Math.fround(sum + e[0]);
        }
        const scale = Math.fround(1 / sum);
        for (let s = 0; s < span; s++) out[base + s * inner] *= scale;
      }
    }
    return [floatTensor(input.dims.slice(), out)];
  };
};

/** ArgMax along `axis` to int64 indices (the first maximum unless select_last_index). */
export const argMaxKernel: KernelFactory = ({ attributes }) => {
  const axisAttr = attributes.int("axis", 0);
  const keepDims = attributes.int("keepdims", 1) !== 0;
  const selectLast = attributes.int("select_last_index", 0) !== 0;
  attributes.checkAllRead();
  return ([x], buffers): LiteTensor[] => {
    const input = expectFloat(x!, "ArgMax");
    const axis = normaliseAxis(axisAttr, input.dims.length, "ArgMax");
    const span = input.dims[axis];
    const inner = sizeOf(input.dims.slice(axis + 1));
    const outer = sizeOf(input.dims.slice(0, axis));
    const out = buffers.int64(0, outer * inner);
    const d = input.data;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * span * inner + i;
        let best = 0;
        for (let s = 1; s < span; s++) {
          const v = d[base + s * inner];
          const b = d[base + best * inner];
          if (v > b || (selectLast && v === b)) best = s;
        }
        out[o * inner + i] = best;
      }
    }
    const dims = keepDims
      ? input.dims.map((n, i) => (i === axis ? 1 : n))
      : input.dims.filter((_, i) => i !== axis);
    return [{ type: "int64", dims, data: out }];
  };
};
