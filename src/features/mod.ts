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
  DECODE_TUNNELS,
  type DecodeCounters,
  DecodedPacket,
  type DecodeOutcome,
  decodePacket,
  type DecodeTunnel,
  MAX_TUNNELS,
} from "./decode.ts";
export { communityIdV1, sha1 } from "./community_id.ts";
export {
  flowCsvHeader,
  flowCsvLines,
  flowJsonLines,
  formatFeature,
  writeFlowCsv,
} from "./flow_output.ts";
export { AsciiBytes } from "./ascii_bytes.ts";
export { ANSWER_MEMORY_MICROS, AnsweredTargets } from "./answered_targets.ts";
export { mix32 } from "./mix32.ts";
export { ARP_SWEEP_TARGETS, type ArpCounters, type ArpFinding, ArpMonitor } from "./arp_monitor.ts";
export {
  DHCP_STARVATION_CLIENTS,
  type DhcpCounters,
  type DhcpDifference,
  type DhcpFinding,
  DhcpMonitor,
} from "./dhcp_monitor.ts";
export {
  DNS_DATA_SUBDOMAIN_CHARS,
  DNS_TUNNEL_NAMES,
  type DnsCounters,
  type DnsFinding,
  DnsMonitor,
} from "./dns_monitor.ts";
export {
  type DnsSpoofCounters,
  type DnsSpoofFinding,
  DnsSpoofMonitor,
} from "./dns_spoof_monitor.ts";
export {
  HTTP_FLOOD_RATE,
  HTTP_SCAN_ERRORS,
  HTTP_SCAN_TARGETS,
  type HttpCounters,
  type HttpFinding,
  HttpMonitor,
} from "./http_monitor.ts";
export {
  ICMP_TUNNEL_BYTES,
  ICMP_TUNNEL_CONTENTS,
  type IcmpCounters,
  type IcmpFinding,
  IcmpMonitor,
} from "./icmp_monitor.ts";
export {
  MAC_FLOOD_SOURCES,
  type MacFloodCounters,
  type MacFloodFinding,
  MacFloodMonitor,
} from "./mac_flood_monitor.ts";
export {
  ND_SWEEP_TARGETS,
  type NdCounters,
  type NdFinding,
  NdMonitor,
  ROUTER_LEARNING_MICROS,
} from "./nd_monitor.ts";
export {
  connStateOf,
  copyFlowBatchRange,
  copyFlowRows,
  createFlowBatch,
  FLOW_ROW_COLUMNS,
  flowRowBytes,
} from "./features.ts";
export {
  DETECTION_METER_DEFAULTS,
  flowFeaturesAt,
  FlowMeter,
  type FlowMeterCounters,
  type FlowMeterOptions,
  flowRecordAt,
  formatAddress,
  LABELLED_METER_DEFAULTS,
  meterFlows,
  type PacketFinding,
  parseAddress,
  type ShardedFlowBatch,
} from "./flow_meter.ts";
export {
  type IpAnomalyCounters,
  type IpAnomalyFinding,
  type IpAnomalyKind,
  IpAnomalyMonitor,
  PROTOCOL_SCAN_PROTOCOLS,
} from "./ip_anomalies.ts";
export {
  AFTERIMAGE_FEATURE_SET,
  AFTERIMAGE_LAMBDAS,
  DEFAULT_WINDOW_PACKETS,
  PACKET_FEATURE_SET,
  PACKET_FEATURE_SETS,
  type PacketSetName,
  SEQUENCE_FEATURE_SET,
} from "./packet_schema.ts";
export {
  PacketContext,
  PacketFeatureExtractor,
  type PacketFeatureOptions,
  type PacketObserver,
  type PacketRows,
} from "./packet_features.ts";
export {
  AfterImage,
  type AfterImageOptions,
  decayFactors,
  DEFAULT_AFTERIMAGE_MAX_ENTRIES,
} from "./afterimage.ts";
export { KeyTable, type KeyTableOptions, type KeyTableStats, keyTableStats } from "./key_table.ts";
