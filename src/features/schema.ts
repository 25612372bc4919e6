/**
 * The feature set: the numeric model inputs, named exactly as in the
 * CIC-IDS2017 CSV files (CICFlowMeter's columns), in the same order, so a
 * model trained on those CSVs reads our rows unchanged. The identity columns
 * (Flow ID, addresses, ports, protocol, timestamp) are described separately:
 * they are printed but never fed to a model.
 *
 * Lengths are L4 payload bytes and header lengths are L4 header bytes, as in
 * CICFlowMeter. Where CICFlowMeter 3 (which produced CIC-IDS2017) had a known
 * bug, the intended definition is used and the description says so.
 */

/** One column: its CSV name, what it means, and its unit. */
export interface FeatureColumn {
  name: string;
  description: string;
  unit: string;
}

/** A named, versioned list of model input columns. */
export interface FeatureSet {
  name: string;
  version: number;
  columns: FeatureColumn[];
}

const c = (name: string, unit: string, description: string): FeatureColumn => ({
  name,
  description,
  unit,
});

const stats = (prefix: string, what: string, unit: string): FeatureColumn[] => [
  c(`${prefix} Max`, unit, `Largest ${what}`),
  c(`${prefix} Min`, unit, `Smallest ${what}`),
  c(`${prefix} Mean`, unit, `Mean ${what}`),
  c(`${prefix} Std`, unit, `Sample standard deviation of ${what} (0 with one value)`),
];

const iat = (prefix: string, what: string): FeatureColumn[] => [
  c(`${prefix} Mean`, "microseconds", `Mean time between ${what}`),
  c(`${prefix} Std`, "microseconds", `Sample standard deviation of the time between ${what}`),
  c(`${prefix} Max`, "microseconds", `Longest time between ${what}`),
  c(`${prefix} Min`, "microseconds", `Shortest time between ${what}`),
];

