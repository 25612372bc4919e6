/**
 * Turns true labels plus the detector's verdicts into evaluation figures.
 *
 * Two views, both from src/train/metrics.ts `classificationReport`:
 * - multi-class: a "known" verdict counts as the class it names; a "benign"
 *   verdict as the bundle's benign class; an "unknown" verdict counts as a
 *   correct detection for an attack class the model was never trained on
 *   (open set) and as the column "(unknown)" for every other row.
 * - binary: attack (any non-benign verdict) versus benign.
 *
 * Bundle class names and label names are matched case-insensitively
 * (BENIGN = benign). Capture input adds the per-episode view: for every
 * attack window, whether any of its flows was flagged, how long after the
 * window began the first flagged flow ended, and how many were flagged,
 * and the alert-level view (alert_view.ts): what survives the sensor's
 * unknown rule, for benign traffic and for each episode.
 */
import type { AttackWindow } from "../label/mod.ts";
import { type ClassificationReport, classificationReport, rocAuc } from "../train/mod.ts";
import { VERDICT_BENIGN, VERDICT_KNOWN, VERDICT_UNKNOWN } from "../inference/mod.ts";
import type { LabelledRows } from "./labelled_rows.ts";
import type { ScoredRows } from "./score_rows.ts";
import { DEFAULT_MIN_UNKNOWN_FLOWS } from "../alert/mod.ts";
import { type AlertView, alertView } from "./alert_view.ts";

/** Column of the multi-class view for "unknown" verdicts not credited to an absent class. */
export const UNKNOWN_COLUMN = "(unknown)";

/** Verdict counts of the rows of one true label. */
export interface LabelVerdicts {
  label: string;
  /** The bundle class this label maps to, or null when the model does not know it. */
  modelClass: string | null;
  rows: number;
  benign: number;
  known: number;
  unknown: number;
  /** Known verdicts by the class they named. */
  knownAs: Record<string, number>;
  /** Of the unknown verdicts, those the class gate made (the classifier claimed a class the flow is unlike). */
  gatedUnknown: number;
  /** Gated unknown verdicts by the class the classifier claimed (the nearest class). */
  nearestAs: Record<string, number>;
}

/** What the open-set class gate did (bundles with a gate only). */
export interface ClassGateEvaluation {
  /** Verdicts the gate turned from known into unknown, all rows. */
  gatedToUnknown: number;
  /**
   * Rows of attack classes the model knows that the classifier claimed as
   * their true class (known as it, or gated with it as nearest class).
   */
  genuineClaims: number;
  /** Of them, rejected by the gate (reported unknown instead of known). */
  genuineRejected: number;
  /** genuineRejected / genuineClaims, or null without genuine claims. */
  genuineRejectionRate: number | null;
}

/** The per-episode view of one attack window. */
export interface EpisodeResult {
  attacker: string;
  attack: string;
  /** Window start and end, seconds since the Unix epoch. */
  start: number;
  end: number;
  /** Flows labelled with this window. */
  flows: number;
  /** Of them, flows with a non-benign verdict. */
  flagged: number;
  knownVerdicts: number;
  unknownVerdicts: number;
  /** Any flow flagged. */
  alerted: boolean;
  /** Seconds from the window start to the end of the first flagged flow; null when none. */
  detectionDelaySeconds: number | null;
  /**
   * Seconds from the episode's first packet to its first alert line, in
   * capture time, through the sensor's engine (time_to_alert.ts); null: no
   * alert. Undefined when not measured.
   */
  timeToAlertSeconds?: number | null;
  /** The name of that first alert. */
  firstAlertName?: string | null;
  /**
   * Seconds to the first alert that names a behaviour (scan, flood, brute
   * force, slow DoS: host-level evidence, not a model vote), and its name;
   * null: none. Undefined when not measured.
   */
  timeToBehaviourSeconds?: number | null;
  behaviourName?: string | null;
}

/** The anomaly score alone, benign versus attack rows. */
export interface AnomalyEvaluation {
  /** ROC-AUC of the score (null when a side is empty). */
  rocAuc: number | null;
  /** Threshold used (the bundle's or the override). */
  threshold: number;
  /** Benign rows whose score is above the threshold, as a fraction. */
  benignAboveThreshold: number | null;
  /** Attack rows whose score is above the threshold, as a fraction. */
  attackAboveThreshold: number | null;
}

