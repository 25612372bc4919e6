/**
 * CICFlowMeter's statistics, kept as running sums (counts, sums, sums of
 * squares, extremes) in fixed 320-byte statistics rows, so memory per flow is
 * constant and a packet costs no division. Times are 32-bit microsecond
 * offsets from the flow's start. Rows are reserved once for the table's
 * capacity (the operating system commits a page only when a row on it is
 * first used) and recycled through a free list; the last row is scratch for
 * flows that end without one of their own.
 */
import {
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from "./decode.ts";
import {
  B_MIN_SEG_FWD,
  BULK_DOUBLES_APART,
  BULK_WORDS_APART,
  D_ACTIVE_SQ,
  D_BWD_BYTES,
  D_BWD_HEADER,
  D_BWD_IAT_SQ,
  D_BWD_LEN_SQ,
  D_F_BULK_BYTES,
  D_F_BULK_SIZE_HELPER,
  D_FLOW_IAT_SQ,
  D_FWD_BYTES,
  D_FWD_HEADER,
  D_FWD_IAT_SQ,
  D_FWD_LEN_SQ,
  D_IDLE_SQ,
  FLAGS_SHIFT,
  FORWARD_BIT,
  H_SUBFLOWS,
  HEADER_SHIFT,
  LOG_WORDS,
  NIL,
  NO_SEGMENT,
  PAYLOAD_MASK,
  PERIOD_MAX,
  PERIOD_MIN,
  PERIOD_SUM,
  STATS_ROW_BYTES,
  STATS_WORDS,
  U32_MAX,
  W_ACK,
  W_ACT_DATA_FWD,
  W_ACTIVE_COUNT,
  W_ACTIVE_END,
  W_ACTIVE_START,
  W_BWD_FIRST,
  W_BWD_IAT_MAX,
  W_BWD_IAT_MIN,
  W_BWD_LAST,
  W_BWD_LEN_MAX,
  W_BWD_LEN_MIN,
  W_BWD_PACKETS,
  W_BWD_PSH,
  W_BWD_URG,
  W_CWR,
  W_ECE,
  W_F_BULK_DURATION,
  W_F_BULK_LAST,
  W_F_BULK_PACKET_HELPER,
  W_F_BULK_PACKETS,
  W_F_BULK_START,
  W_F_BULK_STATES,
  W_FIN,
  W_FLOW_IAT_MAX,
  W_FLOW_IAT_MIN,
  W_FWD_IAT_MAX,
  W_FWD_IAT_MIN,
  W_FWD_LAST,
  W_FWD_LEN_MAX,
  W_FWD_LEN_MIN,
  W_FWD_PACKETS,
  W_FWD_PSH,
  W_FWD_URG,
  W_IDLE_COUNT,
  W_RST,
  W_S_LAST_SEEN,
  W_SYN,
} from "./flow_layout.ts";

/** The statistics rows of a flow table and the CIC update rules that fill them. */
export class FlowStatistics {
  readonly su8: Uint8Array;
  readonly su16: Uint16Array;
  readonly su32: Uint32Array;
  readonly sf64: Float64Array;
  /** A row no flow owns, for flows that end (or are exported) without their own. */
  readonly scratch: number;
  /** Rows ever used (high-water mark), and how many are in use now. */
  rowsUsed = 0;
  live = 0;
  private freeHead = NIL;

  /** Reserves `rows` rows plus the scratch row in `buffer`. */
  constructor(buffer: ArrayBuffer, rows: number, private readonly activityTimeout: number) {
    this.su8 = new Uint8Array(buffer);
    this.su16 = new Uint16Array(buffer);
    this.su32 = new Uint32Array(buffer);
    this.sf64 = new Float64Array(buffer);
    this.scratch = rows;
  }

  /** A fresh (reset) row from the free list or past the high-water mark. */
  allocate(): number {
    let s: number;
    if (this.freeHead !== NIL) {
      s = this.freeHead;
      // A free row's first word holds the next free row + 1 (0 ends the list).
      this.freeHead = this.su32[s * STATS_WORDS] - 1;
    } else {
      s = this.rowsUsed++;
    }
    this.live++;
    this.reset(s);
    return s;
  }

  /** Returns row `s` to the free list. */
  release(s: number): void {
    this.su32[s * STATS_WORDS] = this.freeHead + 1;
    this.freeHead = s;
    this.live--;
  }

  /** Copies row `from` over row `to`. */
  copy(from: number, to: number): void {
    this.su32.copyWithin(to * STATS_WORDS, from * STATS_WORDS, (from + 1) * STATS_WORDS);
  }

  /** Bytes of rows up to the high-water mark. */
  bytesAllocated(): number {
    return this.rowsUsed * STATS_ROW_BYTES;
  }

  /** Zeroes statistics row `s`; minimums start at the top. */
  reset(s: number): void {
    const su32 = this.su32, v = s * STATS_WORDS;
    // A loop, not fill(): every ended short flow resets the scratch row, and a builtin call costs more.
    for (let k = v, e = v + STATS_WORDS; k < e; k++) su32[k] = 0;
    su32[v + W_FWD_LEN_MIN] = U32_MAX;
    su32[v + W_BWD_LEN_MIN] = U32_MAX;
    su32[v + W_FLOW_IAT_MIN] = U32_MAX;
    su32[v + W_FWD_IAT_MIN] = U32_MAX;
    su32[v + W_BWD_IAT_MIN] = U32_MAX;
    su32[v + W_ACTIVE_COUNT + PERIOD_MIN] = U32_MAX;
    su32[v + W_IDLE_COUNT + PERIOD_MIN] = U32_MAX;
    this.su16[(v << 1) + H_SUBFLOWS] = 1;
    this.su8[(v << 2) + B_MIN_SEG_FWD] = NO_SEGMENT;
  }

  /**
   * Replays `count` logged packets, in order, into statistics row `s`: the
   * log's packets are two words each from `log[at]` (offset, then payload |
   * flags | header | direction bits, see flow_layout.ts). One call per fold
   * rather than per packet, with the row's bases and views held across the
   * packets (a call per packet was most of the fold's cost).
   */
  foldLog(s: number, log: Uint32Array, at: number, count: number): void {
    const u32 = this.su32, f64 = this.sf64, su16 = this.su16, su8 = this.su8;
    const w = s * STATS_WORDS, d = w >> 1;
    const activityTimeout = this.activityTimeout;
    const end = at + count * LOG_WORDS;
    for (; at < end; at += LOG_WORDS) {
      const t = log[at], bits = log[at + 1];
      const forward = (bits & FORWARD_BIT) !== 0;
      const size = bits & PAYLOAD_MASK;
      const header = (bits >>> HEADER_SHIFT) & 0x3f;
      const flags = (bits >>> FLAGS_SHIFT) & 0x1ff;
      const fwdPackets = u32[w + W_FWD_PACKETS], bwdPackets = u32[w + W_BWD_PACKETS];
      if (fwdPackets + bwdPackets !== 0) {
        // Active/idle periods, as CICFlowMeter's updateActiveIdleTime.
        const activeEnd = u32[w + W_ACTIVE_END];
        const sinceActive = t - activeEnd;
        if (sinceActive > activityTimeout) {
          const active = activeEnd - u32[w + W_ACTIVE_START];
          if (active > 0) addPeriod(u32, w + W_ACTIVE_COUNT, f64, d + D_ACTIVE_SQ, active);
          addPeriod(u32, w + W_IDLE_COUNT, f64, d + D_IDLE_SQ, sinceActive);
          u32[w + W_ACTIVE_START] = t;
          u32[w + W_ACTIVE_END] = t;
        } else if (t > activeEnd) {
          u32[w + W_ACTIVE_END] = t;
        }
        // Flow IAT.
        const previous = u32[w + W_S_LAST_SEEN];
        const iat = t > previous ? t - previous : 0;
        if (iat > 1_000_000) su16[(w << 1) + H_SUBFLOWS]++;
        f64[d + D_FLOW_IAT_SQ] += iat * iat;
        if (iat < u32[w + W_FLOW_IAT_MIN]) u32[w + W_FLOW_IAT_MIN] = iat;
        if (iat > u32[w + W_FLOW_IAT_MAX]) u32[w + W_FLOW_IAT_MAX] = iat;
        if (t > previous) u32[w + W_S_LAST_SEEN] = t;
      }
      if (forward) {
        const n = fwdPackets + 1;
        u32[w + W_FWD_PACKETS] = n;
        f64[d + D_FWD_BYTES] += size;
        f64[d + D_FWD_LEN_SQ] += size * size;
        if (size < u32[w + W_FWD_LEN_MIN]) u32[w + W_FWD_LEN_MIN] = size;
        if (size > u32[w + W_FWD_LEN_MAX]) u32[w + W_FWD_LEN_MAX] = size;
        f64[d + D_FWD_HEADER] += header;
        const b = (w << 2) + B_MIN_SEG_FWD;
        if (header < su8[b]) su8[b] = header;
        if (size >= 1) u32[w + W_ACT_DATA_FWD]++;
        if (n > 1) {
          // The first forward packet is at offset 0, so the forward IAT total is fwdLast.
          const last = u32[w + W_FWD_LAST];
          const iat = t > last ? t - last : 0;
          f64[d + D_FWD_IAT_SQ] += iat * iat;
          if (iat < u32[w + W_FWD_IAT_MIN]) u32[w + W_FWD_IAT_MIN] = iat;
          if (iat > u32[w + W_FWD_IAT_MAX]) u32[w + W_FWD_IAT_MAX] = iat;
          if (t > last) u32[w + W_FWD_LAST] = t;
        }
        if (flags & TCP_PSH) u32[w + W_FWD_PSH]++;
        if (flags & TCP_URG) u32[w + W_FWD_URG]++;
      } else {
        const n = bwdPackets + 1;
        u32[w + W_BWD_PACKETS] = n;
        f64[d + D_BWD_BYTES] += size;
        f64[d + D_BWD_LEN_SQ] += size * size;
        if (size < u32[w + W_BWD_LEN_MIN]) u32[w + W_BWD_LEN_MIN] = size;
        if (size > u32[w + W_BWD_LEN_MAX]) u32[w + W_BWD_LEN_MAX] = size;
        f64[d + D_BWD_HEADER] += header;
        if (n === 1) {
          u32[w + W_BWD_FIRST] = t;
          u32[w + W_BWD_LAST] = t;
        } else {
          const last = u32[w + W_BWD_LAST];
          const iat = t > last ? t - last : 0;
          f64[d + D_BWD_IAT_SQ] += iat * iat;
          if (iat < u32[w + W_BWD_IAT_MIN]) u32[w + W_BWD_IAT_MIN] = iat;
          if (iat > u32[w + W_BWD_IAT_MAX]) u32[w + W_BWD_IAT_MAX] = iat;
          if (t > last) u32[w + W_BWD_LAST] = t;
        }
        if (flags & TCP_PSH) u32[w + W_BWD_PSH]++;
        if (flags & TCP_URG) u32[w + W_BWD_URG]++;
      }
      this.accumulateBulk(w, forward, size, t);
      // Flag counts (flags are 0 for protocols other than TCP).
      if (flags !== 0) {
        if (flags & TCP_FIN) u32[w + W_FIN]++;
        if (flags & TCP_SYN) u32[w + W_SYN]++;
        if (flags & TCP_RST) u32[w + W_RST]++;
        if (flags & TCP_ACK) u32[w + W_ACK]++;
        if (flags & TCP_CWR) u32[w + W_CWR]++;
        if (flags & TCP_ECE) u32[w + W_ECE]++;
      }
    }
  }

  /** CICFlowMeter's bulk detection (updateForwardBulk / updateBackwardBulk) on statistics row base `w`. */
  private accumulateBulk(w: number, forward: boolean, size: number, offset: number): void {
    const t = offset + 1; // 0 means unset, as in CICFlowMeter
    const u32 = this.su32, f64 = this.sf64;
    // Word and double bases of this direction's bulk fields, and the other direction's last.
    const u = forward ? w : w + BULK_WORDS_APART;
    const d = (w >> 1) + (forward ? 0 : BULK_DOUBLES_APART);
    const otherLast = u32[(forward ? w + BULK_WORDS_APART : w) + W_F_BULK_LAST];
    if (otherLast > u32[u + W_F_BULK_START]) u32[u + W_F_BULK_START] = 0;
    if (size <= 0) return;
    if (u32[u + W_F_BULK_START] === 0 || t - u32[u + W_F_BULK_LAST] > 1_000_000) {
      u32[u + W_F_BULK_START] = t;
      u32[u + W_F_BULK_LAST] = t;
      u32[u + W_F_BULK_PACKET_HELPER] = 1;
      f64[d + D_F_BULK_SIZE_HELPER] = size;
      return;
    }
    const helper = ++u32[u + W_F_BULK_PACKET_HELPER];
    f64[d + D_F_BULK_SIZE_HELPER] += size;
    if (helper === 4) {
      u32[u + W_F_BULK_STATES]++;
      u32[u + W_F_BULK_PACKETS] += helper;
      f64[d + D_F_BULK_BYTES] += f64[d + D_F_BULK_SIZE_HELPER];
      u32[u + W_F_BULK_DURATION] += t - u32[u + W_F_BULK_START];
    } else if (helper > 4) {
      u32[u + W_F_BULK_PACKETS]++;
      f64[d + D_F_BULK_BYTES] += size;
      u32[u + W_F_BULK_DURATION] += t - u32[u + W_F_BULK_LAST];
    }
    u32[u + W_F_BULK_LAST] = t;
  }
}

/**
 * Adds one active or idle period: `at` indexes its count, then sum, min and
 * max follow in the u32 row; `sqAt` indexes its f64 sum of squares.
 */
function addPeriod(
  u32: Uint32Array,
  at: number,
  f64: Float64Array,
  sqAt: number,
  value: number,
): void {
  u32[at]++;
  u32[at + PERIOD_SUM] += value;
  f64[sqAt] += value * value;
  if (value < u32[at + PERIOD_MIN]) u32[at + PERIOD_MIN] = value;
  if (value > u32[at + PERIOD_MAX]) u32[at + PERIOD_MAX] = value;
}
