/**
 * The bidirectional flow table. Each live flow has a 128-byte flow row (two
 * cache lines: its key, timing and TCP state, and a log of its last few
 * packets) found through an open-addressing index with linear probing and
 * backward-shift deletion. Both directions of a flow hash to the same slot;
 * "forward" is the sender of the flow's first packet.
 *
 * A packet updates only what the table's own decisions need (last time
 * seen, TCP history, list position) and is appended to the flow's log.
 * When the log is full its packets are folded, in order, into the flow's
 * 320-byte statistics row (CICFlowMeter's running sums, counts, extremes),
 * which is allocated then; a flow that ends with a few packets never needs
 * one (its log is folded into a scratch row when it ends). So most packets
 * touch two adjacent cache lines, short flows cost 152 bytes each, and the
 * statistics are the same as one update per packet: the fold replays them.
 *
 * Statistics are running sums (counts, sums, sums of squares, extremes) so
 * memory per flow is constant and a packet costs no division. Times inside
 * a flow are 32-bit microsecond offsets from the flow's start (a flow never
 * outlives the active timeout, capped well under 2^32 us).
 *
 * Flows are kept in two LRU lists (open, and closed by FIN/RST waiting out a
 * short linger for the last ACKs), so idle expiry and eviction at the
 * capacity bound cost O(1) per flow. The list links live in their own small
 * array: moving a flow touches its neighbours' links, not their rows.
 */
import {
  type DecodedPacket,
  PROTO_TCP,
  TCP_ACK,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
} from "./decode.ts";

/** Bits of `tcpHistory`: what each side has sent. */
export const H_FWD_SYN = 1,
  H_FWD_SYNACK = 2,
  H_FWD_FIN = 4,
  H_FWD_RST = 8,
  H_BWD_SYN = 16,
  H_BWD_SYNACK = 32,
  H_BWD_FIN = 64,
  H_BWD_RST = 128,
  H_FWD_DATA = 256,
  H_BWD_DATA = 512;

/**
 * Layouts. Rows live in ArrayBuffers read through u8/u16/u32/i32/f64 views.
 * Constants are indices within a row for the view named by their prefix:
 * for row base `w` (in u32 words) the u32/i32 index is `w + W_x`, the f64
 * index `(w >> 1) + D_x`, the u16 index `(w << 1) + H_x` and the u8 index
 * `(w << 2) + B_x`.
 */
/** u32 words per flow row (128 bytes). */
export const FLOW_WORDS = 32;
const FLOW_BYTES = FLOW_WORDS * 4;
// Flow row, line 0: key, list, start, last time seen, statistics row.
const W_HASH = 0;
const H_SRC_PORT = 2, H_DST_PORT = 3;
const B_PROTOCOL = 8, B_IP_VERSION = 9, B_LIST = 10, B_CLOSE_REASON = 11;
const H_VLAN = 6, H_TCP_HISTORY = 7;
const W_SRC = 4, W_DST = 8;
const D_START = 6;
/** Offset of the latest packet (the flow's duration so far). */
const W_LAST_SEEN = 14;
/** Statistics row + 1; 0 while the flow has none. */
const W_STATS = 15;
// Flow row, line 1: initial windows and the packet log.
const W_LOG_COUNT = 16, W_INIT_WIN_FWD = 17, W_INIT_WIN_BWD = 18;
const W_LOG = 20;
/** Packets a flow row logs before they are folded into statistics. */
const LOG_PACKETS = 4;
/**
 * A logged packet is three words: offset (us from the flow's start), payload
 * bytes, then TCP flags (9 bits) | L4 header bytes << 9 (at most 60) |
 * forward << 15.
 */
const LOG_WORDS = 3;
const HEADER_SHIFT = 9, FORWARD_BIT = 1 << 15;

