/**
 * Model evaluation: labelled rows (a capture with attack windows, or a
 * labelled CSV) scored by a bundle through the sensor's own inference path
 * (inference pool + `decide`), then per-class and attack-vs-benign figures,
 * the anomaly score's ROC-AUC, the per-episode view, and an HTML report.
 *
 * ```ts
 * import { renderEvalReport, runEvaluation } from "./mod.ts";
 * const evaluation = await runEvaluation({
 *   source: { kind: "capture", capture: "capture.pcap", labels: "labels.csv" },
 *   modelDir: "models/default",
 * });
 * console.log(evaluation.summary.binaryAccuracy);
 * await Deno.writeTextFile("eval.html", renderEvalReport(evaluation));
 * ```
 */
export {
  type AnomalyEvaluation,
  type EpisodeResult,
  type EvalRowData,
  type EvalSummary,
  evaluate,
  type Evaluation,
  type LabelVerdicts,
  UNKNOWN_COLUMN,
} from "./evaluate.ts";
export {
  type EpisodeFirstAlert,
  firstAlertPerEpisode,
  namesBehaviour,
  replayAlerts,
} from "./time_to_alert.ts";
export {
  episodeOf,
  type LabelledRows,
  rowsFromCapture,
  rowsFromDataset,
  type RowTimeline,
} from "./labelled_rows.ts";
export {
  type AlertGroupCounts,
  type AlertView,
  alertView,
  type EpisodeAlerts,
} from "./alert_view.ts";
export { type ScoredRows, scoreRows } from "./score_rows.ts";
export { rocCurve, type RocPoint } from "./roc_curve.ts";
export { formatConfusion, formatEvalText } from "./format_text.ts";
export { escapeHtml, renderEvalReport } from "./report_html.ts";
export { type EvalSource, runEvaluation, type RunEvaluationOptions } from "./run_eval.ts";
export {
  type BenignAlertOptions,
  type BenignAlertReport,
  type BenignCaptureResult,
  formatBenignAlerts,
  listCaptureFiles,
  measureBenignAlerts,
} from "./benign_alerts.ts";
