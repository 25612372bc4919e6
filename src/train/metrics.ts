/**
 * Classification and detection metrics: confusion matrix, per-class
 * precision/recall/F1, accuracy, macro F1, attack-vs-benign accuracy, false
 * positive rate on benign rows, ROC-AUC. Shared by training, cross-validation
 * and `eval`.
 */

/** Per-class figures. */
export interface ClassMetrics {
  name: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Everything {@link classificationReport} computes. */
export interface ClassificationReport {
  rows: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[trueClass][predictedClass]. */
  confusion: number[][];
  /** Present when a benign class is known. */
  binary?: {
    /** Accuracy of "attack or not". */
    accuracy: number;
    /** Benign rows predicted as any attack / benign rows. */
    falsePositiveRate: number;
    /** Attack rows predicted as any attack / attack rows. */
    detectionRate: number;
  };
}

/** Arg max of each row of a rows x k probability matrix. */
export function argmaxRows(probabilities: Float32Array, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) {
      if (probabilities[i * k + c] > probabilities[i * k + best]) best = c;
    }
    out[i] = best;
  }
  return out;
}

/** Builds the report from true and predicted class indices. */
export function classificationReport(
  truth: ArrayLike<number>,
  predicted: ArrayLike<number>,
  classNames: readonly string[],
  benignClass = -1,
): ClassificationReport {
  const k = classNames.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]][predicted[i]]++;
    if (truth[i] === predicted[i]) correct++;
  }
  const perClass = classNames.map((name, c) => {
    const tp = confusion[c][c];
    let predictedC = 0;
    let support = 0;
    for (let j = 0; j < k; j++) {
      predictedC += confusion[j][c];
      support += confusion[c][j];
    }
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { name, support, precision, recall, f1 };
  });
  const present = perClass.filter((m) => m.support > 0);
  const report: ClassificationReport = {
    rows: truth.length,
    accuracy: truth.length ? correct / truth.length : 0,
    macroF1: present.length ? present.reduce((s, m) => s + m.f1, 0) / present.length : 0,
    perClass,
    confusion,
  };
  if (benignClass >= 0) {
    let benign = 0;
    let falsePositives = 0;
    let attacks = 0;
    let detected = 0;
    for (let i = 0; i < truth.length; i++) {
      const predictedAttack = predicted[i] !== benignClass;
      if (truth[i] === benignClass) {
        benign++;
        if (predictedAttack) falsePositives++;
      } else {
        attacks++;
        if (predictedAttack) detected++;
      }
    }
    report.binary = {
      accuracy: truth.length ? (benign - falsePositives + detected) / truth.length : 0,
      falsePositiveRate: benign ? falsePositives / benign : 0,
      detectionRate: attacks ? detected / attacks : 0,
    };
  }
  return report;
}

/**
 * Area under the ROC curve of `scores` (higher = more positive) for binary
 * `positive` labels; ties count half (Mann-Whitney). NaN when one side is empty.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (positive[order[t]]) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Text table of a report, for the terminal. */
export function formatReport(r: ClassificationReport): string {
  const lines = [
    `rows ${r.rows}  accuracy ${r.accuracy.toFixed(4)}  macro-F1 ${r.macroF1.toFixed(4)}`,
  ];
  if (r.binary) {
    lines.push(
      `attack-vs-benign accuracy ${r.binary.accuracy.toFixed(4)}  benign FPR ${
        r.binary.falsePositiveRate.toFixed(4)
      }  detection rate ${r.binary.detectionRate.toFixed(4)}`,
    );
  }
  const width = Math.max(5, ...r.perClass.map((m) => m.name.length));
  lines.push(`${"class".padEnd(width)}  support  precision  recall  f1`);
  for (const m of r.perClass) {
    lines.push(
      `${m.name.padEnd(width)}  ${String(m.support).padStart(7)}  ${
        m.precision.toFixed(4).padStart(9)
      }  ${m.recall.toFixed(4).padStart(6)}  ${m.f1.toFixed(4)}`,
    );
  }
  return lines.join("\n");
}
