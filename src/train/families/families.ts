/**
 * The model families `train --models` and `eval --compare` know, behind one
 * interface: each trains on a dataset (classifiers on every class, anomaly
 * members on its benign rows), scores raw rows with one attack score per row
 * (higher = more attack-like: `1 - P(benign)` for a classifier, the anomaly
 * score otherwise), and exports one ONNX graph on raw rows. `kitnet` and
 * `lof` (src/packet_models) work on any rows: the flow rows here, or the
 * packet-level sets (afterimage, packet, packet-sequence).
 */
import { type Dataset, rowsOfClass, selectRows } from "../dataset.ts";
import {
  CLASSIFIER_OUTPUTS,
  DEFAULT_GBDT_PARAMS,
  gbdtToOnnx,
  predictGbdt,
  trainGbdt,
} from "../gbdt.ts";
import {
  fitRobustScaling,
  type IsolationForest,
  isolationScores,
  trainIsolationForest,
} from "../anomaly/mod.ts";
import { addTreeEnsembleRegressor, OnnxGraphBuilder } from "../onnx/mod.ts";
import { Random } from "../random.ts";
import { type ParameterRange, tpeSearch, type Trial } from "../tune.ts";
import { thresholdForFpr } from "../anomaly/mod.ts";
import {
  DEFAULT_KITNET_PARAMS,
  DEFAULT_LOF_PARAMS,
  fitLof,
  KitNetScorer,
  kitNetToJson,
  lofScores,
  trainKitNet,
} from "../../packet_models/mod.ts";
import { kitNetToOnnx, lofToOnnx, PACKET_MODEL_SCORE } from "../packet_onnx.ts";
import {
  AE_SCORE,
  CNN_PROBABILITIES,
  cnnClassifierToOnnx,
  DEEP_INPUT_NAME,
  DEFAULT_AE_PARAMS,
  DEFAULT_CNN_PARAMS,
  predictCnn,
  trainCnnAe,
  trainCnnClassifier,
  trainDenseAe,
  trainLstmAe,
} from "../deep/mod.ts";

/** Every family name the issue lists. */
export const FAMILY_NAMES = [
  "gbdt",
  "cnn",
  "dense-ae",
  "lstm-ae",
  "cnn-ae",
  "iforest",
  "lof",
  "kitnet",
] as const;
export type FamilyName = typeof FAMILY_NAMES[number];

/** A trained member: scores raw rows and carries its ONNX graph. */
export interface TrainedMember {
  family: FamilyName;
  kind: "classifier" | "anomaly";
  /** Attack score per raw row (higher = more attack-like). */
  score(x: Float32Array, rows: number): Float32Array;
  /** Classifiers: class probabilities, row-major `[rows, classes]`. */
  probabilities?(x: Float32Array, rows: number): Float32Array;
  /** The ONNX graph (input {@link DEEP_INPUT_NAME}, raw `[N, width]` rows). */
  onnx: Uint8Array;
  /** Graph output: probabilities `[N, classes]` (classifier) or score `[N]` (anomaly). */
  output: string;
  /**
   * KitNET: its weights as JSON bytes (kitNetToJson), which the inference
   * worker scores with the typed-array scorer `score` uses instead of the graph.
   */
  weights?: Uint8Array;
  hyperparameters: Record<string, number>;
  seconds: number;
}

/** Progress of one family's training (epochs, rounds). */
export type FamilyProgress = (done: number, total: number) => void;

/** How to train a family, and what `--tune` may change. */
export interface Family {
  name: FamilyName;
  kind: "classifier" | "anomaly";
  description: string;
  searchSpace: ParameterRange[];
  train(
    d: Dataset,
    params: Record<string, number>,
    seed: number,
    progress?: FamilyProgress,
  ): TrainedMember;
}

/** Families not built yet, and where they are coming from. */
const NOT_YET: Partial<Record<FamilyName, string>> = {};

/** Thrown for a family name that is unknown or not available in this build. */
export class FamilyError extends Error {}

