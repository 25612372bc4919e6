/**
 * Turns a finished flow's running state into its output row: the CIC feature
 * vector (schema.ts order) plus identity, timing and Zeek connection state in
 * the FlowBatch's parallel arrays.
 */
import { CONN_STATES, type FlowBatch } from "./flow_batch.ts";
import { PROTO_TCP } from "./decode.ts";
import {
  type FlowTable,
  H_BWD_DATA,
  H_BWD_FIN,
  H_BWD_RST,
  H_BWD_SYN,
  H_BWD_SYNACK,
  H_FWD_DATA,
  H_FWD_FIN,
  H_FWD_RST,
  H_FWD_SYN,
  H_FWD_SYNACK,
  ROW,
  ROW_SLOTS,
} from "./flow_table.ts";
import { FEATURE_COUNT } from "./schema.ts";

/** Allocates an empty FlowBatch for `capacity` flows of `width` features. */
export function createFlowBatch(capacity: number, width = FEATURE_COUNT): FlowBatch {
  return {
    count: 0,
    width,
    features: new Float32Array(capacity * width),
    srcAddr: new Uint8Array(capacity * 16),
    dstAddr: new Uint8Array(capacity * 16),
    srcPort: new Uint16Array(capacity),
    dstPort: new Uint16Array(capacity),
    protocol: new Uint8Array(capacity),
    ipVersion: new Uint8Array(capacity),
    vlan: new Uint16Array(capacity),
    startMicros: new Float64Array(capacity),
    endMicros: new Float64Array(capacity),
    connState: new Uint8Array(capacity),
    endReason: new Uint8Array(capacity),
    fwdPackets: new Uint32Array(capacity),
    bwdPackets: new Uint32Array(capacity),
  };
}

const CONN = Object.fromEntries(CONN_STATES.map((name, index) => [name, index])) as Record<
  typeof CONN_STATES[number],
  number
>;

/**
 * Zeek's conn_state from what each side sent. The originator is the SYN
 * sender; when the first packet seen was the SYN-ACK, roles swap as in Zeek.
 * UDP and other protocols: SF with packets both ways, S0 with one way only
 * (Zeek reports these too), OTH never.
 */
export function connStateOf(
  protocol: number,
  history: number,
  bwdPackets: number,
  fwdPackets: number,
): number {
  if (protocol !== PROTO_TCP) return bwdPackets > 0 && fwdPackets > 0 ? CONN.SF : CONN.S0;
  // Role bits for originator (o) and responder (r).
  let o = history & 0x0f, r = (history >> 4) & 0x0f;
  let rPackets = bwdPackets;
  const fwdLooksResponder = (history & H_FWD_SYNACK) !== 0 && (history & H_FWD_SYN) === 0 &&
    (history & H_BWD_SYNACK) === 0;
  if (fwdLooksResponder) {
    [o, r] = [r, o];
    rPackets = fwdPackets;
  }
  const SYN = H_FWD_SYN, SYNACK = H_FWD_SYNACK, FIN = H_FWD_FIN, RST = H_FWD_RST;
  if (o & SYN) {
    if (r & SYNACK) {
      if (o & RST) return CONN.RSTO;
      if (r & RST) return CONN.RSTR;
      if ((o & FIN) && (r & FIN)) return CONN.SF;
      if (o & FIN) return CONN.S2;
      if (r & FIN) return CONN.S3;
      return CONN.S1;
    }
    if (r & RST) return CONN.REJ;
    if (o & RST) return CONN.RSTOS0;
    if (o & FIN) return CONN.SH;
    return rPackets === 0 ? CONN.S0 : CONN.OTH;
  }
  if (r & SYNACK) {
    if (r & RST) return CONN.RSTRH;
    if (r & FIN) return CONN.SHR;
  }
  return CONN.OTH;
}

// Re-exported for tests that build histories by hand.
export const TCP_HISTORY = {
  H_FWD_SYN,
  H_FWD_SYNACK,
  H_FWD_FIN,
  H_FWD_RST,
  H_BWD_SYN,
  H_BWD_SYNACK,
  H_BWD_FIN,
  H_BWD_RST,
  H_FWD_DATA,
  H_BWD_DATA,
};

const std = (m2: number, n: number) => (n > 1 ? Math.sqrt(Math.max(0, m2) / (n - 1)) : 0);

