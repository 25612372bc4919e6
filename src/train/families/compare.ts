/**
 * `eval --compare`: every requested family and the ensemble trained and
 * measured on the same splits. Stratified k-fold; in fold f one attack type
 * (`leaveOut[f]`, cycling) is removed from training entirely, so its rows
 * (all of them, from every fold) measure detection of an attack never seen.
 * Inside the training folds a stratified validation split sets each member's
 * threshold to the target false-alert rate on validation benign rows, fits
 * the ensemble (calibration, vote level) and scores `--tune` trials. The
 * ensemble's weights come from leave-one-attack-type-out inside the training
 * folds (leave_type_out.ts: nested, the fold's left-out type is not there)
 * or, for comparison, from the logistic regression on the validation rows.
 * The test fold is touched only to measure.
 */
import { type Dataset, selectRows, stratifiedFolds, stratifiedSplit } from "../dataset.ts";
import { thresholdForFpr } from "../anomaly/mod.ts";
import { argmaxRows, classificationReport } from "../metrics.ts";
import { onnxRowsPerSecond } from "../onnx/mod.ts";
import type { ProgressReporter } from "../progress.ts";
import { Random } from "../random.ts";
import { DEEP_INPUT_NAME } from "../deep/mod.ts";
import { applyEnsemble, fitEnsemble, type VotingMode } from "../ensemble/mod.ts";
import { attackFlags, type Family, type TrainedMember, tuneFamily } from "./families.ts";
import { DEFAULT_LEAVE_TYPE_OUT, leaveTypeOutWeights } from "./leave_type_out.ts";

/** Where the ensemble's weights come from. */
export type Weighting = "leave-type-out" | "validation";
export const WEIGHTINGS: readonly Weighting[] = ["leave-type-out", "validation"];

/** A left-out type counts as detected when at least this share of its rows alerts. */
export const DETECTED_SHARE = 0.5;

/** Options of {@link compareFamilies}. */
export interface CompareOptions {
  families: Family[];
  folds: number;
  /** Attack type left out of training in fold f: `leaveOut[f % length]`. */
  leaveOut: string[];
  /** Attack type of every row (the benign class's name for benign rows). */
  attackType: string[];
  targetFpr: number;
  validationFraction: number;
  /** TPE trials per family (0: defaults). */
  tune: number;
  ensembleModes: VotingMode[];
  /** Ensemble rows per weighting (`validation` rows are named `ensemble:MODE/val`). */
  weightings: Weighting[];
  /** Attack types held out in turn inside the training folds to learn the weights. */
  innerTypes: number;
  proportion: number;
  seed: number;
  /** Rows used to measure inference speed (fold 0). */
  speedRows: number;
  progress?: ProgressReporter;
}

export const DEFAULT_COMPARE_OPTIONS = {
  folds: 5,
  targetFpr: 0.01,
  validationFraction: 0.2,
  tune: 0,
  ensembleModes: ["weighted", "any", "all", "proportion"] as VotingMode[],
  weightings: ["leave-type-out"] as Weighting[],
  innerTypes: DEFAULT_LEAVE_TYPE_OUT.types,
  proportion: 0.5,
  seed: 1,
  speedRows: 4096,
};

/** Counts pooled over folds for one row of the table. */
interface Tally {
  benign: number;
  benignAlerts: number;
  attacks: number;
  attackAlerts: number;
  /** Per left-out type: rows and detected rows. */
  leftOut: Record<string, { rows: number; detected: number }>;
  /** Classifiers: argmax predictions and truths over the test folds. */
  predicted: number[];
  truth: number[];
  rowsPerSecond?: number;
  bytes?: number;
  seconds: number;
  /** Ensembles: mean weight per member over folds. */
  weights?: number[];
}

/** One line of the comparison. */
export interface CompareRow {
  name: string;
  kind: "classifier" | "anomaly" | "ensemble";
  /** Classifiers: per-class F1 (argmax), by class name. */
  f1?: Record<string, number>;
  macroF1?: number;
  /** Binary accuracy of the argmax decision (classifiers). */
  argmaxBinaryAccuracy?: number;
  /** Attack-vs-benign accuracy of the thresholded decision on the test folds. */
  binaryAccuracy: number;
  detectionRate: number;
  benignFpr: number;
  /** Detection rate of each left-out attack type (trained without it). */
  leftOut: Record<string, number>;
  /** Left-out types with at least {@link DETECTED_SHARE} of their rows detected. */
  leftOutDetected: number;
  /** Median ONNX rows/s (ensembles: all members in sequence). */
  rowsPerSecond?: number;
  /** ONNX bytes (ensembles: sum of members). */
  bytes?: number;
  trainSeconds: number;
  weights?: Record<string, number>;
}

