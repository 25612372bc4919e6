/**
 * Three autoencoders trained on benign rows only; each row's score is its
 * mean squared reconstruction error over the scaled, clipped features:
 *
 * - `dense-ae`: the project's dense autoencoder (../anomaly/autoencoder.ts),
 *   here a member of its own.
 * - `cnn-ae`: the row padded into an even `side x side` image; 3x3 conv
 *   (ReLU), 2x2 average pool, 3x3 conv to a narrow bottleneck (ReLU),
 *   nearest 2x upsampling, 3x3 conv back to one channel.
 * - `lstm-ae`: the row cut into `steps` consecutive slices of `stepWidth`
 *   features (a flow row has no time axis; the sequence-level feature set of
 *   the packet path is where windows of packets come from); an LSTM encoder's
 *   last hidden state, then a dense decoder (ReLU, linear) back to the row.
 *
 * Each exports as one ONNX graph on raw rows with a `score` output `[N]`.
 */
import { fitRobustScaling } from "../anomaly/mod.ts";
import { type Autoencoder, reconstructionErrors, trainAutoencoder } from "../anomaly/mod.ts";
import { OnnxGraphBuilder, type ScalingParameters } from "../onnx/mod.ts";
import { Random } from "../random.ts";
import { Adam, Conv2d, Dense, forEachBatch, Param, reluBackward, reluForward } from "./layers.ts";
import {
  addDense,
  addMeanSquaredError,
  addPadColumns,
  addPreparedInput,
  prepareRows,
} from "./input.ts";

/** Output name of every autoencoder graph. */
export const AE_SCORE = "score";

export interface AeParams {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Widest hidden size (dense: first layer; cnn: channels; lstm: hidden state). */
  hidden: number;
  seed: number;
}

export const DEFAULT_AE_PARAMS: AeParams = {
  epochs: 6,
  batchSize: 64,
  learningRate: 2e-3,
  hidden: 16,
  seed: 1,
};

type OnEpoch = (done: number, total: number) => void;

/** A trained autoencoder of any family: scores raw rows, exports to ONNX. */
export interface AeModel {
  family: "dense-ae" | "cnn-ae" | "lstm-ae";
  width: number;
  scaling: ScalingParameters;
  params: AeParams;
  lossHistory: number[];
  /** Mean squared reconstruction error of raw rows. */
  score(x: Float32Array, rows: number): Float32Array;
  toOnnx(): Uint8Array;
}

// ---------------------------------------------------------------- dense

/** The dense autoencoder as a member. */
export function trainDenseAe(
  x: Float32Array,
  rows: number,
  width: number,
  params: Partial<AeParams> = {},
  onEpoch?: OnEpoch,
): AeModel {
  const p = { ...DEFAULT_AE_PARAMS, ...params };
  const scaling = fitRobustScaling(x, rows, width);
  const z = prepareRows(scaling, x, rows);
  const ae: Autoencoder = trainAutoencoder(z, rows, width, new Random(p.seed), {
    epochs: p.epochs,
    batchSize: p.batchSize,
    learningRate: p.learningRate,
    hidden: Math.max(p.hidden, 8) * 2,
    code: Math.max(3, Math.round(p.hidden / 2)),
  }, onEpoch);
  return {
    family: "dense-ae",
    width,
    scaling,
    params: p,
    lossHistory: ae.lossHistory,
    score: (xr, n) => reconstructionErrors(ae, prepareRows(scaling, xr, n), n),
    toOnnx() {
      const g = new OnnxGraphBuilder("ids_dense_ae");
      const input = addPreparedInput(g, scaling);
      let t = input;
      ae.layers.forEach((L, i) => {
        t = addDense(g, t, `dense${i}`, L.weights, L.bias, L.inputs, L.relu);
      });
      addMeanSquaredError(g, t, input, AE_SCORE);
      return g.build({ family: "dense-ae" });
    },
  };
}

// ---------------------------------------------------------------- cnn

/** Even side of the image (pooling halves it). */
function evenSide(width: number): number {
  const s = Math.ceil(Math.sqrt(width));
  return s % 2 === 0 ? s : s + 1;
}

