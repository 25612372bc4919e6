/**
 * The building blocks of the deep model families, in plain typed arrays:
 * trainable parameters with Adam, dense layers, same-padded 2-D convolutions
 * (ONNX weight layout `[out, in, k, k]`, activations channel-major per row),
 * and the row layout that pads a feature vector into a square image. Each
 * layer has a forward pass over a batch and a backward pass that accumulates
 * parameter gradients and (optionally) the input gradient.
 *
 * Why not tfjs: measured on this machine, @tensorflow/tfjs 4.22 on its CPU
 * backend took about 25 s per epoch for one 16-filter Conv1D on 4,000 rows of
 * 128 values, and its WASM backend has no Conv2DBackpropFilter kernel (it
 * cannot train a convolution); these loops train the same sizes in well under
 * a second per epoch.
 */
import { denseBackward, denseForward } from "../dense_kernels.ts";
import type { Random } from "../random.ts";

/** A trainable tensor with its gradient and Adam moments. */
export class Param {
  readonly g: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  constructor(readonly w: Float32Array) {
    this.g = new Float32Array(w.length);
    this.m = new Float32Array(w.length);
    this.v = new Float32Array(w.length);
  }
  /** He-normal (ReLU) or Glorot-like (linear) initialisation for `fanIn` inputs. */
  static init(size: number, fanIn: number, rng: Random, relu: boolean): Param {
    const std = Math.sqrt((relu ? 2 : 1) / fanIn);
    return new Param(Float32Array.from({ length: size }, () => rng.normal() * std));
  }
  static zeros(size: number): Param {
    return new Param(new Float32Array(size));
  }
}

/** Adam over a set of parameters; call {@link Adam.step} after each batch's gradients. */
export class Adam {
  #t = 0;
  constructor(readonly params: Param[], readonly learningRate: number) {}
  zeroGrad() {
    for (const p of this.params) p.g.fill(0);
  }
  step() {
    this.#t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const lr = this.learningRate * Math.sqrt(1 - b2 ** this.#t) / (1 - b1 ** this.#t);
    for (const p of this.params) {
      const { w, g, m, v } = p;
      for (let i = 0; i < w.length; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        w[i] -= (lr * m[i]) / (Math.sqrt(v[i]) + 1e-8);
      }
    }
  }
}

/** `y = x W + b`, W row-major `[inputs, outputs]` (ONNX MatMul layout). */
export class Dense {
  readonly weight: Param;
  readonly bias: Param;
  constructor(readonly inputs: number, readonly outputs: number, rng: Random, relu: boolean) {
    this.weight = Param.init(inputs * outputs, inputs, rng, relu);
    this.bias = Param.zeros(outputs);
  }
  params(): Param[] {
    return [this.weight, this.bias];
  }
  forward(x: Float32Array, y: Float32Array, n: number) {
    denseForward(this.inputs, this.outputs, this.weight.w, this.bias.w, x, y, n);
  }
  /** Accumulates gradients from `dy`; writes `dx` when given. */
  backward(x: Float32Array, dy: Float32Array, n: number, dx?: Float32Array) {
    const { inputs, outputs, weight, bias } = this;
    denseBackward(inputs, outputs, weight.w, x, dy, n, weight.g, bias.g, dx);
  }
}