export interface CompareResult {
  rows: CompareRow[];
  classNames: string[];
  leftOutTypes: string[];
  folds: number;
  targetFpr: number;
  testRows: number;
  /** Chosen hyperparameters per family and fold when tuned. */
  tuned: Record<string, Record<string, number>[]>;
  /** Per fold, the attack types held out inside its training rows to learn the weights. */
  innerHeldOut: string[][];
}

function newTally(): Tally {
  return {
    benign: 0,
    benignAlerts: 0,
    attacks: 0,
    attackAlerts: 0,
    leftOut: {},
    predicted: [],
    truth: [],
    seconds: 0,
  };
}

function addDecisions(t: Tally, alert: ArrayLike<number>, attack: Uint8Array) {
  for (let i = 0; i < attack.length; i++) {
    if (attack[i]) {
      t.attacks++;
      t.attackAlerts += alert[i] ? 1 : 0;
    } else {
      t.benign++;
      t.benignAlerts += alert[i] ? 1 : 0;
    }
  }
}

function addLeftOut(t: Tally, type: string, alert: ArrayLike<number>) {
  const entry = t.leftOut[type] ?? { rows: 0, detected: 0 };
  entry.rows += alert.length;
  for (let i = 0; i < alert.length; i++) entry.detected += alert[i] ? 1 : 0;
  t.leftOut[type] = entry;
}

const above = (scores: Float32Array, threshold: number) =>
  Uint8Array.from(scores, (s) => (s > threshold ? 1 : 0));

