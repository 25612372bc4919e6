/**
 * The dense layer's two loops, shared by the anomaly autoencoder
 * (`anomaly/autoencoder.ts`) and the deep families (`deep/layers.ts`):
 * `y = x W + b` over a batch, W row-major `[inputs, outputs]` (the ONNX
 * MatMul layout), and its backward pass. Activations stay with the callers.
 */

/** `y[i] = x[i] W + b` for `n` rows (zero inputs skipped: scaled rows are sparse). */
export function denseForward(
  inputs: number,
  outputs: number,
  weights: Float32Array,
  bias: Float32Array,
  x: Float32Array,
  y: Float32Array,
  n: number,
): void {
  for (let i = 0; i < n; i++) {
    const yo = i * outputs;
    for (let o = 0; o < outputs; o++) y[yo + o] = bias[o];
    const xo = i * inputs;
    for (let k = 0; k < inputs; k++) {
      const xv = x[xo + k];
      if (xv === 0) continue;
      const wo = k * outputs;
      for (let o = 0; o < outputs; o++) y[yo + o] += xv * weights[wo + o];
    }
  }
}

/**
 * Adds the gradients of `n` rows with output deltas `dy` to `gradWeights` and
 * `gradBias`; writes the input deltas into `dx` when given.
 */
export function denseBackward(
  inputs: number,
  outputs: number,
  weights: Float32Array,
  x: Float32Array,
  dy: Float32Array,
  n: number,
  gradWeights: Float32Array,
  gradBias: Float32Array,
  dx?: Float32Array,
): void {
  for (let i = 0; i < n; i++) {
    const yo = i * outputs;
    for (let o = 0; o < outputs; o++) gradBias[o] += dy[yo + o];
    const xo = i * inputs;
    for (let k = 0; k < inputs; k++) {
      const xv = x[xo + k];
      const wo = k * outputs;
      let sum = 0;
      for (let o = 0; o < outputs; o++) {
        gradWeights[wo + o] += xv * dy[yo + o];
        sum += weights[wo + o] * dy[yo + o];
      }
      if (dx) dx[xo + k] = sum;
    }
  }
}