/** Same-padded, stride-1 `k x k` convolution over `[channels, side, side]` rows. */
export class Conv2d {
  readonly weight: Param;
  readonly bias: Param;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly side: number,
    readonly kernel: number,
    rng: Random,
    relu: boolean,
  ) {
    const fanIn = inChannels * kernel * kernel;
    this.weight = Param.init(outChannels * fanIn, fanIn, rng, relu);
    this.bias = Param.zeros(outChannels);
  }
  params(): Param[] {
    return [this.weight, this.bias];
  }
  get inSize(): number {
    return this.inChannels * this.side * this.side;
  }
  get outSize(): number {
    return this.outChannels * this.side * this.side;
  }
  forward(x: Float32Array, y: Float32Array, n: number) {
    const { inChannels: ci, outChannels: co, side: S, kernel: K } = this;
    const plane = S * S;
    const pad = (K - 1) >> 1;
    const w = this.weight.w;
    const b = this.bias.w;
    for (let r = 0; r < n; r++) {
      const xb = r * ci * plane;
      const yb = r * co * plane;
      for (let o = 0; o < co; o++) y.fill(b[o], yb + o * plane, yb + (o + 1) * plane);
      for (let o = 0; o < co; o++) {
        for (let c = 0; c < ci; c++) {
          for (let dy = 0; dy < K; dy++) {
            for (let dx = 0; dx < K; dx++) {
              const wv = w[((o * ci + c) * K + dy) * K + dx];
              const oy = dy - pad;
              const ox = dx - pad;
              const h0 = Math.max(0, -oy);
              const h1 = Math.min(S, S - oy);
              const w0 = Math.max(0, -ox);
              const w1 = Math.min(S, S - ox);
              for (let h = h0; h < h1; h++) {
                const yi = yb + o * plane + h * S;
                const xi = xb + c * plane + (h + oy) * S + ox;
                for (let q = w0; q < w1; q++) y[yi + q] += wv * x[xi + q];
              }
            }
          }
        }
      }
    }
  }
  backward(x: Float32Array, dyIn: Float32Array, n: number, dxOut?: Float32Array) {
    const { inChannels: ci, outChannels: co, side: S, kernel: K } = this;
    const plane = S * S;
    const pad = (K - 1) >> 1;
    const w = this.weight.w;
    const gw = this.weight.g;
    const gb = this.bias.g;
    if (dxOut) dxOut.fill(0, 0, n * ci * plane);
    for (let r = 0; r < n; r++) {
      const xb = r * ci * plane;
      const yb = r * co * plane;
      for (let o = 0; o < co; o++) {
        let s = 0;
        for (let i = 0; i < plane; i++) s += dyIn[yb + o * plane + i];
        gb[o] += s;
        for (let c = 0; c < ci; c++) {
          for (let dy = 0; dy < K; dy++) {
            for (let dx = 0; dx < K; dx++) {
              const wi = ((o * ci + c) * K + dy) * K + dx;
              const wv = w[wi];
              const oy = dy - pad;
              const ox = dx - pad;
              const h0 = Math.max(0, -oy);
              const h1 = Math.min(S, S - oy);
              const w0 = Math.max(0, -ox);
              const w1 = Math.min(S, S - ox);
              let g = 0;
              for (let h = h0; h < h1; h++) {
                const yi = yb + o * plane + h * S;
                const xi = xb + c * plane + (h + oy) * S + ox;
                for (let q = w0; q < w1; q++) {
                  g += dyIn[yi + q] * x[xi + q];
                  if (dxOut) dxOut[xi + q] += wv * dyIn[yi + q];
                }
              }
              gw[wi] += g;
            }
          }
        }
      }
    }
  }
}

/** In place: `y = max(y, 0)`. */
export function reluForward(y: Float32Array, length: number) {
  for (let i = 0; i < length; i++) if (y[i] < 0) y[i] = 0;
}

/** In place: zero the gradient where the ReLU output was zero. */
export function reluBackward(y: Float32Array, dy: Float32Array, length: number) {
  for (let i = 0; i < length; i++) if (y[i] <= 0) dy[i] = 0;
}

/** Side of the square image a `width`-value row is padded into (zeros after the last feature). */
export function imageSide(width: number): number {
  return Math.ceil(Math.sqrt(width));
}

/** Copies row `r` of `z` (`width` values) into image slot `slot` of `out` (`side * side` values). */
export function rowToImage(
  z: Float32Array,
  r: number,
  width: number,
  out: Float32Array,
  slot: number,
  side: number,
) {
  const plane = side * side;
  out.fill(0, slot * plane, (slot + 1) * plane);
  out.set(z.subarray(r * width, (r + 1) * width), slot * plane);
}

/** Rows in a shuffled order, in batches; `visit(rowIndices, n)` per batch. */
export function forEachBatch(
  rows: number,
  batchSize: number,
  rng: Random,
  visit: (indices: Uint32Array, n: number) => void,
) {
  const order = rng.shuffle(Uint32Array.from({ length: rows }, (_, i) => i));
  for (let start = 0; start < rows; start += batchSize) {
    const n = Math.min(batchSize, rows - start);
    visit(order.subarray(start, start + n), n);
  }
}