/** Everything `eval` reports (the `--json` object, minus per-row data). */
export interface EvalSummary {
  source: string;
  kind: "capture" | "csv";
  model: {
    dir: string;
    classNames: string[];
    benignClass: string | null;
    anomaly: boolean;
    /** `--threshold`, when given. */
    classThresholdOverride: number | null;
  };
  rows: number;
  benignRows: number;
  attackRows: number;
  verdicts: { benign: number; known: number; unknown: number };
  byLabel: LabelVerdicts[];
  /** Multi-class view; `classNames` of the confusion matrix are `multiClassNames`. */
  multiClass: ClassificationReport;
  multiClassNames: string[];
  /** Attack versus benign; classes ["benign", "attack"]. */
  binary: ClassificationReport;
  binaryAccuracy: number;
  benignFalsePositiveRate: number;
  detectionRate: number;
  anomaly: AnomalyEvaluation | null;
  /** Null when the bundle has no class gate. */
  classGate: ClassGateEvaluation | null;
  episodes: EpisodeResult[] | null;
  /**
   * Alert-level view (capture input): alert groups of benign traffic and of
   * each attack episode before and after the unknown rule; null for CSV input.
   */
  alerts: AlertView | null;
  issues: Record<string, number>;
}

/** Per-row data kept for the HTML report (not part of the JSON). */
export interface EvalRowData {
  isAttack: Uint8Array;
  verdict: Uint8Array;
  anomalyScore: Float32Array | null;
  endMicros: Float64Array | null;
  windows: AttackWindow[];
}

/** A finished evaluation: the summary and the rows behind it. */
export interface Evaluation {
  summary: EvalSummary;
  rowData: EvalRowData;
}

const fold = (s: string) => s.trim().toLowerCase();

/** Computes every figure from the labelled rows and their scores. */
export function evaluate(
  input: LabelledRows,
  scored: ScoredRows,
  modelDir: string,
): Evaluation {
  const { decisions, config, anomalyScore } = scored;
  const rows = input.rows;
  if (decisions.rows !== rows) {
    throw new Error(`${decisions.rows} verdicts for ${rows} rows`);
  }
  const modelClasses = [...config.classNames];
  const modelIndex = new Map(modelClasses.map((name, i) => [fold(name), i]));
  const benignModelClass = config.benignClass;

  // Multi-class columns: the model's classes, then labels it does not know, then "(unknown)".
  const multiClassNames = [...modelClasses];
  const labelColumn = input.labelNames.map((name) => {
    const k = modelIndex.get(fold(name));
    if (k !== undefined) return k;
    multiClassNames.push(name);
    return multiClassNames.length - 1;
  });
  const labelIsBenign = input.labelNames.map((name, i) =>
    i === input.benignLabel ||
    (benignModelClass >= 0 && modelIndex.get(fold(name)) === benignModelClass)
  );
  const labelKnownToModel = input.labelNames.map((name) => modelIndex.has(fold(name)));
  let benignColumn = benignModelClass;
  if (benignColumn < 0) {
    const b = labelIsBenign.indexOf(true);
    benignColumn = b >= 0 ? labelColumn[b] : multiClassNames.push("benign") - 1;
  }
  const unknownColumn = multiClassNames.push(UNKNOWN_COLUMN) - 1;

  const truth = new Int32Array(rows);
  const predicted = new Int32Array(rows);
  const truthBinary = new Int32Array(rows);
  const predictedBinary = new Int32Array(rows);
  const isAttack = new Uint8Array(rows);
  const verdicts = { benign: 0, known: 0, unknown: 0 };
  const byLabel: LabelVerdicts[] = input.labelNames.map((label, i) => ({
    label,
    modelClass: labelKnownToModel[i] ? modelClasses[labelColumn[i]] : null,
    rows: 0,
    benign: 0,
    known: 0,
    unknown: 0,
    knownAs: {},
    gatedUnknown: 0,
    nearestAs: {},
  }));
  const nearestClass = decisions.nearestClass;
  const gate: ClassGateEvaluation | null = config.classGate
    ? { gatedToUnknown: 0, genuineClaims: 0, genuineRejected: 0, genuineRejectionRate: null }
    : null;
  for (let r = 0; r < rows; r++) {
    const label = input.y[r];
    const attack = !labelIsBenign[label];
    const v = decisions.verdict[r];
    truth[r] = labelColumn[label];
    truthBinary[r] = attack ? 1 : 0;
    isAttack[r] = attack ? 1 : 0;
    predictedBinary[r] = v === VERDICT_BENIGN ? 0 : 1;
    const counts = byLabel[label];
    counts.rows++;
    if (v === VERDICT_KNOWN) {
      predicted[r] = decisions.classIndex[r];
      verdicts.known++;
      counts.known++;
      const name = modelClasses[decisions.classIndex[r]];
      counts.knownAs[name] = (counts.knownAs[name] ?? 0) + 1;
      if (gate && attack && decisions.classIndex[r] === labelColumn[label]) gate.genuineClaims++;
    } else if (v === VERDICT_UNKNOWN) {
      const nearest = nearestClass ? nearestClass[r] : -1;
      if (nearest >= 0) {
        counts.gatedUnknown++;
        const name = modelClasses[nearest];
        counts.nearestAs[name] = (counts.nearestAs[name] ?? 0) + 1;
        if (gate) {
          gate.gatedToUnknown++;
          if (attack && labelKnownToModel[label] && nearest === labelColumn[label]) {
            gate.genuineClaims++;
            gate.genuineRejected++;
          }
        }
      }
      // Open set: "unknown" is the right answer for an attack the model never saw.
      predicted[r] = attack && !labelKnownToModel[label] ? labelColumn[label] : unknownColumn;
      verdicts.unknown++;
      counts.unknown++;
    } else {
      predicted[r] = benignColumn;
      verdicts.benign++;
      counts.benign++;
    }
  }
  if (gate && gate.genuineClaims > 0) {
    gate.genuineRejectionRate = gate.genuineRejected / gate.genuineClaims;
  }
  const multiClass = classificationReport(truth, predicted, multiClassNames, benignColumn);
  const binary = classificationReport(truthBinary, predictedBinary, ["benign", "attack"], 0);
  let attackRows = 0;
  for (let r = 0; r < rows; r++) attackRows += isAttack[r];

  let anomaly: AnomalyEvaluation | null = null;
  if (anomalyScore) {
    const threshold = config.anomalyThresholdOverride ?? config.anomalyThreshold ??
      Number.POSITIVE_INFINITY;
    let benignAbove = 0;
    let attackAbove = 0;
    for (let r = 0; r < rows; r++) {
      if (anomalyScore[r] > threshold) {
        if (isAttack[r]) attackAbove++;
        else benignAbove++;
      }
    }
    const benignRows = rows - attackRows;
    const auc = rocAuc(anomalyScore, isAttack);
    anomaly = {
      rocAuc: Number.isNaN(auc) ? null : auc,
      threshold,
      benignAboveThreshold: benignRows ? benignAbove / benignRows : null,
      attackAboveThreshold: attackRows ? attackAbove / attackRows : null,
    };
  }

  const episodes = input.timeline ? episodeResults(input, scored) : null;
  const summary: EvalSummary = {
    source: input.source,
    kind: input.kind,
    model: {
      dir: modelDir,
      classNames: modelClasses,
      benignClass: benignModelClass >= 0 ? modelClasses[benignModelClass] : null,
      anomaly: anomalyScore !== null,
      classThresholdOverride: config.thresholdOverride ?? null,
    },
    rows,
    benignRows: rows - attackRows,
    attackRows,
    verdicts,
    byLabel: byLabel.filter((b) => b.rows > 0),
    multiClass,
    multiClassNames,
    binary,
    binaryAccuracy: binary.binary!.accuracy,
    benignFalsePositiveRate: binary.binary!.falsePositiveRate,
    detectionRate: binary.binary!.detectionRate,
    anomaly,
    classGate: gate,
    episodes,
    alerts: input.timeline
      ? alertView(
        input.timeline,
        decisions,
        isAttack,
        scored.unknownRule ?? { minFlows: DEFAULT_MIN_UNKNOWN_FLOWS },
        modelClasses,
      )
      : null,
    issues: input.issues ?? {},
  };
  return {
    summary,
    rowData: {
      isAttack,
      verdict: decisions.verdict,
      anomalyScore,
      endMicros: input.timeline?.endMicros ?? null,
      windows: input.timeline?.windows ?? [],
    },
  };
}