/** The CIC flow features, in CIC-IDS2017 column order (Destination Port is an identity column). */
export const FEATURE_SET: FeatureSet = {
  name: "cic-flow",
  version: 1,
  columns: [
    c("Flow Duration", "microseconds", "Time from the first to the last packet of the flow"),
    c("Total Fwd Packets", "packets", "Packets sent by the source (the first packet's sender)"),
    c("Total Backward Packets", "packets", "Packets sent by the destination"),
    c("Total Length of Fwd Packets", "bytes", "Sum of L4 payload bytes sent forward"),
    c("Total Length of Bwd Packets", "bytes", "Sum of L4 payload bytes sent backward"),
    ...stats("Fwd Packet Length", "forward L4 payload size", "bytes"),
    ...stats("Bwd Packet Length", "backward L4 payload size", "bytes"),
    c(
      "Flow Bytes/s",
      "bytes/second",
      "Payload bytes both ways per second of duration (0 when duration is 0)",
    ),
    c(
      "Flow Packets/s",
      "packets/second",
      "Packets both ways per second of duration (0 when duration is 0)",
    ),
    ...iat("Flow IAT", "consecutive packets of the flow"),
    c("Fwd IAT Total", "microseconds", "Sum of the times between consecutive forward packets"),
    ...iat("Fwd IAT", "consecutive forward packets"),
    c("Bwd IAT Total", "microseconds", "Sum of the times between consecutive backward packets"),
    ...iat("Bwd IAT", "consecutive backward packets"),
    c("Fwd PSH Flags", "packets", "Forward packets with the TCP PSH flag"),
    c("Bwd PSH Flags", "packets", "Backward packets with the TCP PSH flag"),
    c("Fwd URG Flags", "packets", "Forward packets with the TCP URG flag"),
    c("Bwd URG Flags", "packets", "Backward packets with the TCP URG flag"),
    c("Fwd Header Length", "bytes", "Sum of forward L4 header bytes (TCP data offset, UDP 8)"),
    c("Bwd Header Length", "bytes", "Sum of backward L4 header bytes"),
    c("Fwd Packets/s", "packets/second", "Forward packets per second of duration"),
    c("Bwd Packets/s", "packets/second", "Backward packets per second of duration"),
    c("Min Packet Length", "bytes", "Smallest L4 payload size, both ways"),
    c("Max Packet Length", "bytes", "Largest L4 payload size, both ways"),
    c("Packet Length Mean", "bytes", "Mean L4 payload size, both ways"),
    c("Packet Length Std", "bytes", "Sample standard deviation of L4 payload size, both ways"),
    c("Packet Length Variance", "bytes^2", "Sample variance of L4 payload size, both ways"),
    c("FIN Flag Count", "packets", "Packets with TCP FIN, both ways"),
    c("SYN Flag Count", "packets", "Packets with TCP SYN, both ways"),
    c("RST Flag Count", "packets", "Packets with TCP RST, both ways"),
    c("PSH Flag Count", "packets", "Packets with TCP PSH, both ways"),
    c("ACK Flag Count", "packets", "Packets with TCP ACK, both ways"),
    c("URG Flag Count", "packets", "Packets with TCP URG, both ways"),
    c("CWE Flag Count", "packets", "Packets with TCP CWR, both ways (CIC's column name)"),
    c("ECE Flag Count", "packets", "Packets with TCP ECE, both ways"),
    c(
      "Down/Up Ratio",
      "ratio",
      "Backward packets / forward packets, rounded down as in CICFlowMeter",
    ),
    c("Average Packet Size", "bytes", "Payload bytes both ways / packets both ways"),
    c("Avg Fwd Segment Size", "bytes", "Forward payload bytes / forward packets"),
    c("Avg Bwd Segment Size", "bytes", "Backward payload bytes / backward packets (0 without any)"),
    c(
      "Fwd Header Length.1",
      "bytes",
      "Same as Fwd Header Length: CICFlowMeter prints it twice; pandas names the copy so",
    ),
    c(
      "Fwd Avg Bytes/Bulk",
      "bytes",
      "Forward payload bytes per bulk (4+ data packets, gaps <= 1 s, no reverse data between)",
    ),
    c("Fwd Avg Packets/Bulk", "packets", "Forward packets per bulk"),
    c("Fwd Avg Bulk Rate", "bytes/second", "Forward bulk payload bytes per second of bulk time"),
    c(
      "Bwd Avg Bytes/Bulk",
      "bytes",
      "Backward payload bytes per bulk (CICFlowMeter 3 printed the forward value here)",
    ),
    c("Bwd Avg Packets/Bulk", "packets", "Backward packets per bulk"),
    c("Bwd Avg Bulk Rate", "bytes/second", "Backward bulk payload bytes per second of bulk time"),
    c(
      "Subflow Fwd Packets",
      "packets",
      "Forward packets / subflows (a subflow ends at a gap over 1 s), rounded down",
    ),
    c("Subflow Fwd Bytes", "bytes", "Forward payload bytes / subflows, rounded down"),
    c("Subflow Bwd Packets", "packets", "Backward packets / subflows, rounded down"),
    c("Subflow Bwd Bytes", "bytes", "Backward payload bytes / subflows, rounded down"),
    c(
      "Init_Win_bytes_forward",
      "bytes",
      "TCP window of the first forward packet; -1 without a forward TCP packet",
    ),
    c(
      "Init_Win_bytes_backward",
      "bytes",
      "TCP window of the first backward packet; -1 without a backward TCP packet",
    ),
    c("act_data_pkt_fwd", "packets", "Forward packets with at least 1 byte of L4 payload"),
    c(
      "min_seg_size_forward",
      "bytes",
      "Smallest forward L4 header size (CICFlowMeter's definition)",
    ),
    c(
      "Active Mean",
      "microseconds",
      "Mean length of active periods (packets less than the activity timeout apart)",
    ),
    c("Active Std", "microseconds", "Sample standard deviation of active period lengths"),
    c("Active Max", "microseconds", "Longest active period"),
    c("Active Min", "microseconds", "Shortest active period"),
    c("Idle Mean", "microseconds", "Mean length of idle gaps (longer than the activity timeout)"),
    c("Idle Std", "microseconds", "Sample standard deviation of idle gap lengths"),
    c("Idle Max", "microseconds", "Longest idle gap"),
    c("Idle Min", "microseconds", "Shortest idle gap"),
  ],
};

/** Number of model input columns. */
export const FEATURE_COUNT = FEATURE_SET.columns.length;

/** Column index by name, for code that fills or reads rows. */
export const FEATURE_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  FEATURE_SET.columns.map((column, index) => [column.name, index]),
);

/** Identity columns printed before the features (CIC-IDS2017 order); never model inputs. */
export const IDENTITY_COLUMNS: FeatureColumn[] = [
  c("Flow ID", "text", "Source IP-Destination IP-Source Port-Destination Port-Protocol"),
  c("Source IP", "address", "Sender of the flow's first packet"),
  c("Source Port", "port", "Source port (ICMP: the type)"),
  c("Destination IP", "address", "Receiver of the flow's first packet"),
  c("Destination Port", "port", "Destination port (ICMP: the counterpart type or the code)"),
  c("Protocol", "number", "IP protocol number"),
  c("Timestamp", "ISO 8601 UTC", "Time of the flow's first packet"),
];

/** Extra columns printed after the features, so CIC-IDS2017 loaders still find theirs. */
export const EXTRA_COLUMNS: FeatureColumn[] = [
  c("Community ID", "text", "Community ID v1 flow hash (seed 0)"),
  c(
    "Conn State",
    "text",
    "Zeek connection state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH)",
  ),
  c("VLAN", "id", "Outer 802.1Q VLAN id, 0 when untagged"),
  c("End Reason", "text", "Why the flow ended: idle, active, fin, rst, evicted, end-of-input"),
];
