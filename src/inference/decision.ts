/**
 * Turns model scores into one verdict per flow:
 * - known attack: some non-benign class c has probability >= its threshold
 *   and, when the bundle has a class gate for c, the row's distance to c's
 *   profile is at most c's gate threshold (the most probable such class wins);
 * - unknown attack: the classifier is confident about attack classes but the
 *   gate rejects every one of them (a novel attack: the classifier would not
 *   be confident if it looked benign; `nearestClass` names the class it
 *   resembles), or no attack class is confident and the anomaly score
 *   exceeds its calibrated threshold;
 * - benign otherwise.
 * Results are typed arrays, one entry per row, so nothing is allocated per flow.
 */
import { detailRow, type ModelScores } from "./model_spec.ts";

/** Verdict codes stored in `Decisions.verdict`. */
export const VERDICT_BENIGN = 0;
export const VERDICT_KNOWN = 1;
export const VERDICT_UNKNOWN = 2;
/** Names of the verdict codes, by code. */
export const VERDICT_NAMES = ["benign", "known", "unknown"] as const;
export type VerdictName = typeof VERDICT_NAMES[number];

/** What the decision needs from the bundle (and the command line). */
export interface DecisionConfig {
  /** Classifier class names, by output column. */
  classNames: readonly string[];
  /** Column of the benign class, or -1 when the classifier has none. */
  benignClass: number;
  /** Per-class probability thresholds (the benign entry is ignored). */
  classThresholds: ArrayLike<number>;
  /** Calibrated anomaly threshold; scores strictly above it are anomalous. */
  anomalyThreshold?: number;
  /** `--threshold`: replaces every class threshold when set. */
  thresholdOverride?: number;
  /** `--anomaly-threshold`: replaces the anomaly threshold when set. */
  anomalyThresholdOverride?: number;
  /** Open-set gate on classifier claims; absent: the classifier's claims stand. */
  classGate?: DecisionClassGate;
}

/** The class gate, indexed by classifier class (see bundle.ts `classGate`). */
export interface DecisionClassGate {
  /** Per classifier class: column of the anomaly model's `classDistance`, or -1 when not gated. */
  column: ArrayLike<number>;
  /** Per classifier class: largest distance that keeps the claim (unused when not gated). */
  thresholds: ArrayLike<number>;
}

/** Verdicts of a batch, one entry per row. */
export interface Decisions {
  rows: number;
  /** VERDICT_BENIGN | VERDICT_KNOWN | VERDICT_UNKNOWN. */
  verdict: Uint8Array;
  /**
   * Known: the attack class. Benign: the classifier's most probable class.
   * Unknown, or no classifier: -1.
   */
  classIndex: Int16Array;
  /**
   * Known: the class probability. Unknown: the anomaly score, or for a claim
   * the gate rejected, the distance to `nearestClass`. Benign: the top attack
   * probability (or the anomaly score without a classifier).
   */
  score: Float32Array;
  /** The threshold `score` was compared with. */
  threshold: Float32Array;
  /**
   * Unknown verdicts the class gate made: the class the classifier claimed
   * (the flow resembles it but is not it). -1 for every other row. Always set
   * by `decide`; optional so hand-built decisions need not carry it.
   */
  nearestClass?: Int16Array;
}

