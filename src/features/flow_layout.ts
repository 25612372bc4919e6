/**
 * Layouts of the flow table's rows. Rows live in ArrayBuffers read through
 * u8/u16/u32/i32/f64 views; the constants below are indices within a row for
 * the view named by their prefix (W u32/i32 words, H u16, B u8, D f64).
 *
 * A flow row (128 bytes, two cache lines) holds the flow's key, timing, TCP
 * state and a log of its last six packets (8 bytes each); a statistics row (320 bytes, five
 * cache lines) holds CICFlowMeter's running sums, counts and extremes, and
 * exists only for flows that logged more than LOG_PACKETS + CHUNK_PACKETS
 * packets; in between, a 64-byte log chunk holds the packets past the row's log.
 */

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
 * Bits 10-15 of `tcpHistory`: the server's answers that said a login failed
 * (bits 10-12) and succeeded (13-15) since the flow's previous row, each
 * count saturating at 7 (login_outcomes.ts).
 */
export const H_LOGIN_FAILED_SHIFT = 10, H_LOGIN_OK_SHIFT = 13, H_LOGIN_COUNT_MAX = 7;
/** A flow other than TCP has no history: its `tcpHistory` holds its first packet's IP TTL (FlowBatch.firstTtl; TCP's is in W_INIT_WIN_FWD). */
export const H_FIRST_TTL_MASK = 0xff;

/**
 * Layouts. Rows live in ArrayBuffers read through u8/u16/u32/i32/f64 views.
 * Constants are indices within a row for the view named by their prefix:
 * for row base `w` (in u32 words) the u32/i32 index is `w + W_x`, the f64
 * index `(w >> 1) + D_x`, the u16 index `(w << 1) + H_x` and the u8 index
 * `(w << 2) + B_x`.
 */
/** u32 words per flow row (128 bytes). */
export const FLOW_WORDS = 32;
export const FLOW_BYTES = FLOW_WORDS * 4;
// Flow row, line 0: key, list, start, last time seen, statistics row.
export const W_HASH = 0;
export const H_SRC_PORT = 2, H_DST_PORT = 3;
export const B_PROTOCOL = 8, B_IP_VERSION = 9, B_LIST = 10, B_CLOSE_REASON = 11;
export const H_VLAN = 6, H_TCP_HISTORY = 7;
export const W_SRC = 4, W_DST = 8;
export const D_START = 6;
/** Offset of the latest packet (the flow's duration so far). */
export const W_LAST_SEEN = 14;
/** Statistics row + 1, or CHUNK_BIT | log chunk (see CHUNK_PACKETS); 0 while the flow has neither. */
export const W_STATS = 15;
// Flow row, line 1: initial windows and the packet log.
export const W_INIT_WIN_FWD = 17, W_INIT_WIN_BWD = 18;
/**
 * A TCP flow's W_INIT_WIN_FWD holds the window of its first packet (16 bits)
 * and that packet's IP TTL above it (FlowBatch.firstTtl); other flows' is -1.
 */
export const INIT_WIN_TTL_SHIFT = 16, INIT_WIN_MASK = 0xffff;
/** Packets in the log (u16, low half of word 16). */
export const H_LOG_COUNT = 32;
/**
 * Interim rows exported so far (u16, high half of word 16): the count in the
 * low 15 bits, EXPORT_DIRTY set by every packet and cleared by an export.
 */
export const H_EXPORTS = 33, EXPORT_DIRTY = 0x8000, EXPORT_COUNT_MASK = 0x7fff;
/** Offset (us from the flow's start) at which the next interim row is due. */
export const W_NEXT_EXPORT = 19;
export const W_LOG = 20;
/** Packets a flow row logs before they are folded into statistics. */
export const LOG_PACKETS = 6;
/**
 * A logged packet is two words: offset (us from the flow's start), then
 * payload bytes (low 16 bits; decode's IP length fields are 16 bits, so a
 * payload is under 2^16) | TCP flags (9 bits) << 16 | L4 header bytes (at
 * most 60) << 25 | forward << 31.
 */
export const LOG_WORDS = 2;
export const PAYLOAD_MASK = 0xffff, FLAGS_SHIFT = 16, HEADER_SHIFT = 25, FORWARD_BIT = 1 << 31;

/**
 * A log chunk (64 bytes, one cache line) holds CHUNK_PACKETS more logged
 * packets, same encoding, for a flow past its row's log that has no
 * statistics row yet; W_STATS then holds CHUNK_BIT | chunk. A flow of up to
 * LOG_PACKETS + CHUNK_PACKETS packets so costs 64 bytes more than a short
 * one instead of a 320-byte statistics row.
 */
export const CHUNK_PACKETS = 8;
export const CHUNK_WORDS = CHUNK_PACKETS * LOG_WORDS, CHUNK_BYTES = CHUNK_WORDS * 4;
export const CHUNK_BIT = 0x80000000;

