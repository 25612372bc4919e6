/**
 * Elementwise operators: unary float maps and binary ops with numpy-style
 * broadcasting. Each result is stored in a Float32Array, so every op rounds
 * to float32 once, as onnxruntime's float kernels do; +, -, *, / and sqrt of
 * float32 operands computed in float64 and rounded once are exactly the
 * float32 results. Log, Exp and Sigmoid may differ from onnxruntime's
 * vectorised approximations in the last bit.
 */
import type { Kernel, KernelFactory } from "./kernel.ts";
import {
  expectFloat,
  floatTensor,
  type LiteTensor,
  sizeOf,
  UnsupportedModelError,
} from "./tensor.ts";

/**
 * Each op's loop is written out in a switch rather than calling a function per
 * element: a shared loop taking `f` would see every op's `f` and never inline it.
 */
enum Unary {
  Abs,
  Neg,
  Relu,
  Sign,
  Log,
  Exp,
  Sqrt,
  Sigmoid,
}

function mapUnary(op: Unary, d: Float32Array, out: Float32Array): void {
  const n = d.length;
  switch (op) {
    case Unary.Abs:
      for (let i = 0; i < n; i++) out[i] = Math.abs(d[i]);
      break;
    case Unary.Neg:
      for (let i = 0; i < n; i++) out[i] = -d[i];
      break;
    case Unary.Relu:
      for (let i = 0; i < n; i++) out[i] = d[i] > 0 ? d[i] : 0;
      break;
    case Unary.Sign:
      for (let i = 0; i < n; i++) out[i] = d[i] > 0 ? 1 : d[i] < 0 ? -1 : d[i];
      break;
    case Unary.Log:
      for (let i = 0; i < n; i++) out[i] = Math.log(d[i]);
      break;
    case Unary.Exp:
      for (let i = 0; i < n; i++) out[i] = Math.exp(d[i]);
      break;
    case Unary.Sqrt:
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(d[i]);
      break;
    case Unary.Sigmoid:
      for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-d[i]));
      break;
  }
}

function unary(name: string, op: Unary): KernelFactory {
  return ({ attributes }) => {
    attributes.checkAllRead();
    return ([x], buffers) => {
      const input = expectFloat(x!, name);
      const out = buffers.float32(0, input.data.length);
      mapUnary(op, input.data, out);
      return [floatTensor(input.dims.slice(), out)];
    };
  };
}

export const UNARY_KERNELS: Record<string, KernelFactory> = {
  Abs: unary("Abs", Unary.Abs),
  Neg: unary("Neg", Unary.Neg),
  Relu: unary("Relu", Unary.Relu),
  Sign: unary("Sign", Unary.Sign),
  Log: unary("Log", Unary.Log),
  Exp: unary("Exp", Unary.Exp),
  Sqrt: unary("Sqrt", Unary.Sqrt),
  Sigmoid: unary("Sigmoid", Unary.Sigmoid),
  Identity: ({ attributes }) => {
    attributes.checkAllRead();
    return ([x]) => [x!];
  },
};

