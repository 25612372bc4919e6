/**
 * The contract between the flow meter and everything downstream (labelling,
 * training, inference, alerts): completed flows leave the flow table in
 * batches of typed arrays. Row `i` of the model input is
 * `features.subarray(i * width, (i + 1) * width)`, its columns named by the
 * feature set (see `schema.ts`). Identity and timing of each flow sit in
 * parallel arrays so nothing is turned into strings until someone prints it.
 *
 * Addresses are 16 bytes per flow; IPv4 is stored IPv4-mapped
 * (`::ffff:a.b.c.d`) and `ipVersion` says which to print.
 * "Source" is the host that sent the flow's first packet (CICFlowMeter's
 * forward direction).
 */
export interface FlowBatch {
  /** Number of valid flows. */
  count: number;
  /** Number of feature columns per row. */
  width: number;
  /** Row-major feature matrix, `count * width` valid values. */
  features: Float32Array;
  /** 16 bytes per flow. */
  srcAddr: Uint8Array;
  /** 16 bytes per flow. */
  dstAddr: Uint8Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  /** IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  protocol: Uint8Array;
  /** 4 or 6. */
  ipVersion: Uint8Array;
  /** Outer 802.1Q VLAN id, 0 when untagged. */
  vlan: Uint16Array;
  /** First packet time, microseconds since the Unix epoch. */
  startMicros: Float64Array;
  /** Last packet time, microseconds since the Unix epoch. */
  endMicros: Float64Array;
  /** Index into CONN_STATES (Zeek connection state). */
  connState: Uint8Array;
  /** Why the flow ended: index into FLOW_END_REASONS. */
  endReason: Uint8Array;
  /** Packets each way, for quick checks without the feature matrix. */
  fwdPackets: Uint32Array;
  bwdPackets: Uint32Array;
  /**
   * 1: the flow is still open and this row is a snapshot of it so far
   * (cumulative since its first packet; `endReason` is "interim"); 0: the
   * flow ended. Only meters with interim export on (detect, analyze) make
   * interim rows.
   */
  interim: Uint8Array;
  /**
   * Rows of this flow exported before this one: 0 on its first row. Count a
   * flow once, on exportSeq 0; a later row of the same flow (same key and
   * `startMicros`) carries cumulative values that replace the earlier row's.
   * A flow whose last interim row already held all its packets ends without
   * another row.
   */
  exportSeq: Uint16Array;
  /**
   * A cleartext login service's answers in this flow since its previous row
   * (interim rows) that said a login failed (low four bits) and succeeded
   * (high four), each at most 7 (login_outcomes.ts); 0 for other flows.
   */
  logins: Uint8Array;
  /**
   * IP TTL (IPv6 hop limit) of the flow's first packet. A stack sends 64, 128 or 255, so a datagram
   * seen with 30 or less was sent with a TTL meant to expire on the way: a
   * traceroute's path probe (see host_evidence.ts).
   */
  firstTtl: Uint8Array;
}

/** Zeek's connection states, in a fixed order (the index is stored). */
export const CONN_STATES = [
  "OTH",
  "S0",
  "S1",
  "SF",
  "REJ",
  "S2",
  "S3",
  "RSTO",
  "RSTR",
  "RSTOS0",
  "RSTRH",
  "SH",
  "SHR",
] as const;
export type ConnState = typeof CONN_STATES[number];

/** Why a flow left the table. */
export const FLOW_END_REASONS = [
  "idle",
  "active",
  "fin",
  "rst",
  "evicted",
  "end-of-input",
  "interim",
] as const;
export type FlowEndReason = typeof FLOW_END_REASONS[number];

/** One flow as plain values, for output (CSV, JSONL, alerts); not for the hot path. */
export interface FlowRecord {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  protocol: number;
  vlan: number;
  startMicros: number;
  endMicros: number;
  connState: ConnState;
  endReason: FlowEndReason;
  communityId: string;
  fwdPackets: number;
  bwdPackets: number;
}