/** u32 words per statistics row (320 bytes, five cache lines). */
export const STATS_WORDS = 80;
// Statistics row, line 0.
export const W_S_LAST_SEEN = 0, W_FWD_PACKETS = 1, W_BWD_PACKETS = 2;
export const W_ACTIVE_START = 3, W_ACTIVE_END = 4;
export const W_FWD_LAST = 5, W_BWD_FIRST = 6, W_BWD_LAST = 7;
export const D_FWD_BYTES = 4, D_BWD_BYTES = 5, D_FWD_LEN_SQ = 6, D_BWD_LEN_SQ = 7;
// Line 1.
export const D_FLOW_IAT_SQ = 8, D_FWD_IAT_SQ = 9, D_BWD_IAT_SQ = 10;
export const D_FWD_HEADER = 11, D_BWD_HEADER = 12;
export const W_FLOW_IAT_MIN = 26, W_FLOW_IAT_MAX = 27;
export const W_FWD_LEN_MIN = 28, W_FWD_LEN_MAX = 29, W_BWD_LEN_MIN = 30, W_BWD_LEN_MAX = 31;
// Line 2.
export const W_FWD_IAT_MIN = 32, W_FWD_IAT_MAX = 33, W_BWD_IAT_MIN = 34, W_BWD_IAT_MAX = 35;
export const W_FWD_PSH = 36, W_BWD_PSH = 37;
export const W_ACT_DATA_FWD = 38;
export const H_SUBFLOWS = 78, B_MIN_SEG_FWD = 158;
/** FIN, SYN, RST, ACK counts (PSH and URG are the per-direction sums). */
export const W_FIN = 40, W_SYN = 41, W_RST = 42, W_ACK = 43;
// Lines 2-3: bulk, forward then backward (same layout, 10 words / 5 doubles apart).
export const D_F_BULK_SIZE_HELPER = 22, D_F_BULK_BYTES = 23;
export const W_F_BULK_STATES = 48, W_F_BULK_PACKETS = 49, W_F_BULK_DURATION = 50;
export const W_F_BULK_PACKET_HELPER = 51, W_F_BULK_START = 52, W_F_BULK_LAST = 53;
export const BULK_WORDS_APART = 10, BULK_DOUBLES_APART = 5;
// Line 4, touched only after a quiet gap or by rare flags: active and idle
// periods (same layout, 6 words / 3 doubles apart), URG, CWR and ECE counts.
export const D_ACTIVE_SQ = 32, W_ACTIVE_COUNT = 66;
export const D_IDLE_SQ = 35, W_IDLE_COUNT = 72;
export const PERIOD_SUM = 1, PERIOD_MIN = 2, PERIOD_MAX = 3;
export const W_FWD_URG = 76, W_BWD_URG = 77, W_CWR = 78, W_ECE = 79;

/** Minimum segment size sentinel (a TCP header is at most 60 bytes). */
export const NO_SEGMENT = 0xff;

/**
 * Field offsets for the feature writer: `flow` fields index the flow row,
 * the others the statistics row (see the layouts above).
 */
export const ROW = {
  flow: {
    u32: { srcWords: W_SRC, dstWords: W_DST, lastSeen: W_LAST_SEEN },
    i32: { initWinFwd: W_INIT_WIN_FWD, initWinBwd: W_INIT_WIN_BWD },
    f64: { startMicros: D_START },
    u16: {
      srcPort: H_SRC_PORT,
      dstPort: H_DST_PORT,
      vlan: H_VLAN,
      tcpHistory: H_TCP_HISTORY,
      exports: H_EXPORTS,
    },
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

/**
 * LRU lists: ONE_WAY holds flows whose responder has not answered yet (a
 * spoofed SYN, a probe of a closed UDP port), OPEN flows with packets both
 * ways, CLOSED flows ended by FIN/RST waiting out the linger. Evictions take
 * CLOSED first, then ONE_WAY, then OPEN: a flood cannot push out the
 * conversations it competes with until it has pushed out its own kind.
 */
export const NO_LIST = 0, OPEN_LIST = 1, CLOSED_LIST = 2, ONE_WAY_LIST = 3;
export const NIL = -1;
export const U32_MAX = 0xffffffff;
/** Byte indices into the rows are computed as int32 (`w << 2`), so each row buffer stays under 2 GiB. */
export const MAX_ROW_BUFFER_BYTES = 2 ** 31 - 1;
/** Bytes a flow costs besides its rows: LRU links and its share of the (at most half full) index. */
export const LINK_BYTES = 8, INDEX_BYTES_PER_FLOW = 16;

/** Index in FLOW_END_REASONS (flow_batch.ts). */
export const END_IDLE = 0, END_ACTIVE = 1, END_FIN = 2, END_RST = 3, END_EVICTED = 4, END_INPUT = 5;
/** Not an end: an interim row of a flow still open (FLOW_END_REASONS "interim"). */
export const END_INTERIM = 6;

/** Why flows were evicted (index of FlowTable.evictedByKind). */
export const EVICTION_KINDS = ["closed", "one-way", "two-way", "emergency-idle"] as const;
export const EVICT_CLOSED = 0, EVICT_ONE_WAY = 1, EVICT_TWO_WAY = 2, EVICT_EMERGENCY_IDLE = 3;

/** Bytes of one flow row and of one statistics row. */
export const FLOW_ROW_BYTES = FLOW_BYTES, STATS_ROW_BYTES = STATS_WORDS * 4;