/** u32 words per statistics row (320 bytes, five cache lines). */
export const STATS_WORDS = 80;
// Statistics row, line 0.
const W_S_LAST_SEEN = 0, W_FWD_PACKETS = 1, W_BWD_PACKETS = 2;
const W_ACTIVE_START = 3, W_ACTIVE_END = 4;
const W_FWD_LAST = 5, W_BWD_FIRST = 6, W_BWD_LAST = 7;
const D_FWD_BYTES = 4, D_BWD_BYTES = 5, D_FWD_LEN_SQ = 6, D_BWD_LEN_SQ = 7;
// Line 1.
const D_FLOW_IAT_SQ = 8, D_FWD_IAT_SQ = 9, D_BWD_IAT_SQ = 10;
const D_FWD_HEADER = 11, D_BWD_HEADER = 12;
const W_FLOW_IAT_MIN = 26, W_FLOW_IAT_MAX = 27;
const W_FWD_LEN_MIN = 28, W_FWD_LEN_MAX = 29, W_BWD_LEN_MIN = 30, W_BWD_LEN_MAX = 31;
// Line 2.
const W_FWD_IAT_MIN = 32, W_FWD_IAT_MAX = 33, W_BWD_IAT_MIN = 34, W_BWD_IAT_MAX = 35;
const W_FWD_PSH = 36, W_BWD_PSH = 37;
const W_ACT_DATA_FWD = 38;
const H_SUBFLOWS = 78, B_MIN_SEG_FWD = 158;
/** FIN, SYN, RST, ACK counts (PSH and URG are the per-direction sums). */
const W_FIN = 40, W_SYN = 41, W_RST = 42, W_ACK = 43;
// Lines 2-3: bulk, forward then backward (same layout, 10 words / 5 doubles apart).
const D_F_BULK_SIZE_HELPER = 22, D_F_BULK_BYTES = 23;
const W_F_BULK_STATES = 48, W_F_BULK_PACKETS = 49, W_F_BULK_DURATION = 50;
const W_F_BULK_PACKET_HELPER = 51, W_F_BULK_START = 52, W_F_BULK_LAST = 53;
const BULK_WORDS_APART = 10, BULK_DOUBLES_APART = 5;
// Line 4, touched only after a quiet gap or by rare flags: active and idle
// periods (same layout, 6 words / 3 doubles apart), URG, CWR and ECE counts.
const D_ACTIVE_SQ = 32, W_ACTIVE_COUNT = 66;
const D_IDLE_SQ = 35, W_IDLE_COUNT = 72;
const PERIOD_SUM = 1, PERIOD_MIN = 2, PERIOD_MAX = 3;
const W_FWD_URG = 76, W_BWD_URG = 77, W_CWR = 78, W_ECE = 79;

/** Minimum segment size sentinel (a TCP header is at most 60 bytes). */
const NO_SEGMENT = 0xff;

/**
 * Field offsets for the feature writer: `flow` fields index the flow row,
 * the others the statistics row (see the layouts above).
 */