/** Writes flow `id` of `table` as row `row` of `out`. */
export function writeFlowRow(
  table: FlowTable,
  id: number,
  reason: number,
  out: FlowBatch,
  row: number,
): void {
  const t = table;
  // Row bases: u32, i32 and f32 views share slot numbers; the f64 view has its own.
  const u32Row = id * ROW_SLOTS, f32Row = u32Row, f64Row = id * (ROW_SLOTS / 2);
  const start = t.f64[f64Row + ROW.startMicros];
  const duration = t.u32[u32Row + ROW.lastSeen];
  const nf = t.u32[u32Row + ROW.fwdPackets], nb = t.u32[u32Row + ROW.bwdPackets];
  const n = nf + nb;
  const sf = t.f64[f64Row + ROW.fwdBytes], sb = t.f64[f64Row + ROW.bwdBytes];
  const seconds = duration / 1e6;
  const f = out.features;
  let k = row * out.width;

  f[k++] = duration;
  f[k++] = nf;
  f[k++] = nb;
  f[k++] = sf;
  f[k++] = sb;
  // Fwd / Bwd Packet Length Max, Min, Mean, Std.
  f[k++] = nf > 0 ? t.u32[u32Row + ROW.fwdLenMax] : 0;
  f[k++] = nf > 0 ? t.u32[u32Row + ROW.fwdLenMin] : 0;
  f[k++] = nf > 0 ? sf / nf : 0;
  f[k++] = std(t.f32[f32Row + ROW.fwdLenM2], nf);
  f[k++] = nb > 0 ? t.u32[u32Row + ROW.bwdLenMax] : 0;
  f[k++] = nb > 0 ? t.u32[u32Row + ROW.bwdLenMin] : 0;
  f[k++] = nb > 0 ? sb / nb : 0;
  f[k++] = std(t.f32[f32Row + ROW.bwdLenM2], nb);
  // Flow Bytes/s, Packets/s.
  f[k++] = seconds > 0 ? (sf + sb) / seconds : 0;
  f[k++] = seconds > 0 ? n / seconds : 0;
  // Flow IAT Mean, Std, Max, Min.
  const nIat = n - 1;
  f[k++] = nIat > 0 ? duration / nIat : 0;
  f[k++] = std(t.f32[f32Row + ROW.flowIatM2], nIat);
  f[k++] = nIat > 0 ? t.u32[u32Row + ROW.flowIatMax] : 0;
  f[k++] = nIat > 0 ? t.u32[u32Row + ROW.flowIatMin] : 0;
  // Fwd IAT Total, Mean, Std, Max, Min.
  const nfIat = nf - 1;
  const fwdIatTotal = nfIat > 0 ? t.u32[u32Row + ROW.fwdLast] : 0;
  f[k++] = fwdIatTotal;
  f[k++] = nfIat > 0 ? fwdIatTotal / nfIat : 0;
  f[k++] = std(t.f32[f32Row + ROW.fwdIatM2], nfIat);
  f[k++] = nfIat > 0 ? t.u32[u32Row + ROW.fwdIatMax] : 0;
  f[k++] = nfIat > 0 ? t.u32[u32Row + ROW.fwdIatMin] : 0;
  // Bwd IAT Total, Mean, Std, Max, Min.
  const nbIat = nb - 1;
  const bwdIatTotal = nbIat > 0 ? t.u32[u32Row + ROW.bwdLast] - t.u32[u32Row + ROW.bwdFirst] : 0;
  f[k++] = bwdIatTotal;
  f[k++] = nbIat > 0 ? bwdIatTotal / nbIat : 0;
  f[k++] = std(t.f32[f32Row + ROW.bwdIatM2], nbIat);
  f[k++] = nbIat > 0 ? t.u32[u32Row + ROW.bwdIatMax] : 0;
  f[k++] = nbIat > 0 ? t.u32[u32Row + ROW.bwdIatMin] : 0;
  // PSH / URG per direction, header lengths, per-direction rates.
  f[k++] = t.u32[u32Row + ROW.fwdPsh];
  f[k++] = t.u32[u32Row + ROW.bwdPsh];
  f[k++] = t.u32[u32Row + ROW.fwdUrg];
  f[k++] = t.u32[u32Row + ROW.bwdUrg];
  const fwdHeader = t.f64[f64Row + ROW.fwdHeaderBytes];
  f[k++] = fwdHeader;
  f[k++] = t.f64[f64Row + ROW.bwdHeaderBytes];
  f[k++] = seconds > 0 ? nf / seconds : 0;
  f[k++] = seconds > 0 ? nb / seconds : 0;
  // Packet length over both directions: the two Welford groups combined.
  const minLen = Math.min(
    nf > 0 ? t.u32[u32Row + ROW.fwdLenMin] : Infinity,
    nb > 0 ? t.u32[u32Row + ROW.bwdLenMin] : Infinity,
  );
  f[k++] = n > 0 ? minLen : 0;
  f[k++] = Math.max(
    nf > 0 ? t.u32[u32Row + ROW.fwdLenMax] : 0,
    nb > 0 ? t.u32[u32Row + ROW.bwdLenMax] : 0,
  );
  const mean = n > 0 ? (sf + sb) / n : 0;
  let m2 = t.f32[f32Row + ROW.fwdLenM2] + t.f32[f32Row + ROW.bwdLenM2];
  if (nf > 0 && nb > 0) {
    const delta = sf / nf - sb / nb;
    m2 += delta * delta * nf * nb / n;
  }
  const variance = n > 1 ? Math.max(0, m2) / (n - 1) : 0;
  f[k++] = mean;
  f[k++] = Math.sqrt(variance);
  f[k++] = variance;
  // Flag counts: FIN SYN RST PSH ACK URG CWR ECE.
  for (let flag = 0; flag < 8; flag++) f[k++] = t.u32[u32Row + ROW.flags + flag];
  f[k++] = nf > 0 ? Math.floor(nb / nf) : 0;
  f[k++] = mean;
  f[k++] = nf > 0 ? sf / nf : 0;
  f[k++] = nb > 0 ? sb / nb : 0;
  f[k++] = fwdHeader;
  // Bulk: bytes/bulk, packets/bulk, rate, each rounded down as in CICFlowMeter.
  k = writeBulk(
    f,
    k,
    t.u32[u32Row + ROW.fBulkStates],
    t.f64[f64Row + ROW.fBulkBytes],
    t.u32[u32Row + ROW.fBulkPackets],
    t.u32[u32Row + ROW.fBulkDuration],
  );
  k = writeBulk(
    f,
    k,
    t.u32[u32Row + ROW.bBulkStates],
    t.f64[f64Row + ROW.bBulkBytes],
    t.u32[u32Row + ROW.bBulkPackets],
    t.u32[u32Row + ROW.bBulkDuration],
  );
  // Subflows.
  const subflows = t.u32[u32Row + ROW.subflows];
  f[k++] = Math.floor(nf / subflows);
  f[k++] = Math.floor(sf / subflows);
  f[k++] = Math.floor(nb / subflows);
  f[k++] = Math.floor(sb / subflows);
  f[k++] = t.i32[u32Row + ROW.initWinFwd];
  f[k++] = t.i32[u32Row + ROW.initWinBwd];
  f[k++] = t.u32[u32Row + ROW.actDataFwd];
  f[k++] = nf > 0 && t.u32[u32Row + ROW.minSegFwd] !== 0xffff ? t.u32[u32Row + ROW.minSegFwd] : 0;
  // Active and idle periods.
  k = writePeriods(
    f,
    k,
    t.u32[u32Row + ROW.activeCount],
    t.u32[u32Row + ROW.activeSum],
    t.f32[f32Row + ROW.activeM2],
    t.u32[u32Row + ROW.activeMax],
    t.u32[u32Row + ROW.activeMin],
  );
  writePeriods(
    f,
    k,
    t.u32[u32Row + ROW.idleCount],
    t.u32[u32Row + ROW.idleSum],
    t.f32[f32Row + ROW.idleM2],
    t.u32[u32Row + ROW.idleMax],
    t.u32[u32Row + ROW.idleMin],
  );

  // Identity and bookkeeping.
  // Addresses: the row keeps them as 32-bit words in memory (little-endian) order.
  for (let w = 0; w < 4; w++) {
    const sw = t.u32[u32Row + ROW.srcWords + w], dw = t.u32[u32Row + ROW.dstWords + w];
    for (let byte = 0; byte < 4; byte++) {
      out.srcAddr[row * 16 + w * 4 + byte] = (sw >>> (8 * byte)) & 0xff;
      out.dstAddr[row * 16 + w * 4 + byte] = (dw >>> (8 * byte)) & 0xff;
    }
  }
  out.srcPort[row] = t.u32[u32Row + ROW.srcPort];
  out.dstPort[row] = t.u32[u32Row + ROW.dstPort];
  out.protocol[row] = t.u32[u32Row + ROW.protocol];
  out.ipVersion[row] = t.u32[u32Row + ROW.ipVersion];
  out.vlan[row] = t.u32[u32Row + ROW.vlan];
  out.startMicros[row] = start;
  out.endMicros[row] = start + duration;
  out.connState[row] = connStateOf(
    t.u32[u32Row + ROW.protocol],
    t.u32[u32Row + ROW.tcpHistory],
    nb,
    nf,
  );
  out.endReason[row] = reason;
  out.fwdPackets[row] = nf;
  out.bwdPackets[row] = nb;
}

function writeBulk(
  f: Float32Array,
  k: number,
  states: number,
  bytes: number,
  packets: number,
  duration: number,
): number {
  f[k++] = states > 0 ? Math.floor(bytes / states) : 0;
  f[k++] = states > 0 ? Math.floor(packets / states) : 0;
  f[k++] = duration > 0 ? Math.floor(bytes / (duration / 1e6)) : 0;
  return k;
}

function writePeriods(
  f: Float32Array,
  k: number,
  count: number,
  sum: number,
  m2: number,
  max: number,
  min: number,
): number {
  f[k++] = count > 0 ? sum / count : 0;
  f[k++] = std(m2, count);
  f[k++] = count > 0 ? max : 0;
  f[k++] = count > 0 ? min : 0;
  return k;
}