/** Parses `--models a,b,c`: known, available, no duplicates, at least one. */
export function parseFamilyList(list: string): Family[] {
  const names = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new FamilyError("--models is empty");
  const seen = new Set<string>();
  return names.map((name) => {
    if (seen.has(name)) throw new FamilyError(`--models names ${name} twice`);
    seen.add(name);
    if (!(FAMILY_NAMES as readonly string[]).includes(name)) {
      throw new FamilyError(
        `unknown model family "${name}"; known: ${FAMILY_NAMES.join(", ")}`,
      );
    }
    const family = FAMILIES[name as FamilyName];
    if (!family) {
      throw new FamilyError(
        `model family "${name}" is not available in this build yet: ${
          NOT_YET[name as FamilyName]
        }; available: ${Object.keys(FAMILIES).join(", ")}`,
      );
    }
    return family;
  });
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const v = f();
  return [v, (performance.now() - t0) / 1000];
}

function benignOnly(d: Dataset): Dataset {
  if (d.benignClass < 0) throw new FamilyError("anomaly families need a benign class");
  const rows = rowsOfClass(d, d.benignClass);
  if (rows.length < 50) {
    throw new FamilyError(`anomaly families need at least 50 benign rows, got ${rows.length}`);
  }
  return selectRows(d, rows);
}

/** Classifier attack score: 1 - P(benign), or the top attack probability without a benign class. */
function attackScore(p: Float32Array, rows: number, k: number, benign: number): Float32Array {
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    if (benign >= 0) out[i] = 1 - p[i * k + benign];
    else {
      let max = 0;
      for (let c = 0; c < k; c++) max = Math.max(max, p[i * k + c]);
      out[i] = max;
    }
  }
  return out;
}

const gbdt: Family = {
  name: "gbdt",
  kind: "classifier",
  description: "histogram gradient-boosted trees (today's classifier)",
  searchSpace: [
    { name: "rounds", low: 20, high: 120, integer: true },
    { name: "maxDepth", low: 3, high: 8, integer: true },
    { name: "learningRate", low: 0.05, high: 0.4, log: true },
  ],
  train(d, params, seed, progress) {
    const [model, seconds] = timed(() =>
      trainGbdt(d.x, d.y, d.rows, d.cols, d.classNames.length, { ...params, seed }, progress)
    );
    const K = d.classNames.length;
    return {
      family: "gbdt",
      kind: "classifier",
      probabilities: (x, rows) => predictGbdt(model, x, rows),
      score: (x, rows) => attackScore(predictGbdt(model, x, rows), rows, K, d.benignClass),
      onnx: gbdtToOnnx(model, DEEP_INPUT_NAME),
      output: CLASSIFIER_OUTPUTS.probabilities,
      hyperparameters: { ...DEFAULT_GBDT_PARAMS, ...params, seed },
      seconds,
    };
  },
};

const cnn: Family = {
  name: "cnn",
  kind: "classifier",
  description:
    "concatenated CNN: 2-D feature image, two conv blocks with a skip, both levels concatenated",
  searchSpace: [
    { name: "epochs", low: 3, high: 10, integer: true },
    { name: "channels", low: 2, high: 8, integer: true },
    { name: "hidden", low: 16, high: 64, integer: true },
    { name: "learningRate", low: 5e-4, high: 5e-3, log: true },
  ],
  train(d, params, seed, progress) {
    const [model, seconds] = timed(() =>
      trainCnnClassifier(
        d.x,
        d.y,
        d.rows,
        d.cols,
        d.classNames.length,
        { ...params, seed },
        progress,
      )
    );
    const K = d.classNames.length;
    return {
      family: "cnn",
      kind: "classifier",
      probabilities: (x, rows) => predictCnn(model, x, rows),
      score: (x, rows) => attackScore(predictCnn(model, x, rows), rows, K, d.benignClass),
      onnx: cnnClassifierToOnnx(model),
      output: CNN_PROBABILITIES,
      hyperparameters: { ...DEFAULT_CNN_PARAMS, ...params, seed },
      seconds,
    };
  },
};

const AE_SEARCH_SPACE: ParameterRange[] = [
  { name: "epochs", low: 3, high: 10, integer: true },
  { name: "hidden", low: 8, high: 32, integer: true },
  { name: "learningRate", low: 5e-4, high: 5e-3, log: true },
];