export const ROW = {
  flow: {
    u32: { srcWords: W_SRC, dstWords: W_DST, lastSeen: W_LAST_SEEN },
    i32: { initWinFwd: W_INIT_WIN_FWD, initWinBwd: W_INIT_WIN_BWD },
    f64: { startMicros: D_START },
    u16: { srcPort: H_SRC_PORT, dstPort: H_DST_PORT, vlan: H_VLAN, tcpHistory: H_TCP_HISTORY },
    u8: { protocol: B_PROTOCOL, ipVersion: B_IP_VERSION },
  },
  u32: {
    lastSeen: W_S_LAST_SEEN,
    fwdPackets: W_FWD_PACKETS,
    bwdPackets: W_BWD_PACKETS,
    fwdLast: W_FWD_LAST,
    bwdFirst: W_BWD_FIRST,
    bwdLast: W_BWD_LAST,
    flowIatMin: W_FLOW_IAT_MIN,
    flowIatMax: W_FLOW_IAT_MAX,
    fwdLenMin: W_FWD_LEN_MIN,
    fwdLenMax: W_FWD_LEN_MAX,
    bwdLenMin: W_BWD_LEN_MIN,
    bwdLenMax: W_BWD_LEN_MAX,
    fwdIatMin: W_FWD_IAT_MIN,
    fwdIatMax: W_FWD_IAT_MAX,
    bwdIatMin: W_BWD_IAT_MIN,
    bwdIatMax: W_BWD_IAT_MAX,
    fwdPsh: W_FWD_PSH,
    bwdPsh: W_BWD_PSH,
    fwdUrg: W_FWD_URG,
    bwdUrg: W_BWD_URG,
    actDataFwd: W_ACT_DATA_FWD,
    fin: W_FIN,
    syn: W_SYN,
    rst: W_RST,
    ack: W_ACK,
    cwr: W_CWR,
    ece: W_ECE,
    fBulkStates: W_F_BULK_STATES,
    fBulkPackets: W_F_BULK_PACKETS,
    fBulkDuration: W_F_BULK_DURATION,
    bBulkStates: W_F_BULK_STATES + BULK_WORDS_APART,
    bBulkPackets: W_F_BULK_PACKETS + BULK_WORDS_APART,
    bBulkDuration: W_F_BULK_DURATION + BULK_WORDS_APART,
    activeCount: W_ACTIVE_COUNT,
    activeSum: W_ACTIVE_COUNT + PERIOD_SUM,
    activeMin: W_ACTIVE_COUNT + PERIOD_MIN,
    activeMax: W_ACTIVE_COUNT + PERIOD_MAX,
    idleCount: W_IDLE_COUNT,
    idleSum: W_IDLE_COUNT + PERIOD_SUM,
    idleMin: W_IDLE_COUNT + PERIOD_MIN,
    idleMax: W_IDLE_COUNT + PERIOD_MAX,
  },
  f64: {
    fwdBytes: D_FWD_BYTES,
    bwdBytes: D_BWD_BYTES,
    fwdLenSq: D_FWD_LEN_SQ,
    bwdLenSq: D_BWD_LEN_SQ,
    flowIatSq: D_FLOW_IAT_SQ,
    fwdIatSq: D_FWD_IAT_SQ,
    bwdIatSq: D_BWD_IAT_SQ,
    fwdHeaderBytes: D_FWD_HEADER,
    bwdHeaderBytes: D_BWD_HEADER,
    fBulkBytes: D_F_BULK_BYTES,
    bBulkBytes: D_F_BULK_BYTES + BULK_DOUBLES_APART,
    activeSq: D_ACTIVE_SQ,
    idleSq: D_IDLE_SQ,
  },
  u16: { subflows: H_SUBFLOWS },
  u8: { minSegFwd: B_MIN_SEG_FWD },
} as const;

/** Value of the u8 minSegFwd field when no forward packet was seen. */
export const MIN_SEG_UNSET = NO_SEGMENT;

const NO_LIST = 0, OPEN_LIST = 1, CLOSED_LIST = 2;
const NIL = -1;
const U32_MAX = 0xffffffff;
/** Byte indices into the rows are computed as int32 (`w << 2`), so each row buffer stays under 2 GiB. */
const MAX_ROW_BUFFER_BYTES = 2 ** 31 - 1;
/** Bytes a flow costs besides its rows: LRU links and its share of the (at most half full) index. */
const LINK_BYTES = 8, INDEX_BYTES_PER_FLOW = 16;

/** Index in FLOW_END_REASONS (flow_batch.ts). */
export const END_IDLE = 0, END_ACTIVE = 1, END_FIN = 2, END_RST = 3, END_EVICTED = 4, END_INPUT = 5;

/** Timing parameters of the table, microseconds. */
export interface FlowTableLimits {
  idleTimeoutMicros: number;
  activeTimeoutMicros: number;
  activityTimeoutMicros: number;
  closeLingerMicros: number;
  maxFlows: number;
}

/**
 * Receives each flow as it leaves the table, before its rows are reused:
 * `id` is its flow row, `table.endingStats` its complete statistics row.
 */
export type FlowEndSink = (table: FlowTable, id: number, reason: number) => void;

/** Bytes of one flow row and of one statistics row. */
export const FLOW_ROW_BYTES = FLOW_BYTES, STATS_ROW_BYTES = STATS_WORDS * 4;

/**
 * The flow table; the row views are public so the feature writer reads them
 * directly. Rows for `maxFlows` flows are reserved once: the operating system
 * commits a page only when a row on it is first used, so memory follows the
 * flows actually held and the table never copies itself to grow (no
 * doubling peak). Only the small hash index is rebuilt as flows grow.
 */