/** Decides every row of `scores` (uses the first classifier and the first anomaly model). */
export function decide(scores: ModelScores, config: DecisionConfig): Decisions {
  const rows = scores.rows;
  const verdict = new Uint8Array(rows);
  const classIndex = new Int16Array(rows).fill(-1);
  const nearestClass = new Int16Array(rows).fill(-1);
  const score = new Float32Array(rows);
  const threshold = new Float32Array(rows);

  const classifier = scores.outputs.find((o) => o.role === "classifier");
  const anomaly = scores.outputs.find((o) => o.role === "anomaly");
  const classCount = classifier?.columns ?? 0;
  if (classifier && classCount !== config.classNames.length) {
    throw new Error(
      `classifier ${classifier.name} outputs ${classCount} classes, the bundle names ${config.classNames.length}`,
    );
  }
  const thresholds = new Float32Array(classCount);
  for (let c = 0; c < classCount; c++) {
    thresholds[c] = config.thresholdOverride ?? config.classThresholds[c];
  }
  const anomalyThreshold = config.anomalyThresholdOverride ?? config.anomalyThreshold ??
    Number.POSITIVE_INFINITY;
  // The gate needs the anomaly model's distances; bundles without them skip it.
  const distances = anomaly?.classDistance;
  const distanceColumns = anomaly?.classDistanceColumns ?? 0;
  const gateColumn = new Int16Array(classCount).fill(-1);
  const gateThreshold = new Float32Array(classCount);
  if (config.classGate && distances) {
    for (let c = 0; c < classCount; c++) {
      const column = config.classGate.column[c];
      if (column >= distanceColumns) {
        throw new Error(
          `class gate column ${column} for class ${config.classNames[c]}, ` +
            `the anomaly model outputs ${distanceColumns} distances`,
        );
      }
      gateColumn[c] = column;
      gateThreshold[c] = config.classGate.thresholds[c];
    }
  }

  for (let r = 0; r < rows; r++) {
    let bestAttack = -1;
    let bestAttackP = -1;
    let rejected = -1;
    let rejectedP = -1;
    let rejectedDistance = 0;
    let topAttack = -1;
    let topAttackP = -1;
    let argmax = -1;
    let argmaxP = -1;
    if (classifier) {
      const base = r * classCount;
      for (let c = 0; c < classCount; c++) {
        const p = classifier.values[base + c];
        if (p > argmaxP) {
          argmaxP = p;
          argmax = c;
        }
        if (c === config.benignClass) continue;
        if (p > topAttackP) {
          topAttackP = p;
          topAttack = c;
        }
        if (p < thresholds[c]) continue;
        const column = gateColumn[c];
        const distance = column >= 0
          ? distances![detailRow(anomaly!, r) * distanceColumns + column]
          : 0;
        if (column >= 0 && !(distance <= gateThreshold[c])) {
          if (p > rejectedP) {
            rejectedP = p;
            rejected = c;
            rejectedDistance = distance;
          }
        } else if (p > bestAttackP) {
          bestAttackP = p;
          bestAttack = c;
        }
      }
    }
    if (bestAttack >= 0) {
      verdict[r] = VERDICT_KNOWN;
      classIndex[r] = bestAttack;
      score[r] = bestAttackP;
      threshold[r] = thresholds[bestAttack];
      continue;
    }
    if (rejected >= 0) {
      verdict[r] = VERDICT_UNKNOWN;
      nearestClass[r] = rejected;
      score[r] = rejectedDistance;
      threshold[r] = gateThreshold[rejected];
      continue;
    }
    const a = anomaly ? anomaly.values[r] : Number.NaN;
    if (a > anomalyThreshold) {
      verdict[r] = VERDICT_UNKNOWN;
      score[r] = a;
      threshold[r] = anomalyThreshold;
      continue;
    }
    verdict[r] = VERDICT_BENIGN;
    classIndex[r] = argmax;
    if (topAttack >= 0) {
      score[r] = topAttackP;
      threshold[r] = thresholds[topAttack];
    } else {
      score[r] = anomaly ? a : 0;
      threshold[r] = anomaly ? anomalyThreshold : 0;
    }
  }
  return { rows, verdict, classIndex, score, threshold, nearestClass };
}

/**
 * IP protocols the flow features describe: CICFlowMeter's definitions cover
 * TCP and UDP (ICMP and ICMPv6 flows fit the same counters). A flow of any
 * other protocol (IGMP, OSPF, VRRP, GRE, ...) looks to the models like a
 * one-packet UDP probe, so it is metered and counted but not judged.
 */
export const SCORED_PROTOCOLS: ReadonlySet<number> = new Set([1, 6, 17, 58]);

/**
 * Sets the verdict of every flow whose protocol is outside SCORED_PROTOCOLS
 * to benign (no alert); returns how many flows that was.
 */
export function leaveUnscoredProtocols(decisions: Decisions, protocol: Uint8Array): number {
  let unscored = 0;
  for (let i = 0; i < decisions.rows; i++) {
    if (SCORED_PROTOCOLS.has(protocol[i])) continue;
    decisions.verdict[i] = VERDICT_BENIGN;
    decisions.classIndex[i] = -1;
    unscored++;
  }
  return unscored;
}