function autoencoderFamily(
  name: "dense-ae" | "cnn-ae" | "lstm-ae",
  description: string,
  trainer: typeof trainDenseAe,
): Family {
  return {
    name,
    kind: "anomaly",
    description,
    searchSpace: AE_SEARCH_SPACE,
    train(d, params, seed, progress) {
      const benign = benignOnly(d);
      const [model, seconds] = timed(() =>
        trainer(benign.x, benign.rows, benign.cols, { ...params, seed }, progress)
      );
      return {
        family: name,
        kind: "anomaly",
        score: (x, rows) => model.score(x, rows),
        onnx: model.toOnnx(),
        output: AE_SCORE,
        hyperparameters: { ...DEFAULT_AE_PARAMS, ...params, seed },
        seconds,
      };
    },
  };
}

const IFOREST_SCORE = "score";

function isolationForestToOnnx(forest: IsolationForest): Uint8Array {
  const g = new OnnxGraphBuilder("ids_iforest");
  g.addInput(DEEP_INPUT_NAME, "float32", ["N", forest.cols]);
  addTreeEnsembleRegressor(g, DEEP_INPUT_NAME, forest.trees, {
    nTargets: 1,
    output: "path_length",
    aggregate: "AVERAGE",
  });
  g.addFloatInitializer("exponent", [-Math.LN2 / forest.normaliser], [1]);
  g.addInt64Initializer("flat_shape", [-1], [1]);
  const [logit] = g.addNode("Mul", ["path_length", "exponent"]);
  const [score] = g.addNode("Exp", [logit]);
  g.addNode("Reshape", [score, "flat_shape"], { outputs: [IFOREST_SCORE] });
  g.addOutput(IFOREST_SCORE, "float32", ["N"]);
  return g.build({ family: "iforest" });
}

const iforest: Family = {
  name: "iforest",
  kind: "anomaly",
  description: "isolation forest on benign rows (today's anomaly part)",
  searchSpace: [
    { name: "trees", low: 50, high: 300, integer: true },
    { name: "sampleSize", low: 64, high: 1024, integer: true, log: true },
  ],
  train(d, params, seed, progress) {
    const benign = benignOnly(d);
    const [forest, seconds] = timed(() => {
      const scaling = fitRobustScaling(benign.x, benign.rows, benign.cols);
      return trainIsolationForest(
        benign.x,
        benign.rows,
        benign.cols,
        scaling,
        new Random(seed),
        params,
      );
    });
    progress?.(1, 1);
    return {
      family: "iforest",
      kind: "anomaly",
      score: (x, rows) => isolationScores(forest, x, rows),
      onnx: isolationForestToOnnx(forest),
      output: IFOREST_SCORE,
      hyperparameters: { ...forest.params, seed },
      seconds,
    };
  },
};

const kitnet: Family = {
  name: "kitnet",
  kind: "anomaly",
  description:
    "KitNET (Kitsune): correlation-clustered small autoencoders and an output autoencoder, online SGD on benign rows",
  searchSpace: [
    { name: "maxAutoencoderSize", low: 3, high: 15, integer: true },
    { name: "learningRate", low: 0.01, high: 0.3, log: true },
    { name: "epochs", low: 1, high: 5, integer: true },
  ],
  train(d, params, seed, progress) {
    const benign = benignOnly(d);
    const [model, seconds] = timed(() =>
      trainKitNet(benign.x, benign.rows, benign.cols, {
        ...params,
        // The grace period (feature-map rows) may be tuned; it never takes over half the rows.
        featureMapRows: Math.min(
          params.featureMapRows ?? DEFAULT_KITNET_PARAMS.featureMapRows,
          benign.rows >> 1,
        ),
        seed,
      })
    );
    progress?.(1, 1);
    const scorer = new KitNetScorer(model);
    return {
      family: "kitnet",
      kind: "anomaly",
      score: (x, rows) => scorer.scoreRows(x, rows),
      onnx: kitNetToOnnx(model, DEEP_INPUT_NAME),
      output: PACKET_MODEL_SCORE,
      weights: new TextEncoder().encode(JSON.stringify(kitNetToJson(model))),
      hyperparameters: { ...model.params },
      seconds,
    };
  },
};