/** Trains and measures every family and ensemble mode over the folds. */
export async function compareFamilies(d: Dataset, options: CompareOptions): Promise<CompareResult> {
  const o = options;
  const progress = o.progress ?? (() => {});
  if (d.benignClass < 0) throw new Error("--compare needs a benign class");
  if (o.attackType.length !== d.rows) {
    throw new Error(`attack types for ${o.attackType.length} rows, dataset has ${d.rows}`);
  }
  for (const type of o.leaveOut) {
    if (!o.attackType.includes(type)) throw new Error(`left-out attack type "${type}" has no rows`);
  }
  const rng = new Random(o.seed);
  const folds = stratifiedFolds(d.y, o.folds, rng);
  const tallies = new Map<string, Tally>();
  const tally = (name: string) => {
    if (!tallies.has(name)) tallies.set(name, newTally());
    return tallies.get(name)!;
  };
  const tuned: Record<string, Record<string, number>[]> = {};
  const innerHeldOut: string[][] = [];
  let testRows = 0;
  for (let f = 0; f < o.folds; f++) {
    const leftOut = o.leaveOut.length ? o.leaveOut[f % o.leaveOut.length] : undefined;
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    const unseenIdx: number[] = [];
    for (let i = 0; i < d.rows; i++) {
      if (o.attackType[i] === leftOut) unseenIdx.push(i);
      else if (folds[i] === f) testIdx.push(i);
      else trainIdx.push(i);
    }
    const trainAll = selectRows(d, trainIdx);
    const split = stratifiedSplit(trainAll.y, o.validationFraction, rng.fork());
    const fit = selectRows(trainAll, split.train);
    const validation = selectRows(trainAll, split.heldOut);
    const fitTypes = Array.from(split.train, (j) => o.attackType[trainIdx[j]]);
    const validationTypes = Array.from(split.heldOut, (j) => o.attackType[trainIdx[j]]);
    const test = selectRows(d, testIdx);
    const unseen = selectRows(d, unseenIdx);
    testRows += test.rows;
    const valAttack = attackFlags(validation);
    const testAttack = attackFlags(test);
    const members: TrainedMember[] = [];
    const memberParams: Record<string, number>[] = [];
    for (const family of o.families) {
      const stage = `fold ${f + 1}/${o.folds} ${family.name}`;
      let params: Record<string, number> = {};
      if (o.tune > 0) {
        const best = await tuneFamily(
          family,
          fit,
          validation,
          { trials: o.tune, seed: o.seed + f, targetFpr: o.targetFpr },
          (trial) => progress(`${stage} tune`, trial.number + 1, o.tune),
        );
        params = best.params;
        (tuned[family.name] ??= []).push(params);
      }
      const member = family.train(
        fit,
        params,
        o.seed + f,
        (done, total) => progress(stage, done, total),
      );
      members.push(member);
      memberParams.push(params);
      const t = tally(family.name);
      t.seconds += member.seconds;
      const valScores = member.score(validation.x, validation.rows);
      const threshold = thresholdForFpr(valScores.filter((_, i) => !valAttack[i]), o.targetFpr);
      addDecisions(t, above(member.score(test.x, test.rows), threshold), testAttack);
      if (leftOut) addLeftOut(t, leftOut, above(member.score(unseen.x, unseen.rows), threshold));
      if (member.probabilities) {
        const p = member.probabilities(test.x, test.rows);
        const predicted = argmaxRows(p, test.rows, d.classNames.length);
        t.predicted.push(...predicted);
        t.truth.push(...test.y);
      }
      if (f === 0) {
        const n = Math.min(o.speedRows, test.rows);
        t.rowsPerSecond = await onnxRowsPerSecond(member.onnx, DEEP_INPUT_NAME, test.x, n, d.cols);
        t.bytes = member.onnx.length;
      }
    }
    if (members.length >= 2) {
      const names = members.map((m) => m.family);
      const valScores = members.map((m) => m.score(validation.x, validation.rows));
      const testScores = members.map((m) => m.score(test.x, test.rows));
      const unseenScores = members.map((m) => m.score(unseen.x, unseen.rows));
      let typeOutWeights: number[] | undefined;
      if (o.weightings.includes("leave-type-out")) {
        const learned = leaveTypeOutWeights(
          o.families,
          memberParams,
          members,
          fit,
          fitTypes,
          validation,
          validationTypes,
          {
            ...DEFAULT_LEAVE_TYPE_OUT,
            types: o.innerTypes,
            targetFpr: o.targetFpr,
            seed: o.seed + f,
            progress: (stage, done, total) =>
              progress(`fold ${f + 1}/${o.folds} ${stage}`, done, total),
          },
        );
        typeOutWeights = learned.weights;
        innerHeldOut.push(learned.heldOutTypes);
      }
      for (const weighting of o.weightings) {
        for (const mode of o.ensembleModes) {
          const e = fitEnsemble(names, valScores, valAttack, {
            mode,
            proportion: o.proportion,
            targetFpr: o.targetFpr,
            weights: weighting === "leave-type-out" ? typeOutWeights : undefined,
          });
          const t = tally(`ensemble:${mode}${weighting === "validation" ? "/val" : ""}`);
          addDecisions(t, applyEnsemble(e, testScores).alert, testAttack);
          if (leftOut) addLeftOut(t, leftOut, applyEnsemble(e, unseenScores).alert);
          t.weights = (t.weights ?? new Array(names.length).fill(0)).map((w, m) =>
            w + e.weights[m] / o.folds
          );
        }
      }
    }
  }
  const classNames = d.classNames;
  const rows: CompareRow[] = [];
  const memberTallies = o.families.map((fam) => tally(fam.name));
  for (const [name, t] of tallies) {
    const family = o.families.find((fam) => fam.name === name);
    const row: CompareRow = {
      name,
      kind: family ? family.kind : "ensemble",
      binaryAccuracy: (t.attackAlerts + t.benign - t.benignAlerts) /
        Math.max(1, t.attacks + t.benign),
      detectionRate: t.attackAlerts / Math.max(1, t.attacks),
      benignFpr: t.benignAlerts / Math.max(1, t.benign),
      leftOut: Object.fromEntries(
        Object.entries(t.leftOut).map(([k, v]) => [k, v.detected / Math.max(1, v.rows)]),
      ),
      leftOutDetected: Object.values(t.leftOut).filter((v) =>
        v.detected >= DETECTED_SHARE * v.rows && v.rows > 0
      ).length,
      trainSeconds: t.seconds / o.folds,
      rowsPerSecond: t.rowsPerSecond,
      bytes: t.bytes,
    };
    if (t.predicted.length) {
      const report = classificationReport(
        Int32Array.from(t.truth),
        Int32Array.from(t.predicted),
        classNames,
      );
      row.f1 = Object.fromEntries(report.perClass.map((c) => [c.name, c.f1]));
      row.macroF1 = report.macroF1;
      let correct = 0;
      for (let i = 0; i < t.truth.length; i++) {
        if ((t.truth[i] === d.benignClass) === (t.predicted[i] === d.benignClass)) correct++;
      }
      row.argmaxBinaryAccuracy = correct / t.truth.length;
    }
    if (!family) {
      row.rowsPerSecond = 1 /
        memberTallies.reduce((s, m) => s + 1 / Math.max(1e-9, m.rowsPerSecond ?? Infinity), 0);
      row.bytes = memberTallies.reduce((s, m) => s + (m.bytes ?? 0), 0);
      row.trainSeconds = memberTallies.reduce((s, m) => s + m.seconds, 0) / o.folds;
      row.weights = Object.fromEntries(o.families.map((fam, m) => [fam.name, t.weights![m]]));
    }
    rows.push(row);
  }
  return {
    rows,
    classNames,
    leftOutTypes: o.leaveOut.slice(0, o.folds),
    folds: o.folds,
    targetFpr: o.targetFpr,
    testRows,
    tuned,
    innerHeldOut,
  };
}

