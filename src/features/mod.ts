/**
 * Flow features: packet decoding, the bidirectional flow table, and the
 * CICFlowMeter-compatible feature rows that everything downstream consumes.
 *
 * ```ts
 * import { readCaptureFile } from "../capture/mod.ts";
 * import { FlowMeter, meterFlows, flowRecordAt } from "./mod.ts";
 * const meter = new FlowMeter();
 * for await (const flows of meterFlows(readCaptureFile("x.pcap"), {}, meter)) {
 *   for (let i = 0; i < flows.count; i++) console.log(flowRecordAt(flows, i));
 * }
 * console.log(meter.counters());
 * ```
 */
export {
  CONN_STATES,
  type ConnState,
  FLOW_END_REASONS,
  type FlowBatch,
  type FlowEndReason,
  type FlowRecord,
} from "./flow_batch.ts";
export {
  EXTRA_COLUMNS,
  FEATURE_COUNT,
  FEATURE_INDEX,
  FEATURE_SET,
  type FeatureColumn,
  type FeatureSet,
  IDENTITY_COLUMNS,
} from "./schema.ts";
export {
  DECODE_OUTCOMES,
  type DecodeCounters,
  DecodedPacket,
  type DecodeOutcome,
  decodePacket,
} from "./decode.ts";
export { communityIdV1, sha1 } from "./community_id.ts";
export { flowCsvHeader, flowCsvLines, flowJsonLines, formatFeature } from "./flow_output.ts";
export { connStateOf, copyFlowRows, createFlowBatch } from "./features.ts";
export {
  DETECTION_METER_DEFAULTS,
  flowFeaturesAt,
  FlowMeter,
  type FlowMeterCounters,
  type FlowMeterOptions,
  flowRecordAt,
  formatAddress,
  meterFlows,
} from "./flow_meter.ts";