const lof: Family = {
  name: "lof",
  kind: "anomaly",
  description: "local outlier factor from stored benign neighbours (robust-scaled rows)",
  searchSpace: [
    { name: "k", low: 5, high: 50, integer: true },
    { name: "referenceRows", low: 500, high: 3000, integer: true, log: true },
    { name: "minReach", low: 0.001, high: 0.1, log: true },
  ],
  train(d, params, seed, progress) {
    const benign = benignOnly(d);
    const [model, seconds] = timed(() => {
      // A seeded shuffle first: fitLof keeps an evenly spaced sample of the rows it is given.
      const order = new Random(seed).shuffle(
        Uint32Array.from({ length: benign.rows }, (_, i) => i),
      );
      const x = new Float32Array(benign.rows * benign.cols);
      order.forEach((r, i) =>
        x.set(benign.x.subarray(r * benign.cols, (r + 1) * benign.cols), i * benign.cols)
      );
      const scaling = fitRobustScaling(benign.x, benign.rows, benign.cols);
      return fitLof(x, benign.rows, benign.cols, {
        logColumns: Array.from(scaling.logColumns),
        center: Array.from(scaling.center),
        scale: Array.from(scaling.scale),
      }, params);
    });
    progress?.(1, 1);
    return {
      family: "lof",
      kind: "anomaly",
      score: (x, rows) => lofScores(model, x, rows),
      onnx: lofToOnnx(model, DEEP_INPUT_NAME),
      output: PACKET_MODEL_SCORE,
      hyperparameters: { ...DEFAULT_LOF_PARAMS, ...params, seed },
      seconds,
    };
  },
};

/** The families available in this build, by name. */
export const FAMILIES: Partial<Record<FamilyName, Family>> = {
  gbdt,
  cnn,
  "dense-ae": autoencoderFamily("dense-ae", "dense autoencoder on benign rows", trainDenseAe),
  "lstm-ae": autoencoderFamily(
    "lstm-ae",
    "LSTM autoencoder: the row as a sequence of 8-feature steps, dense decoder",
    trainLstmAe,
  ),
  "cnn-ae": autoencoderFamily(
    "cnn-ae",
    "convolutional autoencoder: conv, 2x2 pool, conv bottleneck, upsample, conv",
    trainCnnAe,
  ),
  iforest,
  kitnet,
  lof,
};

/** Fraction of attack rows scored above the `fpr` quantile of the benign rows' scores. */
export function detectionAtFpr(scores: Float32Array, attack: Uint8Array, fpr: number): number {
  const threshold = thresholdForFpr(scores.filter((_, i) => !attack[i]), fpr);
  let n = 0;
  let hit = 0;
  for (let i = 0; i < scores.length; i++) {
    if (attack[i]) {
      n++;
      if (scores[i] > threshold) hit++;
    }
  }
  return n > 0 ? hit / n : 0;
}

/** 1 for attack rows, 0 for benign ones. */
export function attackFlags(d: Dataset): Uint8Array {
  return Uint8Array.from(d.y, (c) => (c === d.benignClass ? 0 : 1));
}

/**
 * `--tune`: TPE over the family's search space, each trial trained on `fit`
 * and scored on `validation` by its detection rate at `targetFpr` false
 * alerts on the validation benign rows. Returns the best trial.
 */
export async function tuneFamily(
  family: Family,
  fit: Dataset,
  validation: Dataset,
  options: { trials: number; seed: number; targetFpr: number },
  onTrial?: (trial: Trial, best: Trial) => void,
): Promise<Trial> {
  const attack = attackFlags(validation);
  const result = await tpeSearch(
    family.searchSpace,
    (p) => {
      const member = family.train(fit, p, options.seed);
      return detectionAtFpr(member.score(validation.x, validation.rows), attack, options.targetFpr);
    },
    { trials: options.trials, seed: options.seed },
    onTrial,
  );
  return result.best;
}