const pct = (v: number | undefined) => (v === undefined ? "-" : (v * 100).toFixed(1));

/** The comparison as one plain-text (Markdown) table plus the ensembles' weights. */
export function formatComparison(r: CompareResult): string {
  const header = [
    "model",
    ...r.classNames.map((c) => `F1 ${c}`),
    "argmax acc",
    "acc",
    "detect",
    "benign FPR",
    ...r.leftOutTypes.map((t) => `unseen ${t}`),
    `unseen >=${DETECTED_SHARE * 100}%`,
    "rows/s",
    "KB",
    "train s",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
  ];
  for (const row of r.rows) {
    lines.push(
      `| ${
        [
          row.name,
          ...r.classNames.map((c) => pct(row.f1?.[c])),
          pct(row.argmaxBinaryAccuracy),
          pct(row.binaryAccuracy),
          pct(row.detectionRate),
          (row.benignFpr * 100).toFixed(2),
          ...r.leftOutTypes.map((t) => pct(row.leftOut[t])),
          `${row.leftOutDetected}/${r.leftOutTypes.length}`,
          row.rowsPerSecond ? Math.round(row.rowsPerSecond).toLocaleString("en-US") : "-",
          row.bytes ? (row.bytes / 1024).toFixed(0) : "-",
          row.trainSeconds.toFixed(1),
        ].join(" | ")
      } |`,
    );
  }
  const shown = new Set<string>();
  for (const row of r.rows) {
    if (!row.weights) continue;
    const text = Object.entries(row.weights).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
    const kind = row.name.endsWith("/val") ? "validation logistic regression" : "leave-type-out";
    if (shown.has(kind)) continue;
    shown.add(kind);
    lines.push("", `ensemble weights, ${kind} (mean over folds): ${text}`);
  }
  if (r.innerHeldOut.length) {
    lines.push(
      "attack types held out inside the training folds to learn the weights: " +
        r.innerHeldOut.map((types, f) => `fold ${f + 1} ${types.join(",")}`).join("; "),
    );
  }
  for (const [family, folds] of Object.entries(r.tuned)) {
    lines.push(
      `tuned ${family} (per fold): ` +
        folds.map((p) =>
          Object.entries(p).map(([k, v]) => `${k}=${Number(v.toPrecision(3))}`).join(" ")
        ).join("; "),
    );
  }
  lines.push(
    "",
    `${r.folds}-fold stratified CV, ${r.testRows} test rows; thresholds (and ensemble vote levels) ` +
      `set to ${(r.targetFpr * 100).toFixed(1)}% false alerts on validation benign rows; ` +
      `acc/detect/FPR are of that thresholded decision; F1 and argmax acc of the classifiers' argmax; ` +
      `unseen T: detection of every row of attack type T by models trained without it (one type per fold); ` +
      `ensemble:MODE weights by leave-type-out inside the training folds, ensemble:MODE/val by ` +
      `logistic regression on the validation rows`,
  );
  return lines.join("\n");
}