export class FlowTable {
  /** Flows held at most (maxFlows). */
  readonly capacity: number;
  live = 0;
  /** Flow rows ever used (high-water mark); rows beyond it are untouched. */
  private flowRowsUsed = 0;
  /** Statistics rows ever used, and how many are in use now. */
  private statsRowsUsed = 0;
  private statsLive = 0;
  private indexMask = -1;
  /** Open addressing, two int32 per slot: id + 1 (0 = empty), then the flow's hash. */
  private index = new Int32Array(0);
  private freeHead = NIL;
  private freeStatsHead = NIL;
  private openHead = NIL;
  private openTail = NIL;
  private closedHead = NIL;
  private closedTail = NIL;
  /** LRU links, kept apart from the rows: prev at 2 * id, next at 2 * id + 1. */
  private readonly links: Int32Array;

  /** Flow rows. */
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Statistics rows; the last one is scratch for flows that end without one. */
  readonly su8: Uint8Array;
  readonly su16: Uint16Array;
  readonly su32: Uint32Array;
  readonly sf64: Float64Array;
  private readonly scratchStats: number;
  /** While the sink runs: the ending flow's statistics row. */
  endingStats = 0;

  /** Flows ended by reason (index as FLOW_END_REASONS). */
  readonly endedByReason = new Float64Array(6);
  flowsCreated = 0;

  private readonly idleTimeout: number;
  private readonly activeTimeout: number;
  private readonly activityTimeout: number;
  private readonly closeLinger: number;

  constructor(readonly limits: FlowTableLimits, private readonly sink: FlowEndSink) {
    const capacity = limits.maxFlows;
    if ((capacity + 1) * STATS_ROW_BYTES > MAX_ROW_BUFFER_BYTES) {
      throw new RangeError(
        `maxFlows ${capacity} is too large: at most ` +
          `${Math.floor(MAX_ROW_BUFFER_BYTES / STATS_ROW_BYTES) - 1} flows fit one table`,
      );
    }
    this.capacity = capacity;
    const flows = reserve(capacity * FLOW_BYTES, capacity);
    this.u8 = new Uint8Array(flows);
    this.u16 = new Uint16Array(flows);
    this.u32 = new Uint32Array(flows);
    this.i32 = new Int32Array(flows);
    this.f64 = new Float64Array(flows);
    const stats = reserve((capacity + 1) * STATS_ROW_BYTES, capacity);
    this.su8 = new Uint8Array(stats);
    this.su16 = new Uint16Array(stats);
    this.su32 = new Uint32Array(stats);
    this.sf64 = new Float64Array(stats);
    this.scratchStats = capacity;
    this.links = new Int32Array(capacity * 2);
    this.idleTimeout = limits.idleTimeoutMicros;
    this.activeTimeout = limits.activeTimeoutMicros;
    this.activityTimeout = limits.activityTimeoutMicros;
    this.closeLinger = limits.closeLingerMicros;
    this.resizeIndex(2 * Math.min(capacity, 4096));
  }

  /** Bytes in use: rows and links up to their high-water marks, plus the index. */
  bytesAllocated(): number {
    return this.flowRowsUsed * (FLOW_BYTES + LINK_BYTES) + this.statsRowsUsed * STATS_ROW_BYTES +
      this.index.byteLength;
  }

  /**
   * Bytes per flow held now: flow row, links, index share, plus statistics
   * rows spread over the flows (a flow has one once it logged more than
   * LOG_PACKETS packets). With no flows, the cost of a short flow.
   */
  bytesPerFlow(): number {
    const base = FLOW_BYTES + LINK_BYTES + INDEX_BYTES_PER_FLOW;
    return this.live > 0 ? base + this.statsLive * STATS_ROW_BYTES / this.live : base;
  }

  /** Bytes one long flow costs: flow row, links, index share and statistics row. */
  maxBytesPerFlow(): number {
    return FLOW_BYTES + LINK_BYTES + INDEX_BYTES_PER_FLOW + STATS_ROW_BYTES;
  }

