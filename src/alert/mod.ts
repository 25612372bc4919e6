/**
 * Alerts: the EVE-style record and its zod schema, plain-words naming,
 * windowed aggregation, per-minute traffic statistics, and the sinks.
 */
export {
  type Alert,
  AlertSchema,
  protocolName,
  type TopFeature,
  TopFeatureSchema,
} from "./schema.ts";
export {
  type AlertName,
  AUTH_SERVICE_PORTS,
  type FlowEvidence,
  isBehaviourClass,
  nameAlert,
  nameFromEvidence,
  NAMING_LIMITS,
  normaliseClassName,
} from "./naming.ts";
export {
  type AggregatorOptions,
  AlertAggregator,
  type AlertVolumeStats,
  DEFAULT_MIN_UNKNOWN_FLOWS,
  type EmittedAlert,
  findByteColumns,
  SINGLE_FLOW_STRONG_MARGIN,
  type SuppressedUnknowns,
  type UnknownAlertRule,
  voteThresholds,
} from "./aggregator.ts";
export { TrafficMinutes } from "./traffic.ts";
export { type OneSidedStats, oneSidedWarning, PATH_PROBE_MAX_TTL } from "../evidence/mod.ts";
export * from "./sinks/mod.ts";
export { AlertVolumeCap, DEFAULT_ALERTS_PER_MINUTE, type SuppressedLines } from "./volume.ts";
