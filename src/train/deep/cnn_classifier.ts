/**
 * The concatenated CNN classifier of the user's prototype, small: the scaled
 * row padded into a `side x side` image; block 1 a 3x3 convolution (ReLU);
 * block 2 another 3x3 convolution (ReLU) with a skip connection adding block
 * 1's output; the flattened outputs of both levels concatenated; a dense
 * hidden layer (ReLU) and a softmax over the classes. Trained with softmax
 * cross-entropy and Adam; exported as Conv / Add / Flatten / Concat / MatMul /
 * Softmax with the scaling in the graph.
 */
import { fitRobustScaling } from "../anomaly/mod.ts";
import { OnnxGraphBuilder, type ScalingParameters } from "../onnx/mod.ts";
import { Random } from "../random.ts";
import {
  Adam,
  Conv2d,
  Dense,
  forEachBatch,
  imageSide,
  reluBackward,
  reluForward,
  rowToImage,
} from "./layers.ts";
import { addDense, addPadColumns, addPreparedInput, prepareRows } from "./input.ts";

export interface CnnClassifierParams {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Channels of both convolution blocks. */
  channels: number;
  /** Width of the dense layer after the concatenation. */
  hidden: number;
  seed: number;
}

export const DEFAULT_CNN_PARAMS: CnnClassifierParams = {
  epochs: 6,
  batchSize: 64,
  learningRate: 2e-3,
  channels: 4,
  hidden: 32,
  seed: 1,
};

export interface CnnClassifier {
  kind: "cnn";
  nClasses: number;
  width: number;
  side: number;
  scaling: ScalingParameters;
  conv1: Conv2d;
  conv2: Conv2d;
  dense1: Dense;
  dense2: Dense;
  params: CnnClassifierParams;
  lossHistory: number[];
}

/** Output name of the exported graph (`[N, classes]` probabilities). */
export const CNN_PROBABILITIES = "probabilities";

/** Trains on raw rows `x` with labels `y`; `onEpoch(done, total)` reports progress. */
export function trainCnnClassifier(
  x: Float32Array,
  y: Int32Array,
  rows: number,
  width: number,
  nClasses: number,
  params: Partial<CnnClassifierParams> = {},
  onEpoch?: (done: number, total: number) => void,
): CnnClassifier {
  const p = { ...DEFAULT_CNN_PARAMS, ...params };
  const rng = new Random(p.seed);
  const scaling = fitRobustScaling(x, rows, width);
  const z = prepareRows(scaling, x, rows);
  const side = imageSide(width);
  const C = p.channels;
  const model: CnnClassifier = {
    kind: "cnn",
    nClasses,
    width,
    side,
    scaling,
    conv1: new Conv2d(1, C, side, 3, rng, true),
    conv2: new Conv2d(C, C, side, 3, rng, true),
    dense1: new Dense(2 * C * side * side, p.hidden, rng, true),
    dense2: new Dense(p.hidden, nClasses, rng, false),
    params: p,
    lossHistory: [],
  };
  const adam = new Adam(
    [model.conv1, model.conv2, model.dense1, model.dense2].flatMap((l) => l.params()),
    p.learningRate,
  );
  const buffers = new CnnBuffers(model, p.batchSize);
  const dLogits = new Float32Array(p.batchSize * nClasses);
  const dHidden = new Float32Array(p.batchSize * p.hidden);
  const dFeatures = new Float32Array(p.batchSize * model.dense1.inputs);
  const dA1 = new Float32Array(p.batchSize * model.conv1.outSize);
  const dA2 = new Float32Array(p.batchSize * model.conv2.outSize);
  const dA1Conv = new Float32Array(p.batchSize * model.conv1.outSize);
  const levelSize = model.conv1.outSize;
  for (let epoch = 0; epoch < p.epochs; epoch++) {
    let lossSum = 0;
    forEachBatch(rows, p.batchSize, rng, (indices, n) => {
      for (let i = 0; i < n; i++) rowToImage(z, indices[i], width, buffers.image, i, side);
      forwardCnn(model, buffers, n);
      const prob = buffers.probabilities;
      for (let i = 0; i < n; i++) {
        const label = y[indices[i]];
        lossSum -= Math.log(Math.max(prob[i * nClasses + label], 1e-12));
        for (let k = 0; k < nClasses; k++) {
          dLogits[i * nClasses + k] = (prob[i * nClasses + k] - (k === label ? 1 : 0)) / n;
        }
      }
      adam.zeroGrad();
      model.dense2.backward(buffers.hidden, dLogits, n, dHidden);
      reluBackward(buffers.hidden, dHidden, n * p.hidden);
      model.dense1.backward(buffers.features, dHidden, n, dFeatures);
      // features = [a1, a1 + a2]: a1 gets both halves, a2 the second.
      for (let i = 0; i < n; i++) {
        const f = i * 2 * levelSize;
        for (let j = 0; j < levelSize; j++) {
          const ds = dFeatures[f + levelSize + j];
          dA2[i * levelSize + j] = ds;
          dA1[i * levelSize + j] = dFeatures[f + j] + ds;
        }
      }
      reluBackward(buffers.a2, dA2, n * levelSize);
      model.conv2.backward(buffers.a1, dA2, n, dA1Conv);
      for (let j = 0; j < n * levelSize; j++) dA1[j] += dA1Conv[j];
      reluBackward(buffers.a1, dA1, n * levelSize);
      model.conv1.backward(buffers.image, dA1, n);
      adam.step();
    });
    model.lossHistory.push(lossSum / rows);
    onEpoch?.(epoch + 1, p.epochs);
  }
  return model;
}