/** 2x2 average pool of `[C, S, S]` rows into `[C, S/2, S/2]`. */
function avgPool(x: Float32Array, y: Float32Array, n: number, C: number, S: number) {
  const H = S >> 1;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < C; c++) {
      const xb = (r * C + c) * S * S;
      const yb = (r * C + c) * H * H;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          const a = xb + 2 * i * S + 2 * j;
          y[yb + i * H + j] = (x[a] + x[a + 1] + x[a + S] + x[a + S + 1]) * 0.25;
        }
      }
    }
  }
}

function avgPoolBackward(dy: Float32Array, dx: Float32Array, n: number, C: number, S: number) {
  const H = S >> 1;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < C; c++) {
      const xb = (r * C + c) * S * S;
      const yb = (r * C + c) * H * H;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < H; j++) {
          const g = dy[yb + i * H + j] * 0.25;
          const a = xb + 2 * i * S + 2 * j;
          dx[a] = g;
          dx[a + 1] = g;
          dx[a + S] = g;
          dx[a + S + 1] = g;
        }
      }
    }
  }
}

/** Nearest 2x upsampling of `[C, H, H]` rows into `[C, 2H, 2H]`. */
function upsample(x: Float32Array, y: Float32Array, n: number, C: number, H: number) {
  const S = H * 2;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < C; c++) {
      const xb = (r * C + c) * H * H;
      const yb = (r * C + c) * S * S;
      for (let i = 0; i < S; i++) {
        for (let j = 0; j < S; j++) y[yb + i * S + j] = x[xb + (i >> 1) * H + (j >> 1)];
      }
    }
  }
}

function upsampleBackward(dy: Float32Array, dx: Float32Array, n: number, C: number, H: number) {
  const S = H * 2;
  dx.fill(0, 0, n * C * H * H);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < C; c++) {
      const xb = (r * C + c) * H * H;
      const yb = (r * C + c) * S * S;
      for (let i = 0; i < S; i++) {
        for (let j = 0; j < S; j++) dx[xb + (i >> 1) * H + (j >> 1)] += dy[yb + i * S + j];
      }
    }
  }
}

/** Bottleneck channels of the CNN autoencoder. */
const CNN_AE_BOTTLENECK = 2;

