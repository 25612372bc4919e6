/**
 * The thresholds a detection run uses: the bundle's calibrated values, with
 * the command line's overrides on top. Scoring thresholds go to the
 * decision (src/inference); the unknown rule goes to the alert aggregator
 * (src/alert). The engine joins the two, so neither folder imports the other.
 */
import {
  DEFAULT_MIN_UNKNOWN_FLOWS,
  SINGLE_FLOW_STRONG_MARGIN,
  type UnknownAlertRule,
} from "../alert/mod.ts";
import type { LoadedBundle, ThresholdOverrides } from "../inference/mod.ts";

/** Overrides of every threshold a run uses (all optional: the bundle's values otherwise). */
export interface DetectionThresholds extends ThresholdOverrides {
  /** `--min-unknown-flows`: flows an anomaly-only unknown alert group needs (default 3). */
  minUnknownFlows?: number;
  /** `--strong-anomaly-threshold`: anomaly score at which a flow is strongly anomalous (two such flows of a group alert). */
  strongAnomalyThreshold?: number;
  /** `--max-alerts-per-minute`: the alert volume cap (default DEFAULT_ALERTS_PER_MINUTE). */
  maxAlertsPerMinute?: number;
}

/**
 * The run's settings of the vote rule (src/evidence/vote_rule.ts): the
 * bundle's `strongThreshold` times the margin (or the override) and
 * `minUnknownFlows`; the score at which an anomaly-only flow counts toward a
 * rate is the strong threshold without the margin (the bundle's own
 * one-in-a-thousand benign score). Without a strong threshold (older
 * bundles, models made elsewhere) an anomaly-only group needs fan-out or
 * rate, and every flow counts toward the rate.
 */
export function unknownAlertRuleFromBundle(
  bundle: LoadedBundle,
  overrides: DetectionThresholds = {},
): UnknownAlertRule {
  const anomaly = bundle.json.models.find((m) => m.role === "anomaly");
  const strongThreshold = overrides.strongAnomalyThreshold ??
    (anomaly?.role === "anomaly" && anomaly.strongThreshold !== undefined
      ? anomaly.strongThreshold * SINGLE_FLOW_STRONG_MARGIN
      : undefined);
  return {
    minFlows: overrides.minUnknownFlows ?? DEFAULT_MIN_UNKNOWN_FLOWS,
    strongThreshold,
    rateThreshold: strongThreshold === undefined
      ? undefined
      : strongThreshold / SINGLE_FLOW_STRONG_MARGIN,
  };
}
