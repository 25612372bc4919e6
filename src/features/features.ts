/**
 * Turns a finished flow's running state into its output row: the CIC feature
 * vector (schema.ts order) plus identity, timing and Zeek connection state in
 * the FlowBatch's parallel arrays.
 */
import { CONN_STATES, type FlowBatch } from "./flow_batch.ts";
import { PROTO_TCP } from "./decode.ts";
import type { FlowTable } from "./flow_table.ts";
import {
  END_INTERIM,
  EXPORT_COUNT_MASK,
  FLOW_WORDS,
  H_BWD_DATA,
  H_BWD_FIN,
  H_BWD_RST,
  H_BWD_SYN,
  H_BWD_SYNACK,
  H_FIRST_TTL_MASK,
  H_FWD_DATA,
  H_FWD_FIN,
  H_FWD_RST,
  H_FWD_SYN,
  H_FWD_SYNACK,
  H_LOGIN_COUNT_MAX,
  H_LOGIN_FAILED_SHIFT,
  H_LOGIN_OK_SHIFT,
  INIT_WIN_MASK,
  INIT_WIN_TTL_SHIFT,
  MIN_SEG_UNSET,
  ROW,
  STATS_WORDS,
} from "./flow_layout.ts";
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
    interim: new Uint8Array(capacity),
    exportSeq: new Uint16Array(capacity),
    logins: new Uint8Array(capacity),
    firstTtl: new Uint8Array(capacity),
  };
}

/**
 * A FlowBatch's per-row columns besides `features`: name, element type and
 * values per row. Bulk copies, shared layouts and row sizes are built from
 * this one list, so a new column is added here and in createFlowBatch.
 */
export const FLOW_ROW_COLUMNS = [
  ["srcAddr", Uint8Array, 16],
  ["dstAddr", Uint8Array, 16],
  ["srcPort", Uint16Array, 1],
  ["dstPort", Uint16Array, 1],
  ["protocol", Uint8Array, 1],
  ["ipVersion", Uint8Array, 1],
  ["vlan", Uint16Array, 1],
  ["startMicros", Float64Array, 1],
  ["endMicros", Float64Array, 1],
  ["connState", Uint8Array, 1],
  ["endReason", Uint8Array, 1],
  ["fwdPackets", Uint32Array, 1],
  ["bwdPackets", Uint32Array, 1],
  ["interim", Uint8Array, 1],
  ["exportSeq", Uint16Array, 1],
  ["logins", Uint8Array, 1],
  ["firstTtl", Uint8Array, 1],
] as const;

/** Bytes one row of a FlowBatch of `width` feature columns takes, every column counted. */
export function flowRowBytes(width: number): number {
  let bytes = width * Float32Array.BYTES_PER_ELEMENT;
  for (const [, Kind, perRow] of FLOW_ROW_COLUMNS) bytes += Kind.BYTES_PER_ELEMENT * perRow;
  return bytes;
}

/**
 * Copies rows `[from, from + n)` of `src` to `to` from row `at` on, a
 * column at a time (bulk copies; `to` must hold the rows and share the width).
 */
export function copyFlowBatchRange(
  src: FlowBatch,
  from: number,
  n: number,
  to: FlowBatch,
  at: number,
): void {
  const w = src.width, end = from + n;
  to.features.set(src.features.subarray(from * w, end * w), at * w);
  for (const [name, , perRow] of FLOW_ROW_COLUMNS) {
    to[name].set(src[name].subarray(from * perRow, end * perRow), at * perRow);
  }
}

/** A new batch holding rows `rows` of `from` (in that order), e.g. to drop some before scoring. */
export function copyFlowRows(from: FlowBatch, rows: ArrayLike<number>): FlowBatch {
  const out = createFlowBatch(Math.max(1, rows.length), from.width);
  const width = from.width;
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    out.features.set(from.features.subarray(i * width, (i + 1) * width), k * width);
    out.srcAddr.set(from.srcAddr.subarray(i * 16, i * 16 + 16), k * 16);
    out.dstAddr.set(from.dstAddr.subarray(i * 16, i * 16 + 16), k * 16);
    out.srcPort[k] = from.srcPort[i];
    out.dstPort[k] = from.dstPort[i];
    out.protocol[k] = from.protocol[i];
    out.ipVersion[k] = from.ipVersion[i];
    out.vlan[k] = from.vlan[i];
    out.startMicros[k] = from.startMicros[i];
    out.endMicros[k] = from.endMicros[i];
    out.connState[k] = from.connState[i];
    out.endReason[k] = from.endReason[i];
    out.fwdPackets[k] = from.fwdPackets[i];
    out.bwdPackets[k] = from.bwdPackets[i];
    out.interim[k] = from.interim[i];
    out.exportSeq[k] = from.exportSeq[i];
    out.logins[k] = from.logins[i];
    out.firstTtl[k] = from.firstTtl[i];
  }
  out.count = rows.length;
  return out;
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

