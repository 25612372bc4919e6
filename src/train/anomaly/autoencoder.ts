/**
 * A small dense autoencoder in plain TypeScript (Float32Array weights, Adam):
 * width -> hidden (ReLU) -> code (linear) -> hidden (ReLU) -> width (linear),
 * trained on scaled benign rows to minimise mean squared reconstruction error.
 * The anomaly score of a row is that error; it exports as MatMul/Add/Relu.
 */
import { denseBackward, denseForward } from "../dense_kernels.ts";
import type { Random } from "../random.ts";

export interface AutoencoderParams {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Hidden width; default clamp(width / 2, 8, 64). */
  hidden?: number;
  /** Code width; default clamp(width / 6, 3, 16). */
  code?: number;
}

export const DEFAULT_AUTOENCODER_PARAMS: AutoencoderParams = {
  epochs: 10,
  batchSize: 128,
  learningRate: 1e-3,
};

/** One dense layer: `y = act(x W + b)`, W stored row-major `[inputs, outputs]`. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: Float32Array;
  bias: Float32Array;
  relu: boolean;
}

export interface Autoencoder {
  layers: DenseLayer[];
  width: number;
  params: AutoencoderParams;
  /** Training loss (mean squared error) after each epoch. */
  lossHistory: number[];
}

/** Trains on scaled rows. `onEpoch(epoch, loss)` reports progress. */
export function trainAutoencoder(
  z: Float32Array,
  rows: number,
  width: number,
  rng: Random,
  params: Partial<AutoencoderParams> = {},
  onEpoch?: (epoch: number, total: number, loss: number) => void,
): Autoencoder {
  const p = { ...DEFAULT_AUTOENCODER_PARAMS, ...params };
  const hidden = p.hidden ?? Math.min(64, Math.max(8, Math.round(width / 2)));
  const code = p.code ?? Math.min(16, Math.max(3, Math.round(width / 6)));
  const sizes = [width, hidden, code, hidden, width];
  const layers: DenseLayer[] = [];
  for (let l = 0; l < 4; l++) {
    const inputs = sizes[l];
    const outputs = sizes[l + 1];
    const weights = new Float32Array(inputs * outputs);
    // He initialisation for ReLU layers, Glorot-like for linear ones.
    const std = Math.sqrt((l === 0 || l === 2 ? 2 : 1) / inputs);
    for (let i = 0; i < weights.length; i++) weights[i] = rng.normal() * std;
    layers.push({
      inputs,
      outputs,
      weights,
      bias: new Float32Array(outputs),
      relu: l === 0 || l === 2,
    });
  }
  const adam = layers.map((L) => ({
    mW: new Float32Array(L.weights.length),
    vW: new Float32Array(L.weights.length),
    mB: new Float32Array(L.outputs),
    vB: new Float32Array(L.outputs),
    gW: new Float32Array(L.weights.length),
    gB: new Float32Array(L.outputs),
  }));
  const B = p.batchSize;
  const acts = sizes.map((s) => new Float32Array(B * s));
  const deltas = sizes.map((s) => new Float32Array(B * s));
  const order = Uint32Array.from({ length: rows }, (_, i) => i);
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  const lossHistory: number[] = [];
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    rng.shuffle(order);
    let lossSum = 0;
    for (let start = 0; start < rows; start += B) {
      const n = Math.min(B, rows - start);
      for (let i = 0; i < n; i++) {
        acts[0].set(
          z.subarray(order[start + i] * width, (order[start + i] + 1) * width),
          i * width,
        );
      }
      for (let l = 0; l < 4; l++) forwardLayer(layers[l], acts[l], acts[l + 1], n);
      // d(loss)/d(output) for loss = mean over rows and columns of squared error.
      const out = acts[4];
      const dOut = deltas[4];
      for (let i = 0; i < n * width; i++) {
        const d = out[i] - acts[0][i];
        lossSum += d * d;
        dOut[i] = (2 * d) / (n * width);
      }
      for (let l = 3; l >= 0; l--) {
        backwardLayer(layers[l], acts[l], acts[l + 1], deltas[l + 1], deltas[l], adam[l], n, l > 0);
      }
      step++;
      const lr = p.learningRate * Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step);
      for (let l = 0; l < 4; l++) {
        adamUpdate(layers[l].weights, adam[l].gW, adam[l].mW, adam[l].vW, lr, beta1, beta2);
        adamUpdate(layers[l].bias, adam[l].gB, adam[l].mB, adam[l].vB, lr, beta1, beta2);
      }
    }
    lossHistory.push(lossSum / (rows * width));
    onEpoch?.(epoch + 1, p.epochs, lossHistory[lossHistory.length - 1]);
  }
  return { layers, width, params: p, lossHistory };
}

function forwardLayer(L: DenseLayer, x: Float32Array, y: Float32Array, n: number) {
  const { inputs, outputs, weights, bias } = L;
  denseForward(inputs, outputs, weights, bias, x, y, n);
  if (L.relu) { for (let j = 0; j < n * outputs; j++) if (y[j] < 0) y[j] = 0; }
}

function backwardLayer(
  L: DenseLayer,
  x: Float32Array,
  y: Float32Array,
  dy: Float32Array,
  dx: Float32Array,
  g: { gW: Float32Array; gB: Float32Array },
  n: number,
  needInputDelta: boolean,
) {
  const { inputs, outputs, weights } = L;
  g.gW.fill(0);
  g.gB.fill(0);
  // ReLU's gradient: no delta through units that were off.
  if (L.relu) { for (let j = 0; j < n * outputs; j++) if (y[j] <= 0) dy[j] = 0; }
  denseBackward(inputs, outputs, weights, x, dy, n, g.gW, g.gB, needInputDelta ? dx : undefined);
}

function adamUpdate(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  lr: number,
  beta1: number,
  beta2: number,
) {
  for (let i = 0; i < w.length; i++) {
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    w[i] -= (lr * m[i]) / (Math.sqrt(v[i]) + 1e-8);
  }
}

/** Mean squared reconstruction error per scaled row (and per feature, when `featureErrors` is given). */
export function reconstructionErrors(
  ae: Autoencoder,
  z: Float32Array,
  rows: number,
  featureErrors?: Float32Array,
): Float32Array {
  const out = new Float32Array(rows);
  const B = 1024;
  const sizes = [ae.width, ...ae.layers.map((L) => L.outputs)];
  const acts = sizes.map((s) => new Float32Array(B * s));
  for (let start = 0; start < rows; start += B) {
    const n = Math.min(B, rows - start);
    acts[0].set(z.subarray(start * ae.width, (start + n) * ae.width));
    for (let l = 0; l < ae.layers.length; l++) forwardLayer(ae.layers[l], acts[l], acts[l + 1], n);
    const rec = acts[acts.length - 1];
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let c = 0; c < ae.width; c++) {
        const d = rec[i * ae.width + c] - acts[0][i * ae.width + c];
        sum += d * d;
        if (featureErrors) featureErrors[(start + i) * ae.width + c] = d * d;
      }
      out[start + i] = sum / ae.width;
    }
  }
  return out;
}