  /** Meters one decoded packet taken at `ts` (microseconds since the epoch); `h` is flowHash(p). */
  add(p: DecodedPacket, ts: number, h: number = flowHash(p)): void {
    const mask = this.indexMask;
    const index = this.index;
    const tag = h | 0;
    let slot = h & mask;
    let id = NIL;
    let forward = true;
    for (;;) {
      const entry = index[2 * slot];
      if (entry === 0) break;
      if (index[2 * slot + 1] === tag) {
        const candidate = entry - 1;
        const m = this.match(candidate, p);
        if (m !== 0) {
          id = candidate;
          forward = m === 1;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (id !== NIL) {
      const w = id * FLOW_WORDS;
      const offset = ts - this.f64[(w >> 1) + D_START];
      const closed = this.u8[(w << 2) + B_LIST] === CLOSED_LIST;
      const quiet = offset - this.u32[w + W_LAST_SEEN];
      if (closed && quiet > this.closeLinger) {
        this.end(id, this.u8[(w << 2) + B_CLOSE_REASON]);
      } else if (quiet > this.idleTimeout) {
        // Idle past the timeout but not yet swept (same batch): end it as idle.
        this.end(id, END_IDLE);
      } else if (offset > this.activeTimeout) {
        this.end(id, END_ACTIVE);
      } else if (closed && (p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        // A new connection reusing the ports of one that just closed.
        this.end(id, this.u8[(w << 2) + B_CLOSE_REASON]);
      } else {
        this.update(id, forward, p, offset < 0 ? 0 : offset);
        return;
      }
    }
    this.create(p, ts, h);
  }

  /** Ends flows idle past the timeout (and closed flows past the linger) as of `now`. */
  expire(now: number): void {
    const closedCutoff = now - this.closeLinger;
    for (let id = this.closedHead; id !== NIL; id = this.closedHead) {
      if (this.lastSeenAt(id) >= closedCutoff) break;
      this.end(id, this.u8[id * FLOW_BYTES + B_CLOSE_REASON]);
    }
    const idleCutoff = now - this.idleTimeout;
    for (let id = this.openHead; id !== NIL; id = this.openHead) {
      if (this.lastSeenAt(id) >= idleCutoff) break;
      this.end(id, END_IDLE);
    }
  }

  /** Ends every flow with `reason` (end of input). */
  flushAll(reason: number): void {
    for (let id = this.closedHead; id !== NIL; id = this.closedHead) {
      this.end(id, this.u8[id * FLOW_BYTES + B_CLOSE_REASON]);
    }
    for (let id = this.openHead; id !== NIL; id = this.openHead) this.end(id, reason);
  }

  /** Absolute time of the flow's last packet, microseconds. */
  private lastSeenAt(id: number): number {
    const w = id * FLOW_WORDS;
    return this.f64[(w >> 1) + D_START] + this.u32[w + W_LAST_SEEN];
  }

  /** 1 when `p` goes forward in flow `id`, 2 when backward, 0 when not this flow. */
  private match(id: number, p: DecodedPacket): number {
    const u = this.u32, w = id * FLOW_WORDS, u8 = this.u8, u16 = this.u16;
    if (u8[(w << 2) + B_PROTOCOL] !== p.protocol || u16[(w << 1) + H_VLAN] !== p.vlan) return 0;
    const ps = p.srcWords, pd = p.dstWords, s = w + W_SRC, d = w + W_DST;
    const sp = u16[(w << 1) + H_SRC_PORT], dp = u16[(w << 1) + H_DST_PORT];
    if (
      sp === p.srcPort && dp === p.dstPort &&
      u[s] === ps[0] && u[s + 1] === ps[1] && u[s + 2] === ps[2] && u[s + 3] === ps[3] &&
      u[d] === pd[0] && u[d + 1] === pd[1] && u[d + 2] === pd[2] && u[d + 3] === pd[3]
    ) return 1;
    if (
      sp === p.dstPort && dp === p.srcPort &&
      u[s] === pd[0] && u[s + 1] === pd[1] && u[s + 2] === pd[2] && u[s + 3] === pd[3] &&
      u[d] === ps[0] && u[d + 1] === ps[1] && u[d + 2] === ps[2] && u[d + 3] === ps[3]
    ) return 2;
    return 0;
  }

  private create(p: DecodedPacket, ts: number, h: number): void {
    if (this.live >= this.capacity) {
      this.end(this.closedHead !== NIL ? this.closedHead : this.openHead, END_EVICTED);
    }
    let id: number;
    if (this.freeHead !== NIL) {
      id = this.freeHead;
      this.freeHead = this.links[2 * id + 1];
    } else {
      id = this.flowRowsUsed++;
      // The index stays at most half full.
      if (this.flowRowsUsed * 2 > this.indexMask + 1) this.resizeIndex(this.flowRowsUsed * 2);
    }
    this.live++;
    this.flowsCreated++;
    // Reset the whole row (rows are reused), then identity.
    const u32 = this.u32, w = id * FLOW_WORDS, u8 = this.u8, u16 = this.u16;
    const b = w << 2, hw = w << 1;
    u32.fill(0, w, w + FLOW_WORDS);
    const ps = p.srcWords, pd = p.dstWords, sw = w + W_SRC, dw = w + W_DST;
    u32[sw] = ps[0], u32[sw + 1] = ps[1], u32[sw + 2] = ps[2], u32[sw + 3] = ps[3];
    u32[dw] = pd[0], u32[dw + 1] = pd[1], u32[dw + 2] = pd[2], u32[dw + 3] = pd[3];
    u32[w + W_HASH] = h;
    u16[hw + H_SRC_PORT] = p.srcPort;
    u16[hw + H_DST_PORT] = p.dstPort;
    u16[hw + H_VLAN] = p.vlan;
    u8[b + B_PROTOCOL] = p.protocol;
    u8[b + B_IP_VERSION] = p.ipVersion;
    this.f64[(w >> 1) + D_START] = ts;
    this.i32[w + W_INIT_WIN_FWD] = -1;
    this.i32[w + W_INIT_WIN_BWD] = -1;
    this.insertIndex(id, h);
    this.append(id, OPEN_LIST);
    this.update(id, true, p, 0);
  }

  /**
   * Adds packet `p` at offset `t` (us from flow start) to flow `id`: what the
   * table decides on now (last seen, initial windows, TCP history and list),
   * the rest into the log.
   */
  private update(id: number, forward: boolean, p: DecodedPacket, t: number): void {
    const u32 = this.u32;
    const w = id * FLOW_WORDS;
    if (t > u32[w + W_LAST_SEEN]) u32[w + W_LAST_SEEN] = t;
    let logged = u32[w + W_LOG_COUNT];
    if (logged === LOG_PACKETS) {
      this.fold(id, this.statsOf(id));
      logged = 0;
    }
    const flags = p.tcpFlags, size = p.payloadBytes;
    const at = w + W_LOG + logged * LOG_WORDS;
    u32[at] = t;
    u32[at + 1] = size;
    u32[at + 2] = flags | (p.l4HeaderBytes << HEADER_SHIFT) | (forward ? FORWARD_BIT : 0);
    u32[w + W_LOG_COUNT] = logged + 1;
    if (p.protocol === PROTO_TCP) {
      const win = w + (forward ? W_INIT_WIN_FWD : W_INIT_WIN_BWD);
      if (this.i32[win] < 0) this.i32[win] = p.tcpWindow;
      this.updateTcp(id, w, forward, flags, size);
    } else {
      this.touch(id);
    }
  }

  /** TCP history (what each side sent) and the move to the closed list on RST or FIN both ways. */
  private updateTcp(id: number, w: number, forward: boolean, flags: number, size: number): void {
    const h = (w << 1) + H_TCP_HISTORY;
    let history = this.u16[h];
    const shift = forward ? 0 : 4;
    if (flags & TCP_SYN) history |= (flags & TCP_ACK ? H_FWD_SYNACK : H_FWD_SYN) << shift;
    if (flags & TCP_FIN) history |= H_FWD_FIN << shift;
    if (flags & TCP_RST) history |= H_FWD_RST << shift;
    if (size > 0) history |= forward ? H_FWD_DATA : H_BWD_DATA;
    this.u16[h] = history;
    const b = w << 2;
    if (this.u8[b + B_LIST] === OPEN_LIST) {
      if (flags & TCP_RST) {
        this.u8[b + B_CLOSE_REASON] = END_RST;
        this.moveTo(id, CLOSED_LIST);
        return;
      }
      if ((history & (H_FWD_FIN | H_BWD_FIN)) === (H_FWD_FIN | H_BWD_FIN)) {
        this.u8[b + B_CLOSE_REASON] = END_FIN;
        this.moveTo(id, CLOSED_LIST);
        return;
      }
    }
    this.touch(id);
  }

  // --- statistics ----------------------------------------------------------

  /** The flow's statistics row, allocated (and reset) on first use. */
  private statsOf(id: number): number {
    const w = id * FLOW_WORDS;
    const existing = this.u32[w + W_STATS];
    if (existing !== 0) return existing - 1;
    let s: number;
    if (this.freeStatsHead !== NIL) {
      s = this.freeStatsHead;
      // A free row's first word holds the next free row + 1 (0 ends the list).
      this.freeStatsHead = this.su32[s * STATS_WORDS] - 1;
    } else {
      s = this.statsRowsUsed++;
    }
    this.statsLive++;
    this.resetStats(s);
    this.u32[w + W_STATS] = s + 1;
    return s;
  }

  /** Zeroes statistics row `s`; minimums start at the top. */
  private resetStats(s: number): void {
    const su32 = this.su32, v = s * STATS_WORDS;
    su32.fill(0, v, v + STATS_WORDS);
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

  /** Replays the logged packets of flow `id`, in order, into statistics row `s`; empties the log. */
  private fold(id: number, s: number): void {
    const u32 = this.u32, w = id * FLOW_WORDS;
    const logged = u32[w + W_LOG_COUNT];
    for (let k = 0, at = w + W_LOG; k < logged; k++, at += LOG_WORDS) {
      const bits = u32[at + 2];
      this.accumulate(
        s,
        (bits & FORWARD_BIT) !== 0,
        u32[at + 1],
        (bits >>> HEADER_SHIFT) & 0x3f,
        bits & 0x1ff,
        u32[at],
      );
    }
    u32[w + W_LOG_COUNT] = 0;
  }

  /** One packet (payload `size`, L4 `header` bytes, TCP `flags`, offset `t`) into statistics row `s`. */
  private accumulate(
    s: number,
    forward: boolean,
    size: number,
    header: number,
    flags: number,
    t: number,
  ): void {
    const u32 = this.su32, f64 = this.sf64;
    const w = s * STATS_WORDS, d = w >> 1;
    const fwdPackets = u32[w + W_FWD_PACKETS], bwdPackets = u32[w + W_BWD_PACKETS];
    if (fwdPackets + bwdPackets !== 0) {
      // Active/idle periods, as CICFlowMeter's updateActiveIdleTime.
      const activeEnd = u32[w + W_ACTIVE_END];
      const sinceActive = t - activeEnd;
      if (sinceActive > this.activityTimeout) {
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
      if (iat > 1_000_000) this.su16[(w << 1) + H_SUBFLOWS]++;
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
      if (header < this.su8[b]) this.su8[b] = header;
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

  /** Completes the flow's statistics, hands it to the sink, then frees its rows. */
  private end(id: number, reason: number): void {
    const w = id * FLOW_WORDS;
    const own = this.u32[w + W_STATS];
    let s: number;
    if (own !== 0) s = own - 1;
    else {
      s = this.scratchStats;
      this.resetStats(s);
    }
    this.fold(id, s);
    this.endingStats = s;
    this.sink(this, id, reason);
    this.endedByReason[reason]++;
    if (own !== 0) {
      this.su32[s * STATS_WORDS] = this.freeStatsHead + 1;
      this.freeStatsHead = s;
      this.statsLive--;
    }
    this.unlink(id);
    this.removeIndex(id);
    this.u8[id * FLOW_BYTES + B_LIST] = NO_LIST;
    this.links[2 * id + 1] = this.freeHead;
    this.freeHead = id;
    this.live--;
  }

  // --- LRU lists -----------------------------------------------------------

  private append(id: number, list: number): void {
    const links = this.links;
    const tail = list === OPEN_LIST ? this.openTail : this.closedTail;
    links[2 * id] = tail;
    links[2 * id + 1] = NIL;
    if (tail !== NIL) links[2 * tail + 1] = id;
    else if (list === OPEN_LIST) this.openHead = id;
    else this.closedHead = id;
    if (list === OPEN_LIST) this.openTail = id;
    else this.closedTail = id;
    this.u8[id * FLOW_BYTES + B_LIST] = list;
  }

  private unlink(id: number): void {
    const links = this.links;
    const open = this.u8[id * FLOW_BYTES + B_LIST] === OPEN_LIST;
    const before = links[2 * id], after = links[2 * id + 1];
    if (before !== NIL) links[2 * before + 1] = after;
    else if (open) this.openHead = after;
    else this.closedHead = after;
    if (after !== NIL) links[2 * after] = before;
    else if (open) this.openTail = before;
    else this.closedTail = before;
  }

  /** Moves the flow to the most recent end of its list. */
  private touch(id: number): void {
    const list = this.u8[id * FLOW_BYTES + B_LIST];
    if ((list === OPEN_LIST ? this.openTail : this.closedTail) === id) return;
    this.unlink(id);
    this.append(id, list);
  }

  private moveTo(id: number, list: number): void {
    this.unlink(id);
    this.append(id, list);
  }

  // --- index ---------------------------------------------------------------

  private insertIndex(id: number, h: number): void {
    const mask = this.indexMask;
    const index = this.index;
    let slot = h & mask;
    while (index[2 * slot] !== 0) slot = (slot + 1) & mask;
    index[2 * slot] = id + 1;
    index[2 * slot + 1] = h;
  }

  /** Linear-probing deletion by backward shift: no tombstones, probes stay short. */
  private removeIndex(id: number): void {
    const mask = this.indexMask;
    const index = this.index;
    let hole = this.u32[id * FLOW_WORDS + W_HASH] & mask;
    while (index[2 * hole] !== id + 1) hole = (hole + 1) & mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const entry = index[2 * j];
      if (entry === 0) break;
      const home = index[2 * j + 1] & mask;
      // Move the entry back when its home is not inside (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        index[2 * hole] = entry;
        index[2 * hole + 1] = index[2 * j + 1];
        hole = j;
      }
    }
    index[2 * hole] = 0;
  }

  /** Rebuilds the index with at least `slots` slots (a power of two) from the old one. */
  private resizeIndex(slots: number): void {
    let size = 16;
    while (size < slots) size *= 2;
    if (size <= this.indexMask + 1) return;
    const old = this.index;
    this.index = new Int32Array(2 * size);
    this.indexMask = size - 1;
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] !== 0) this.insertIndex(old[k] - 1, old[k + 1]);
    }
  }
}

/**
 * Allocates a zeroed buffer for the rows of `maxFlows` flows. Untouched pages
 * cost no memory, but the address space must be granted up front.
 */
function reserve(bytes: number, maxFlows: number): ArrayBuffer {
  try {
    return new ArrayBuffer(bytes);
  } catch (error) {
    throw new RangeError(
      `could not reserve ${Math.ceil(bytes / 2 ** 20)} MiB of flow rows for maxFlows ` +
        `${maxFlows} (${(error as Error).message}); lower maxFlows`,
    );
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

/** Direction-independent hash of the flow key of `p`. */
export function flowHash(p: DecodedPacket): number {
  const s = p.srcWords, d = p.dstWords;
  const a = mix4(s[0], s[1], s[2], s[3], p.srcPort);
  const b = mix4(d[0], d[1], d[2], d[3], p.dstPort);
  const low = a < b ? a : b, high = a < b ? b : a;
  let h = Math.imul(low ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ high, 0xc2b2ae35);
  h ^= (p.protocol << 16) | p.vlan;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return (h ^ (h >>> 13)) >>> 0;
}

function mix4(w0: number, w1: number, w2: number, w3: number, port: number): number {
  let h = 0x811c9dc5 ^ port;
  h = Math.imul(h ^ w0, 0x01000193);
  h = Math.imul(h ^ (h >>> 15) ^ w1, 0x01000193);
  h = Math.imul(h ^ (h >>> 15) ^ w2, 0x01000193);
  h = Math.imul(h ^ (h >>> 15) ^ w3, 0x01000193);
  return (h ^ (h >>> 16)) >>> 0;
}