/**
 * Sum of squared deviations from the mean of `n` values, from their sum and
 * sum of squares: (n * sumSquares - sum^2) / n, with both products taken
 * exactly (Dekker) so the difference does not cancel away when the values
 * are nearly equal (a periodic beacon's IATs must give a std of 0).
 */
export function squaredDeviations(sumSquares: number, sum: number, n: number): number {
  if (n < 2) return 0;
  const p = n * sumSquares, pError = productError(n, sumSquares, p);
  const q = sum * sum, qError = productError(sum, sum, q);
  const m2 = ((p - q) + (pError - qError)) / n;
  return m2 > 0 ? m2 : 0;
}

/** Veltkamp's split constant for doubles: 2^27 + 1. */
const SPLIT = 134217729;

/** The rounding error of the product `p = a * b`: a * b - p exactly (Dekker's TwoProduct). */
function productError(a: number, b: number, p: number): number {
  let c = SPLIT * a;
  const aHigh = c - (c - a), aLow = a - aHigh;
  c = SPLIT * b;
  const bHigh = c - (c - b), bLow = b - bHigh;
  return ((aHigh * bHigh - p) + aHigh * bLow + aLow * bHigh) + aLow * bLow;
}

/** Sample standard deviation of `n` values from their sum and sum of squares. */
const std = (sumSquares: number, sum: number, n: number) =>
  n > 1 ? Math.sqrt(squaredDeviations(sumSquares, sum, n) / (n - 1)) : 0;