/** The per-episode view (capture input). */
function episodeResults(input: LabelledRows, scored: ScoredRows): EpisodeResult[] {
  const timeline = input.timeline!;
  const results: EpisodeResult[] = timeline.windows.map((w) => ({
    attacker: w.attacker,
    attack: w.attack,
    start: w.start,
    end: w.end,
    flows: 0,
    flagged: 0,
    knownVerdicts: 0,
    unknownVerdicts: 0,
    alerted: false,
    detectionDelaySeconds: null,
  }));
  const firstFlaggedEnd = new Float64Array(results.length).fill(Number.POSITIVE_INFINITY);
  for (let r = 0; r < input.rows; r++) {
    const e = timeline.episode[r];
    if (e < 0) continue;
    const result = results[e];
    result.flows++;
    const v = scored.decisions.verdict[r];
    if (v === VERDICT_BENIGN) continue;
    result.flagged++;
    if (v === VERDICT_KNOWN) result.knownVerdicts++;
    else result.unknownVerdicts++;
    if (timeline.endMicros[r] < firstFlaggedEnd[e]) firstFlaggedEnd[e] = timeline.endMicros[r];
  }
  results.forEach((result, e) => {
    result.alerted = result.flagged > 0;
    if (result.alerted) result.detectionDelaySeconds = firstFlaggedEnd[e] / 1e6 - result.start;
  });
  return results;
}
