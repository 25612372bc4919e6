/**
 * Small ONNX models built with the project's ONNX writer, and in-memory
 * bundles around them, for the inference and alert tests.
 */
import { type LoadedBundle, parseBundleJson } from "../../src/inference/bundle.ts";
import {
  addTreeEnsembleClassifier,
  type FlatTree,
  OnnxGraphBuilder,
} from "../../src/train/onnx/mod.ts";

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weights(rand: () => number, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

/** Softmax MLP: input `input` [N, width] -> `probabilities` [N, classes]. */
export function mlpClassifier(
  width: number,
  hidden: number,
  classes: number,
  seed = 1,
): Uint8Array {
  const rand = random(seed);
  const g = new OnnxGraphBuilder("mlp");
  g.addInput("input", "float32", ["N", width]);
  g.addFloatInitializer("w1", weights(rand, width * hidden, 0.5), [width, hidden]);
  g.addFloatInitializer("b1", weights(rand, hidden, 0.1), [hidden]);
  g.addFloatInitializer("w2", weights(rand, hidden * classes, 0.5), [hidden, classes]);
  g.addFloatInitializer("b2", weights(rand, classes, 0.1), [classes]);
  const [h] = g.addNode("MatMul", ["input", "w1"]);
  const [hb] = g.addNode("Add", [h, "b1"]);
  const [r] = g.addNode("Relu", [hb]);
  const [o] = g.addNode("MatMul", [r, "w2"]);
  const [ob] = g.addNode("Add", [o, "b2"]);
  g.addNode("Softmax", [ob], { outputs: ["probabilities"], attributes: { axis: 1 } });
  g.addOutput("probabilities", "float32", ["N", classes]);
  return g.build();
}

/** Random full tree of `depth` levels whose leaves hold class distributions. */
function randomTree(rand: () => number, width: number, classes: number, depth: number): FlatTree {
  const nodes = (1 << (depth + 1)) - 1;
  const feature = new Int32Array(nodes);
  const threshold = new Float32Array(nodes);
  const left = new Int32Array(nodes);
  const right = new Int32Array(nodes);
  const value = new Float32Array(nodes * classes);
  for (let i = 0; i < nodes; i++) {
    const isLeaf = 2 * i + 1 >= nodes;
    if (isLeaf) {
      feature[i] = -1;
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += value[i * classes + k] = rand() + 0.01;
      for (let k = 0; k < classes; k++) value[i * classes + k] /= sum;
    } else {
      feature[i] = Math.floor(rand() * width);
      threshold[i] = rand() * 2 - 1;
      left[i] = 2 * i + 1;
      right[i] = 2 * i + 2;
    }
  }
  return { feature, threshold, left, right, value, valueWidth: classes };
}

/**
 * Random forest in the skl2onnx layout: `label` int64 [N] then
 * `probabilities` [N, classes] (leaf distributions averaged by 1/trees weights).
 */
export function treeClassifier(
  width: number,
  classes: number,
  trees: number,
  depth: number,
  seed = 2,
): Uint8Array {
  const rand = random(seed);
  const forest = Array.from({ length: trees }, () => {
    const t = randomTree(rand, width, classes, depth);
    for (let i = 0; i < t.value.length; i++) t.value[i] /= trees;
    return t;
  });
  const g = new OnnxGraphBuilder("forest");
  g.addInput("input", "float32", ["N", width]);
  addTreeEnsembleClassifier(g, "input", forest, {
    nClasses: classes,
    labelOutput: "label",
    probabilitiesOutput: "probabilities",
  });
  g.addOutput("label", "int64", ["N"]);
  g.addOutput("probabilities", "float32", ["N", classes]);
  return g.build();
}

/**
 * Linear autoencoder with outputs `score` [N] (mean squared error) and
 * `feature_errors` [N, width], or only `reconstruction` [N, width] when
 * `reconstructionOnly` (the worker then computes the errors).
 */
export function autoencoder(width: number, hidden: number, seed = 3, reconstructionOnly = false) {
  const rand = random(seed);
  const g = new OnnxGraphBuilder("autoencoder");
  g.addInput("input", "float32", ["N", width]);
  g.addFloatInitializer("enc", weights(rand, width * hidden, 0.5), [width, hidden]);
  g.addFloatInitializer("dec", weights(rand, hidden * width, 0.5), [hidden, width]);
  const [z] = g.addNode("MatMul", ["input", "enc"]);
  if (reconstructionOnly) {
    g.addNode("MatMul", [z, "dec"], { outputs: ["reconstruction"] });
    g.addOutput("reconstruction", "float32", ["N", width]);
    return g.build();
  }
  const [rec] = g.addNode("MatMul", [z, "dec"]);
  const [diff] = g.addNode("Sub", ["input", rec]);
  g.addNode("Mul", [diff, diff], { outputs: ["feature_errors"] });
  g.addNode("ReduceMean", ["feature_errors"], {
    outputs: ["score"],
    attributes: { axes: { ints: [1] }, keepdims: 0 },
  });
  g.addOutput("score", "float32", ["N"]);
  g.addOutput("feature_errors", "float32", ["N", width]);
  return g.build();
}

/** Options of `makeBundle`. */
export interface TestBundleOptions {
  columns: string[];
  classifier?: {
    onnx: Uint8Array;
    classNames: string[];
    benignClass: string | null;
    thresholds?: number[];
  };
  anomaly?: { onnx: Uint8Array; threshold: number; featureErrors?: boolean };
  /** Scaling kept outside the graphs (applied by the worker), if given. */
  scaling?: { logColumns: number[]; center: number[]; scale: number[] };
}

/** A validated in-memory bundle. */
export function makeBundle(o: TestBundleOptions): LoadedBundle {
  const models: unknown[] = [];
  const onnx: Uint8Array[] = [];
  if (o.classifier) {
    models.push({
      name: "test-classifier",
      file: "classifier.onnx",
      inputName: "input",
      role: "classifier",
      outputs: { probabilities: "probabilities" },
      classNames: o.classifier.classNames,
      benignClass: o.classifier.benignClass,
      classThresholds: o.classifier.thresholds,
    });
    onnx.push(o.classifier.onnx);
  }
  if (o.anomaly) {
    models.push({
      name: "test-anomaly",
      file: "anomaly.onnx",
      inputName: "input",
      role: "anomaly",
      outputs: {
        score: "score",
        featureErrors: o.anomaly.featureErrors ? "feature_errors" : undefined,
      },
      threshold: o.anomaly.threshold,
      targetFpr: 0.01,
    });
    onnx.push(o.anomaly.onnx);
  }
  const json = parseBundleJson(JSON.stringify({
    formatVersion: 1,
    featureSet: { name: "test", version: "1", columns: o.columns },
    input: { name: "input", width: o.columns.length },
    preprocessing: {
      columns: o.columns,
      scaling: o.scaling ? { ...o.scaling, inGraph: false } : undefined,
    },
    models,
  }));
  return { dir: "(memory)", json, onnx };
}