/** The convolutional autoencoder. */
export function trainCnnAe(
  x: Float32Array,
  rows: number,
  width: number,
  params: Partial<AeParams> = {},
  onEpoch?: OnEpoch,
): AeModel {
  const p = { ...DEFAULT_AE_PARAMS, ...params };
  const rng = new Random(p.seed);
  const scaling = fitRobustScaling(x, rows, width);
  const z = prepareRows(scaling, x, rows);
  const S = evenSide(width);
  const H = S >> 1;
  const C = Math.max(2, Math.round(p.hidden / 4));
  const Cb = CNN_AE_BOTTLENECK;
  const conv1 = new Conv2d(1, C, S, 3, rng, true);
  const conv2 = new Conv2d(C, Cb, H, 3, rng, true);
  const conv3 = new Conv2d(Cb, 1, S, 3, rng, false);
  const layers = [conv1, conv2, conv3];
  const adam = new Adam(layers.flatMap((l) => l.params()), p.learningRate);
  const alloc = (batch: number) => ({
    img: new Float32Array(batch * S * S),
    a1: new Float32Array(batch * C * S * S),
    pooled: new Float32Array(batch * C * H * H),
    b: new Float32Array(batch * Cb * H * H),
    up: new Float32Array(batch * Cb * S * S),
    out: new Float32Array(batch * S * S),
  });
  type Buffers = ReturnType<typeof alloc>;
  const forward = (buf: Buffers, src: Float32Array, indices: ArrayLike<number>, n: number) => {
    buf.img.fill(0, 0, n * S * S);
    for (let i = 0; i < n; i++) {
      buf.img.set(src.subarray(indices[i] * width, (indices[i] + 1) * width), i * S * S);
    }
    conv1.forward(buf.img, buf.a1, n);
    reluForward(buf.a1, n * C * S * S);
    avgPool(buf.a1, buf.pooled, n, C, S);
    conv2.forward(buf.pooled, buf.b, n);
    reluForward(buf.b, n * Cb * H * H);
    upsample(buf.b, buf.up, n, Cb, H);
    conv3.forward(buf.up, buf.out, n);
  };
  const B = p.batchSize;
  const buf = alloc(B);
  const dOut = new Float32Array(B * S * S);
  const dUp = new Float32Array(B * Cb * S * S);
  const dB = new Float32Array(B * Cb * H * H);
  const dPooled = new Float32Array(B * C * H * H);
  const dA1 = new Float32Array(B * C * S * S);
  const lossHistory: number[] = [];
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    let lossSum = 0;
    forEachBatch(rows, B, rng, (indices, n) => {
      forward(buf, z, indices, n);
      dOut.fill(0);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < width; c++) {
          const d = buf.out[i * S * S + c] - buf.img[i * S * S + c];
          lossSum += d * d / width;
          dOut[i * S * S + c] = 2 * d / (n * width);
        }
      }
      adam.zeroGrad();
      conv3.backward(buf.up, dOut, n, dUp);
      upsampleBackward(dUp, dB, n, Cb, H);
      reluBackward(buf.b, dB, n * Cb * H * H);
      conv2.backward(buf.pooled, dB, n, dPooled);
      avgPoolBackward(dPooled, dA1, n, C, S);
      reluBackward(buf.a1, dA1, n * C * S * S);
      conv1.backward(buf.img, dA1, n);
      adam.step();
    });
    lossHistory.push(lossSum / rows);
    onEpoch?.(epoch + 1, p.epochs);
  }
  return {
    family: "cnn-ae",
    width,
    scaling,
    params: p,
    lossHistory,
    score(xr, n) {
      const zr = prepareRows(scaling, xr, n);
      const batch = 256;
      const b = alloc(batch);
      const out = new Float32Array(n);
      for (let start = 0; start < n; start += batch) {
        const m = Math.min(batch, n - start);
        const idx = Uint32Array.from({ length: m }, (_, i) => start + i);
        forward(b, zr, idx, m);
        for (let i = 0; i < m; i++) {
          let sum = 0;
          for (let c = 0; c < width; c++) {
            const d = Math.fround(b.out[i * S * S + c] - b.img[i * S * S + c]);
            sum += d * d;
          }
          out[start + i] = sum / width;
        }
      }
      return out;
    },
    toOnnx() {
      const g = new OnnxGraphBuilder("ids_cnn_ae");
      const input = addPreparedInput(g, scaling);
      const padded = addPadColumns(g, input, width, S * S, "image");
      g.addInt64Initializer("image_shape", [-1, 1, S, S], [4]);
      const [image] = g.addNode("Reshape", [padded, "image_shape"]);
      const conv = (t: string, layer: Conv2d, name: string, relu: boolean) => {
        g.addFloatInitializer(`${name}_w`, layer.weight.w, [
          layer.outChannels,
          layer.inChannels,
          3,
          3,
        ]);
        g.addFloatInitializer(`${name}_b`, layer.bias.w, [layer.outChannels]);
        const [c] = g.addNode("Conv", [t, `${name}_w`, `${name}_b`], {
          attributes: { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } },
        });
        return relu ? g.addNode("Relu", [c])[0] : c;
      };
      const a1 = conv(image, conv1, "conv1", true);
      const [pooled] = g.addNode("AveragePool", [a1], {
        attributes: { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } },
      });
      const b = conv(pooled, conv2, "conv2", true);
      g.addFloatInitializer("up_scales", [1, 1, 2, 2], [4]);
      const [up] = g.addNode("Resize", [b, "", "up_scales"], {
        attributes: {
          mode: "nearest",
          coordinate_transformation_mode: "asymmetric",
          nearest_mode: "floor",
        },
      });
      const out = conv(up, conv3, "conv3", false);
      g.addInt64Initializer("flat_shape", [-1, S * S], [2]);
      const [flat] = g.addNode("Reshape", [out, "flat_shape"]);
      g.addInt64Initializer("slice_starts", [0], [1]);
      g.addInt64Initializer("slice_ends", [width], [1]);
      g.addInt64Initializer("slice_axes", [1], [1]);
      const [rec] = g.addNode("Slice", [flat, "slice_starts", "slice_ends", "slice_axes"]);
      addMeanSquaredError(g, rec, input, AE_SCORE);
      return g.build({ family: "cnn-ae" });
    },
  };
}

// ---------------------------------------------------------------- lstm