/** Writes flow `id` of `table` as row `row` of `out`. */
export function writeFlowRow(
  table: FlowTable,
  id: number,
  reason: number,
  out: FlowBatch,
  row: number,
): void {
  // The flow row holds identity, start, initial windows and TCP history; the
  // statistics row (complete while the flow ends) everything counted.
  const { u8, u16, i32, f64 } = table;
  const fw = id * FLOW_WORDS, fd = fw >> 1, fh = fw << 1, fb = fw << 2;
  const F = ROW.flow;
  const start = f64[fd + F.f64.startMicros];
  // Statistics row bases in each view.
  const { su8, su16 } = table, su32 = table.su32, sf64 = table.sf64;
  const w = table.endingStats * STATS_WORDS, d = w >> 1, h = w << 1, b = w << 2;
  const W = ROW.u32, D = ROW.f64;
  const duration = su32[w + W.lastSeen];
  const nf = su32[w + W.fwdPackets], nb = su32[w + W.bwdPackets];
  const n = nf + nb;
  const sf = sf64[d + D.fwdBytes], sb = sf64[d + D.bwdBytes];
  const seconds = duration / 1e6;
  const f = out.features;
  let k = row * out.width;

  f[k++] = duration;
  f[k++] = nf;
  f[k++] = nb;
  f[k++] = sf;
  f[k++] = sb;
  // Fwd / Bwd Packet Length Max, Min, Mean, Std.
  f[k++] = nf > 0 ? su32[w + W.fwdLenMax] : 0;
  f[k++] = nf > 0 ? su32[w + W.fwdLenMin] : 0;
  f[k++] = nf > 0 ? sf / nf : 0;
  f[k++] = std(sf64[d + D.fwdLenSq], sf, nf);
  f[k++] = nb > 0 ? su32[w + W.bwdLenMax] : 0;
  f[k++] = nb > 0 ? su32[w + W.bwdLenMin] : 0;
  f[k++] = nb > 0 ? sb / nb : 0;
  f[k++] = std(sf64[d + D.bwdLenSq], sb, nb);
  // Flow Bytes/s, Packets/s.
  f[k++] = seconds > 0 ? (sf + sb) / seconds : 0;
  f[k++] = seconds > 0 ? n / seconds : 0;
  // Flow IAT Mean, Std, Max, Min: the IATs sum to the duration.
  const nIat = n - 1;
  f[k++] = nIat > 0 ? duration / nIat : 0;
  f[k++] = std(sf64[d + D.flowIatSq], duration, nIat);
  f[k++] = nIat > 0 ? su32[w + W.flowIatMax] : 0;
  f[k++] = nIat > 0 ? su32[w + W.flowIatMin] : 0;
  // Fwd IAT Total, Mean, Std, Max, Min.
  const nfIat = nf - 1;
  const fwdIatTotal = nfIat > 0 ? su32[w + W.fwdLast] : 0;
  f[k++] = fwdIatTotal;
  f[k++] = nfIat > 0 ? fwdIatTotal / nfIat : 0;
  f[k++] = std(sf64[d + D.fwdIatSq], fwdIatTotal, nfIat);
  f[k++] = nfIat > 0 ? su32[w + W.fwdIatMax] : 0;
  f[k++] = nfIat > 0 ? su32[w + W.fwdIatMin] : 0;
  // Bwd IAT Total, Mean, Std, Max, Min.
  const nbIat = nb - 1;
  const bwdIatTotal = nbIat > 0 ? su32[w + W.bwdLast] - su32[w + W.bwdFirst] : 0;
  f[k++] = bwdIatTotal;
  f[k++] = nbIat > 0 ? bwdIatTotal / nbIat : 0;
  f[k++] = std(sf64[d + D.bwdIatSq], bwdIatTotal, nbIat);
  f[k++] = nbIat > 0 ? su32[w + W.bwdIatMax] : 0;
  f[k++] = nbIat > 0 ? su32[w + W.bwdIatMin] : 0;
  // PSH / URG per direction, header lengths, per-direction rates.
  const fwdPsh = su32[w + W.fwdPsh], bwdPsh = su32[w + W.bwdPsh];
  const fwdUrg = su32[w + W.fwdUrg], bwdUrg = su32[w + W.bwdUrg];
  f[k++] = fwdPsh;
  f[k++] = bwdPsh;
  f[k++] = fwdUrg;
  f[k++] = bwdUrg;
  const fwdHeader = sf64[d + D.fwdHeaderBytes];
  f[k++] = fwdHeader;
  f[k++] = sf64[d + D.bwdHeaderBytes];
  f[k++] = seconds > 0 ? nf / seconds : 0;
  f[k++] = seconds > 0 ? nb / seconds : 0;
  // Packet length over both directions.
  const minLen = Math.min(
    nf > 0 ? su32[w + W.fwdLenMin] : Infinity,
    nb > 0 ? su32[w + W.bwdLenMin] : Infinity,
  );
  f[k++] = n > 0 ? minLen : 0;
  f[k++] = Math.max(nf > 0 ? su32[w + W.fwdLenMax] : 0, nb > 0 ? su32[w + W.bwdLenMax] : 0);
  const mean = n > 0 ? (sf + sb) / n : 0;
  const m2 = squaredDeviations(sf64[d + D.fwdLenSq] + sf64[d + D.bwdLenSq], sf + sb, n);
  const variance = n > 1 ? m2 / (n - 1) : 0;
  f[k++] = mean;
  f[k++] = Math.sqrt(variance);
  f[k++] = variance;
  // Flag counts: FIN SYN RST PSH ACK URG CWR ECE (PSH and URG are counted per direction).
  f[k++] = su32[w + W.fin];
  f[k++] = su32[w + W.syn];
  f[k++] = su32[w + W.rst];
  f[k++] = fwdPsh + bwdPsh;
  f[k++] = su32[w + W.ack];
  f[k++] = fwdUrg + bwdUrg;
  f[k++] = su32[w + W.cwr];
  f[k++] = su32[w + W.ece];
  f[k++] = nf > 0 ? Math.floor(nb / nf) : 0;
  f[k++] = mean;
  f[k++] = nf > 0 ? sf / nf : 0;
  f[k++] = nb > 0 ? sb / nb : 0;
  f[k++] = fwdHeader;
  // Bulk: bytes/bulk, packets/bulk, rate, each rounded down as in CICFlowMeter.
  k = writeBulk(
    f,
    k,
    su32[w + W.fBulkStates],
    sf64[d + D.fBulkBytes],
    su32[w + W.fBulkPackets],
    su32[w + W.fBulkDuration],
  );
  k = writeBulk(
    f,
    k,
    su32[w + W.bBulkStates],
    sf64[d + D.bBulkBytes],
    su32[w + W.bBulkPackets],
    su32[w + W.bBulkDuration],
  );
  // Subflows.
  const subflows = su16[h + ROW.u16.subflows];
  f[k++] = Math.floor(nf / subflows);
  f[k++] = Math.floor(sf / subflows);
  f[k++] = Math.floor(nb / subflows);
  f[k++] = Math.floor(sb / subflows);
  const initWinFwd = i32[fw + F.i32.initWinFwd];
  f[k++] = initWinFwd < 0 ? initWinFwd : initWinFwd & INIT_WIN_MASK;
  f[k++] = i32[fw + F.i32.initWinBwd];
  f[k++] = su32[w + W.actDataFwd];
  const minSeg = su8[b + ROW.u8.minSegFwd];
  f[k++] = nf > 0 && minSeg !== MIN_SEG_UNSET ? minSeg : 0;
  // Active and idle periods.
  k = writePeriods(
    f,
    k,
    su32[w + W.activeCount],
    su32[w + W.activeSum],
    sf64[d + D.activeSq],
    su32[w + W.activeMax],
    su32[w + W.activeMin],
  );
  writePeriods(
    f,
    k,
    su32[w + W.idleCount],
    su32[w + W.idleSum],
    sf64[d + D.idleSq],
    su32[w + W.idleMax],
    su32[w + W.idleMin],
  );

  // Identity and bookkeeping.
  // Addresses: the row holds the decoder's address bytes (copied as words), in order.
  const srcOut = out.srcAddr, dstOut = out.dstAddr, at = row * 16;
  const srcIn = fb + 4 * F.u32.srcWords, dstIn = fb + 4 * F.u32.dstWords;
  for (let j = 0; j < 16; j++) {
    srcOut[at + j] = u8[srcIn + j];
    dstOut[at + j] = u8[dstIn + j];
  }
  const protocol = u8[fb + F.u8.protocol];
  out.srcPort[row] = u16[fh + F.u16.srcPort];
  out.dstPort[row] = u16[fh + F.u16.dstPort];
  out.protocol[row] = protocol;
  out.ipVersion[row] = u8[fb + F.u8.ipVersion];
  out.vlan[row] = u16[fh + F.u16.vlan];
  out.startMicros[row] = start;
  out.endMicros[row] = start + duration;
  const history = u16[fh + F.u16.tcpHistory];
  out.connState[row] = connStateOf(protocol, history, nb, nf);
  if (protocol === PROTO_TCP) {
    // Failed logins in the low nibble, successful ones in the high (flow_layout.ts).
    out.logins[row] = ((history >>> H_LOGIN_FAILED_SHIFT) & H_LOGIN_COUNT_MAX) |
      (((history >>> H_LOGIN_OK_SHIFT) & H_LOGIN_COUNT_MAX) << 4);
    out.firstTtl[row] = (i32[fw + F.i32.initWinFwd] >>> INIT_WIN_TTL_SHIFT) & H_FIRST_TTL_MASK;
  } else {
    // Other flows keep their first packet's TTL there instead (flow_layout.ts).
    out.logins[row] = 0;
    out.firstTtl[row] = history & H_FIRST_TTL_MASK;
  }
  out.endReason[row] = reason;
  out.fwdPackets[row] = nf;
  out.bwdPackets[row] = nb;
  out.interim[row] = reason === END_INTERIM ? 1 : 0;
  out.exportSeq[row] = u16[fh + F.u16.exports] & EXPORT_COUNT_MASK;
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
  sumSquares: number,
  max: number,
  min: number,
): number {
  f[k++] = count > 0 ? sum / count : 0;
  f[k++] = std(sumSquares, sum, count);
  f[k++] = count > 0 ? max : 0;
  f[k++] = count > 0 ? min : 0;
  return k;
}