class CnnBuffers {
  image: Float32Array;
  a1: Float32Array;
  a2: Float32Array;
  features: Float32Array;
  hidden: Float32Array;
  probabilities: Float32Array;
  constructor(m: CnnClassifier, batch: number) {
    this.image = new Float32Array(batch * m.side * m.side);
    this.a1 = new Float32Array(batch * m.conv1.outSize);
    this.a2 = new Float32Array(batch * m.conv2.outSize);
    this.features = new Float32Array(batch * m.dense1.inputs);
    this.hidden = new Float32Array(batch * m.dense1.outputs);
    this.probabilities = new Float32Array(batch * m.nClasses);
  }
}

function forwardCnn(m: CnnClassifier, b: CnnBuffers, n: number) {
  const level = m.conv1.outSize;
  m.conv1.forward(b.image, b.a1, n);
  reluForward(b.a1, n * level);
  m.conv2.forward(b.a1, b.a2, n);
  reluForward(b.a2, n * level);
  for (let i = 0; i < n; i++) {
    const f = i * 2 * level;
    b.features.set(b.a1.subarray(i * level, (i + 1) * level), f);
    for (let j = 0; j < level; j++) {
      b.features[f + level + j] = b.a1[i * level + j] + b.a2[i * level + j];
    }
  }
  m.dense1.forward(b.features, b.hidden, n);
  reluForward(b.hidden, n * m.dense1.outputs);
  m.dense2.forward(b.hidden, b.probabilities, n);
  const K = m.nClasses;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, b.probabilities[i * K + k]);
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(b.probabilities[i * K + k] - max);
      b.probabilities[i * K + k] = e;
      sum += e;
    }
    for (let k = 0; k < K; k++) b.probabilities[i * K + k] /= sum;
  }
}

/** Class probabilities of raw rows, row-major `[rows, classes]`. */
export function predictCnn(m: CnnClassifier, x: Float32Array, rows: number): Float32Array {
  const z = prepareRows(m.scaling, x, rows);
  const batch = 256;
  const b = new CnnBuffers(m, batch);
  const out = new Float32Array(rows * m.nClasses);
  for (let start = 0; start < rows; start += batch) {
    const n = Math.min(batch, rows - start);
    for (let i = 0; i < n; i++) rowToImage(z, start + i, m.width, b.image, i, m.side);
    forwardCnn(m, b, n);
    out.set(b.probabilities.subarray(0, n * m.nClasses), start * m.nClasses);
  }
  return out;
}

/** The ONNX graph: raw `[N, width]` rows in, `probabilities` `[N, classes]` out. */
export function cnnClassifierToOnnx(m: CnnClassifier): Uint8Array {
  const g = new OnnxGraphBuilder("ids_cnn_classifier");
  const z = addPreparedInput(g, m.scaling);
  const padded = addPadColumns(g, z, m.width, m.side * m.side, "image");
  g.addInt64Initializer("image_shape", [-1, 1, m.side, m.side], [4]);
  const [image] = g.addNode("Reshape", [padded, "image_shape"]);
  const conv = (input: string, layer: Conv2d, name: string) => {
    g.addFloatInitializer(`${name}_w`, layer.weight.w, [
      layer.outChannels,
      layer.inChannels,
      layer.kernel,
      layer.kernel,
    ]);
    g.addFloatInitializer(`${name}_b`, layer.bias.w, [layer.outChannels]);
    const pad = (layer.kernel - 1) >> 1;
    const [c] = g.addNode("Conv", [input, `${name}_w`, `${name}_b`], {
      attributes: {
        kernel_shape: { ints: [layer.kernel, layer.kernel] },
        pads: { ints: [pad, pad, pad, pad] },
      },
    });
    return g.addNode("Relu", [c])[0];
  };
  const a1 = conv(image, m.conv1, "conv1");
  const a2 = conv(a1, m.conv2, "conv2");
  const [skip] = g.addNode("Add", [a1, a2]);
  const [flat1] = g.addNode("Flatten", [a1], { attributes: { axis: 1 } });
  const [flat2] = g.addNode("Flatten", [skip], { attributes: { axis: 1 } });
  const [features] = g.addNode("Concat", [flat1, flat2], { attributes: { axis: 1 } });
  const hidden = addDense(
    g,
    features,
    "dense1",
    m.dense1.weight.w,
    m.dense1.bias.w,
    m.dense1.inputs,
    true,
  );
  const logits = addDense(
    g,
    hidden,
    "dense2",
    m.dense2.weight.w,
    m.dense2.bias.w,
    m.dense1.outputs,
    false,
  );
  g.addNode("Softmax", [logits], { outputs: [CNN_PROBABILITIES], attributes: { axis: 1 } });
  g.addOutput(CNN_PROBABILITIES, "float32", ["N", m.nClasses]);
  return g.build({ family: "cnn" });
}