/** Output dims of broadcasting `a` with `b`, or an error naming `what`. */
export function broadcastDims(a: readonly number[], b: readonly number[], what: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${what}: cannot broadcast [${a}] with [${b}]`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Element strides of `dims` aligned right to `rank` output dims (0 where broadcast). */
function broadcastStrides(dims: readonly number[], outDims: readonly number[]): number[] {
  const rank = outDims.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const o = rank - dims.length + i;
    strides[o] = dims[i] === 1 && outDims[o] !== 1 ? 0 : stride;
    stride *= dims[i];
  }
  return strides;
}

type Store = Float32Array | Uint8Array;

enum Binary {
  Add,
  Sub,
  Mul,
  Div,
  Max,
  Min,
  Less,
  Greater,
}

/**
 * `count` results of `op` into `out[o..]`, reading `a` from `pa` by `ia` and `b`
 * from `pb` by `ib` (strides 0 or 1).
 */
function binaryRun(
  op: Binary,
  a: Float32Array,
  pa: number,
  ia: number,
  b: Float32Array,
  pb: number,
  ib: number,
  out: Float32Array,
  o: number,
  count: number,
): void {
  // The two strides the trainer's graphs use get loops of their own (one index,
  // no stride arithmetic): 3-4 times faster than the general loop in V8.
  if (ia === 1 && ib === 1) return binaryContiguous(op, a, pa, b, pb, out, o, count);
  if (ia === 1 && ib === 0) return binaryScalar(op, a, pa, b[pb], out, o, count);
  const end = o + count;
  switch (op) {
    case Binary.Add:
      for (; o < end; o++, pa += ia, pb += ib) out[o] = a[pa] + b[pb];
      break;
    case Binary.Sub:
      for (; o < end; o++, pa += ia, pb += ib) out[o] = a[pa] - b[pb];
      break;
    case Binary.Mul:
      for (; o < end; o++, pa += ia, pb += ib) out[o] = a[pa] * b[pb];
      break;
    case Binary.Div:
      for (; o < end; o++, pa += ia, pb += ib) out[o] = a[pa] / b[pb];
      break;
    case Binary.Max:
      for (; o < end; o++, pa += ia, pb += ib) out[o] = max(a[pa], b[pb]);
      break;
    case Binary.Min:
      for (; o < end; o++, pa += ia, pb += ib) out[o] = min(a[pa], b[pb]);
      break;
  }
}

/** NaN wins, as in onnxruntime's Max/Min. */
function max(x: number, y: number): number {
  return x >= y || x !== x ? x : y;
}

function min(x: number, y: number): number {
  return x <= y || x !== x ? x : y;
}

function binaryContiguous(
  op: Binary,
  a: Float32Array,
  pa: number,
  b: Float32Array,
  pb: number,
  out: Float32Array,
  o: number,
  n: number,
): void {
  switch (op) {
    case Binary.Add:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] + b[pb + i];
      break;
    case Binary.Sub:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] - b[pb + i];
      break;
    case Binary.Mul:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] * b[pb + i];
      break;
    case Binary.Div:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] / b[pb + i];
      break;
    case Binary.Max:
      for (let i = 0; i < n; i++) {
        const x = a[pa + i];
        const y = b[pb + i];
        out[o + i] = x >= y || x !== x ? x : y;
      }
      break;
    case Binary.Min:
      for (let i = 0; i < n; i++) {
        const x = a[pa + i];
        const y = b[pb + i];
        out[o + i] = x <= y || x !== x ? x : y;
      }
      break;
  }
}

function binaryScalar(
  op: Binary,
  a: Float32Array,
  pa: number,
  y: number,
  out: Float32Array,
  o: number,
  n: number,
): void {
  // `y` arrives boxed; Max and Min pick either operand, and a pick between an unboxed `x` and a
  // boxed `y` boxed every element (the anomaly graph's Min: 2 KB of garbage a row). Read from
  // float32 data, y is its own fround: an unboxed copy, the same value.
  const yv = Math.fround(y);
  switch (op) {
    case Binary.Add:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] + y;
      break;
    case Binary.Sub:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] - y;
      break;
    case Binary.Mul:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] * y;
      break;
    case Binary.Div:
      for (let i = 0; i < n; i++) out[o + i] = a[pa + i] / y;
      break;
    case Binary.Max:
      for (let i = 0; i < n; i++) {
        const x = a[pa + i];
        out[o + i] = x >= yv || x !== x ? x : yv;
      }
      break;
    case Binary.Min:
      for (let i = 0; i < n; i++) {
        const x = a[pa + i];
        out[o + i] = x <= yv || x !== x ? x : yv;
      }
      break;
  }
}

/** Less and Greater on any numeric type (small tensors: quantile tables, votes). */
function compareRun(
  op: Binary,
  a: ArrayLike<number>,
  pa: number,
  ia: number,
  b: ArrayLike<number>,
  pb: number,
  ib: number,
  out: Uint8Array,
  o: number,
  count: number,
): void {
  for (const end = o + count; o < end; o++, pa += ia, pb += ib) {
    out[o] = (op === Binary.Less ? a[pa] < b[pb] : a[pa] > b[pb]) ? 1 : 0;
  }
}

type Run<A, O> = (
  op: Binary,
  a: A,
  pa: number,
  ia: number,
  b: A,
  pb: number,
  ib: number,
  out: O,
  o: number,
  count: number,
) => void;

/**
 * Applies `f` over the broadcast of `a` and `b` into `out`: an odometer over
 * every dim but the last, an inner loop over the last with a stride of 0 or 1 each.
 */
function broadcastLoop<A extends ArrayLike<number>, O extends Store>(
  run: Run<A, O>,
  a: A,
  aDims: readonly number[],
  b: A,
  bDims: readonly number[],
  outDims: readonly number[],
  out: O,
  op: Binary,
): void {
  const total = out.length;
  if (total === 0) return;
  if (a.length === total && b.length === total) return run(op, a, 0, 1, b, 0, 1, out, 0, total);
  if (b.length === 1) return run(op, a, 0, 1, b, 0, 0, out, 0, total);
  if (a.length === 1) return run(op, a, 0, 0, b, 0, 1, out, 0, total);
  const rank = outDims.length;
  const sa = broadcastStrides(aDims, outDims);
  const sb = broadcastStrides(bDims, outDims);
  const inner = outDims[rank - 1] ?? 1;
  const ia = rank > 0 ? sa[rank - 1] : 0;
  const ib = rank > 0 ? sb[rank - 1] : 0;
  const index = new Array<number>(Math.max(0, rank - 1)).fill(0);
  let offA = 0;
  let offB = 0;
  for (let o = 0; o < total; o += inner) {
    run(op, a, offA, ia, b, offB, ib, out, o, inner);
    // Advance the odometer over the outer dims.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      offA += sa[d];
      offB += sb[d];
      if (index[d] < outDims[d]) break;
      offA -= sa[d] * outDims[d];
      offB -= sb[d] * outDims[d];
      index[d] = 0;
    }
  }
}

function binaryFloat(name: string, op: Binary): KernelFactory {
  return ({ attributes }) => {
    attributes.checkAllRead();
    return ([x, y], buffers) => {
      const a = expectFloat(x!, name);
      const b = expectFloat(y!, name);
      const dims = broadcastDims(a.dims, b.dims, name);
      const out = buffers.float32(0, sizeOf(dims));
      broadcastLoop(binaryRun, a.data, a.dims, b.data, b.dims, dims, out, op);
      return [floatTensor(dims, out)];
    };
  };
}

/** Max and Min take one or more inputs (variadic since opset 8). */
function variadicFloat(name: string, op: Binary): KernelFactory {
  const pair = binaryFloat(name, op);
  return (context) => {
    const two = pair(context);
    return (inputs, buffers) => {
      if (inputs.length === 0) throw new UnsupportedModelError(`${name}: no inputs`);
      let acc = inputs[0]!;
      // Folding in place into output 0 is safe: each element is read before it is written.
      for (let i = 1; i < inputs.length; i++) acc = two([acc, inputs[i]], buffers)[0];
      return [acc];
    };
  };
}

function compare(name: string, op: Binary): KernelFactory {
  return ({ attributes }) => {
    attributes.checkAllRead();
    return ([x, y], buffers) => {
      if (x!.type === "bool" || x!.type !== y!.type) {
        throw new UnsupportedModelError(`${name}: ${x!.type} and ${y!.type} inputs`);
      }
      const dims = broadcastDims(x!.dims, y!.dims, name);
      const out = buffers.bool(0, sizeOf(dims));
      broadcastLoop<ArrayLike<number>, Uint8Array>(
        compareRun,
        x!.data,
        x!.dims,
        y!.data,
        y!.dims,
        dims,
        out,
        op,
      );
      return [{ type: "bool", dims, data: out } as LiteTensor];
    };
  };
}

export const BINARY_KERNELS: Record<string, KernelFactory> = {
  Add: binaryFloat("Add", Binary.Add),
  Sub: binaryFloat("Sub", Binary.Sub),
  Mul: binaryFloat("Mul", Binary.Mul),
  Div: binaryFloat("Div", Binary.Div),
  Max: variadicFloat("Max", Binary.Max),
  Min: variadicFloat("Min", Binary.Min),
  Less: compare("Less", Binary.Less),
  Greater: compare("Greater", Binary.Greater),
};

/** Clip(x, min?, max?) since opset 11; min/max attributes before. */
export const clipKernel: KernelFactory = ({ attributes, opset }) => {
  let lo = -Infinity;
  let hi = Infinity;
  if (opset < 11) {
    lo = attributes.float("min", -Infinity);
    hi = attributes.float("max", Infinity);
  }
  attributes.checkAllRead();
  return ([x, min, max], buffers): LiteTensor[] => {
    const input = expectFloat(x!, "Clip");
    const low = min ? expectFloat(min, "Clip min").data[0] : lo;
    const high = max ? expectFloat(max, "Clip max").data[0] : hi;
    const out = buffers.float32(0, input.data.length);
    const d = input.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      out[i] = v < low ? low : v > high ? high : v;
    }
    return [floatTensor(input.dims.slice(), out)];
  };
};

export type { Kernel };
