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
  /** `--strong-anomaly-threshold`: anomaly score at which one flow is alerted on its own. */
  strongAnomalyThreshold?: number;
  /** `--max-alerts-per-minute`: the alert volume cap (default DEFAULT_ALERTS_PER_MINUTE). */
  maxAlertsPerMinute?: number;
}

/**
 * When an anomaly-only unknown group becomes an alert: the bundle's
 * `strongThreshold` (or the override) and `minUnknownFlows`. Without a strong
 * threshold (older bundles, models made elsewhere) the rule is off: a single
 * flow could then never be alerted, and a strongly anomalous one must be.
 */
export function unknownAlertRuleFromBundle(
  bundle: LoadedBundle,
  overrides: DetectionThresholds = {},
): UnknownAlertRule {
  const anomaly = bundle.json.models.find((m) => m.role === "anomaly");
  return {
    minFlows: overrides.minUnknownFlows ?? DEFAULT_MIN_UNKNOWN_FLOWS,
    strongThreshold: overrides.strongAnomalyThreshold ??
      (anomaly?.role === "anomaly" && anomaly.strongThreshold !== undefined
        ? anomaly.strongThreshold * SINGLE_FLOW_STRONG_MARGIN
        : undefined),
  };
}
