/**
 * Stratified k-fold cross-validation of the GBDT classifier: every row is
 * predicted once by a model that never saw it; the report pools those
 * out-of-fold predictions, and per-fold accuracies show the spread.
 */
import { type Dataset, selectRows, stratifiedFolds } from "./dataset.ts";
import { type GbdtParams, predictGbdt, trainGbdt } from "./gbdt.ts";
import { argmaxRows, type ClassificationReport, classificationReport } from "./metrics.ts";
import { Random } from "./random.ts";

export interface CrossValidationResult {
  folds: number;
  /** Report of the pooled out-of-fold predictions. */
  pooled: ClassificationReport;
  foldAccuracy: number[];
  foldMacroF1: number[];
  /** Mean and standard deviation of per-fold accuracy. */
  accuracyMean: number;
  accuracyStd: number;
  /** Out-of-fold class probabilities, rows x classes. */
  probabilities: Float32Array;
}

/** Runs k-fold CV; `onFold(done, k)` after each fold. */
export function crossValidate(
  d: Dataset,
  k: number,
  params: Partial<GbdtParams>,
  seed: number,
  onFold?: (done: number, total: number) => void,
): CrossValidationResult {
  if (k < 2) throw new Error(`cross-validation needs at least 2 folds, got ${k}`);
  const folds = stratifiedFolds(d.y, k, new Random(seed));
  const K = d.classNames.length;
  const probabilities = new Float32Array(d.rows * K);
  const foldAccuracy: number[] = [];
  const foldMacroF1: number[] = [];
  for (let f = 0; f < k; f++) {
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    for (let i = 0; i < d.rows; i++) (folds[i] === f ? testIdx : trainIdx).push(i);
    const train = selectRows(d, trainIdx);
    const test = selectRows(d, testIdx);
    const model = trainGbdt(train.x, train.y, train.rows, train.cols, K, {
      ...params,
      seed: seed + f,
    });
    const p = predictGbdt(model, test.x, test.rows);
    testIdx.forEach((r, i) => probabilities.set(p.subarray(i * K, (i + 1) * K), r * K));
    const report = classificationReport(
      test.y,
      argmaxRows(p, test.rows, K),
      d.classNames,
      d.benignClass,
    );
    foldAccuracy.push(report.accuracy);
    foldMacroF1.push(report.macroF1);
    onFold?.(f + 1, k);
  }
  const pooled = classificationReport(
    d.y,
    argmaxRows(probabilities, d.rows, K),
    d.classNames,
    d.benignClass,
  );
  const mean = foldAccuracy.reduce((a, b) => a + b, 0) / k;
  const std = Math.sqrt(foldAccuracy.reduce((a, b) => a + (b - mean) ** 2, 0) / k);
  return {
    folds: k,
    pooled,
    foldAccuracy,
    foldMacroF1,
    accuracyMean: mean,
    accuracyStd: std,
    probabilities,
  };
}