/** Features per LSTM time step. */
const LSTM_STEP_WIDTH = 8;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * LSTM autoencoder. Gate order i, o, f, c as ONNX's LSTM operator; W is
 * `[4H, F]`, R `[4H, H]`, one bias `[4H]` (ONNX's recurrence bias is zero).
 */
export function trainLstmAe(
  x: Float32Array,
  rows: number,
  width: number,
  params: Partial<AeParams> = {},
  onEpoch?: OnEpoch,
): AeModel {
  const p = { ...DEFAULT_AE_PARAMS, ...params };
  const rng = new Random(p.seed);
  const scaling = fitRobustScaling(x, rows, width);
  const z = prepareRows(scaling, x, rows);
  const F = LSTM_STEP_WIDTH;
  const T = Math.ceil(width / F);
  const Hd = p.hidden;
  const G = 4 * Hd;
  const W = Param.init(G * F, F, rng, false);
  const R = Param.init(G * Hd, Hd, rng, false);
  const bias = Param.zeros(G);
  // Forget-gate bias 1: the usual start that lets memory flow early in training.
  for (let j = 0; j < Hd; j++) bias.w[2 * Hd + j] = 1;
  const dec1 = new Dense(Hd, Math.max(32, Hd * 2), rng, true);
  const dec2 = new Dense(dec1.outputs, width, rng, false);
  const adam = new Adam([W, R, bias, ...dec1.params(), ...dec2.params()], p.learningRate);

  // Per-row state through time: gates (after activation), cell, hidden; t = 0 is the zero state.
  const gates = new Float32Array(T * G);
  const cells = new Float32Array((T + 1) * Hd);
  const hiddens = new Float32Array((T + 1) * Hd);
  const step = new Float32Array(F);
  const encode = (src: Float32Array, row: number) => {
    cells.fill(0, 0, Hd);
    hiddens.fill(0, 0, Hd);
    for (let t = 0; t < T; t++) {
      step.fill(0);
      const from = row * width + t * F;
      const count = Math.min(F, width - t * F);
      for (let k = 0; k < count; k++) step[k] = src[from + k];
      const hPrev = t * Hd;
      for (let gi = 0; gi < G; gi++) {
        let s = bias.w[gi];
        for (let k = 0; k < F; k++) s += W.w[gi * F + k] * step[k];
        for (let k = 0; k < Hd; k++) s += R.w[gi * Hd + k] * hiddens[hPrev + k];
        gates[t * G + gi] = gi >= 3 * Hd ? Math.tanh(s) : sigmoid(s);
      }
      for (let j = 0; j < Hd; j++) {
        const i = gates[t * G + j];
        const o = gates[t * G + Hd + j];
        const f = gates[t * G + 2 * Hd + j];
        const c = gates[t * G + 3 * Hd + j];
        const cell = f * cells[t * Hd + j] + i * c;
        cells[(t + 1) * Hd + j] = cell;
        hiddens[(t + 1) * Hd + j] = o * Math.tanh(cell);
      }
    }
    return hiddens.subarray(T * Hd, (T + 1) * Hd);
  };
  const dh = new Float32Array(Hd);
  const dc = new Float32Array(Hd);
  const dz = new Float32Array(G);
  const backwardEncoder = (src: Float32Array, row: number, dLast: Float32Array) => {
    dh.set(dLast);
    dc.fill(0);
    for (let t = T - 1; t >= 0; t--) {
      for (let j = 0; j < Hd; j++) {
        const i = gates[t * G + j];
        const o = gates[t * G + Hd + j];
        const f = gates[t * G + 2 * Hd + j];
        const c = gates[t * G + 3 * Hd + j];
        const tc = Math.tanh(cells[(t + 1) * Hd + j]);
        const dcell = dc[j] + dh[j] * o * (1 - tc * tc);
        dz[j] = dcell * c * i * (1 - i);
        dz[Hd + j] = dh[j] * tc * o * (1 - o);
        dz[2 * Hd + j] = dcell * cells[t * Hd + j] * f * (1 - f);
        dz[3 * Hd + j] = dcell * i * (1 - c * c);
        dc[j] = dcell * f;
      }
      const from = row * width + t * F;
      const count = Math.min(F, width - t * F);
      dh.fill(0);
      for (let gi = 0; gi < G; gi++) {
        const d = dz[gi];
        bias.g[gi] += d;
        for (let k = 0; k < count; k++) W.g[gi * F + k] += d * src[from + k];
        for (let k = 0; k < Hd; k++) {
          R.g[gi * Hd + k] += d * hiddens[t * Hd + k];
          dh[k] += R.w[gi * Hd + k] * d;
        }
      }
    }
  };
  const B = p.batchSize;
  const codes = new Float32Array(B * Hd);
  const h1 = new Float32Array(B * dec1.outputs);
  const rec = new Float32Array(B * width);
  const dRec = new Float32Array(B * width);
  const dH1 = new Float32Array(B * dec1.outputs);
  const dCodes = new Float32Array(B * Hd);
  const lossHistory: number[] = [];
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    let lossSum = 0;
    forEachBatch(rows, B, rng, (indices, n) => {
      adam.zeroGrad();
      for (let i = 0; i < n; i++) codes.set(encode(z, indices[i]), i * Hd);
      dec1.forward(codes, h1, n);
      reluForward(h1, n * dec1.outputs);
      dec2.forward(h1, rec, n);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < width; c++) {
          const d = rec[i * width + c] - z[indices[i] * width + c];
          lossSum += d * d / width;
          dRec[i * width + c] = 2 * d / (n * width);
        }
      }
      dec2.backward(h1, dRec, n, dH1);
      reluBackward(h1, dH1, n * dec1.outputs);
      dec1.backward(codes, dH1, n, dCodes);
      // Re-run each row's encoder to restore its states, then back-propagate through time.
      for (let i = 0; i < n; i++) {
        encode(z, indices[i]);
        backwardEncoder(z, indices[i], dCodes.subarray(i * Hd, (i + 1) * Hd));
      }
      adam.step();
    });
    lossHistory.push(lossSum / rows);
    onEpoch?.(epoch + 1, p.epochs);
  }
  return {
    family: "lstm-ae",
    width,
    scaling,
    params: p,
    lossHistory,
    score(xr, n) {
      const zr = prepareRows(scaling, xr, n);
      const out = new Float32Array(n);
      const code = new Float32Array(Hd);
      const hid = new Float32Array(dec1.outputs);
      const r = new Float32Array(width);
      for (let row = 0; row < n; row++) {
        code.set(encode(zr, row));
        dec1.forward(code, hid, 1);
        reluForward(hid, dec1.outputs);
        dec2.forward(hid, r, 1);
        let sum = 0;
        for (let c = 0; c < width; c++) {
          const d = Math.fround(r[c] - zr[row * width + c]);
          sum += d * d;
        }
        out[row] = sum / width;
      }
      return out;
    },
    toOnnx() {
      const g = new OnnxGraphBuilder("ids_lstm_ae");
      const input = addPreparedInput(g, scaling);
      const padded = addPadColumns(g, input, width, T * F, "seq");
      g.addInt64Initializer("seq_shape", [-1, T, F], [3]);
      const [batchMajor] = g.addNode("Reshape", [padded, "seq_shape"]);
      const [seq] = g.addNode("Transpose", [batchMajor], {
        attributes: { perm: { ints: [1, 0, 2] } },
      });
      g.addFloatInitializer("lstm_w", W.w, [1, G, F]);
      g.addFloatInitializer("lstm_r", R.w, [1, G, Hd]);
      g.addFloatInitializer("lstm_b", Float32Array.from([...bias.w, ...new Float32Array(G)]), [
        1,
        2 * G,
      ]);
      const [, last] = g.addNode("LSTM", [seq, "lstm_w", "lstm_r", "lstm_b"], {
        outputs: ["lstm_y", "lstm_y_h"],
        attributes: { hidden_size: Hd },
      });
      g.addInt64Initializer("code_shape", [-1, Hd], [2]);
      const [code] = g.addNode("Reshape", [last, "code_shape"]);
      const h = addDense(g, code, "dec1", dec1.weight.w, dec1.bias.w, Hd, true);
      const r = addDense(g, h, "dec2", dec2.weight.w, dec2.bias.w, dec1.outputs, false);
      addMeanSquaredError(g, r, input, AE_SCORE);
      return g.build({ family: "lstm-ae" });
    },
  };
}
