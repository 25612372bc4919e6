/**
 * The bidirectional flow table: one fixed-size row per live flow in a single
 * ArrayBuffer (row-major, so one packet touches a few adjacent cache lines),
 * found through an open-addressing index with linear
 * probing and backward-shift deletion. Both directions of a flow hash to the
 * same slot; "forward" is the sender of the flow's first packet.
 *
 * Per-flow statistics are CICFlowMeter's, kept as running sums (Welford) so
 * memory per flow is constant. Times inside a flow are stored as 32-bit
 * microsecond offsets from the flow's start (a flow never outlives the
 * active timeout, capped well under 2^32 us).
 *
 * Flows are kept in two LRU lists (open, and closed by FIN/RST waiting out a
 * short linger for the last ACKs), so idle expiry and eviction at the
 * capacity bound cost O(1) per flow.
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
 * One row per flow in one ArrayBuffer, read through u32/i32/f32/f64 views:
 * a packet touches a few adjacent cache lines instead of one line per field.
 * Slot numbers below are u32 slots; f64 fields use their own index space.
 */
const HASH = 0;
const SRC_PORT = 1;
const DST_PORT = 2;
const PROTOCOL = 3;
const VLAN = 4;
const IP_VERSION = 5;
const PREV = 6;
const NEXT = 7;
const LIST = 8;
const INIT_WIN_FWD = 9;
const INIT_WIN_BWD = 10;
const MIN_SEG_FWD = 11;
const TCP_HISTORY = 12;
const CLOSE_REASON = 13;
const SRC_WORDS = 14;
const DST_WORDS = 18;
const LAST_SEEN = 22;
const FWD_LAST = 23;
const BWD_FIRST = 24;
const BWD_LAST = 25;
const ACTIVE_START = 26;
const ACTIVE_END = 27;
const FWD_PACKETS = 28;
const BWD_PACKETS = 29;
const FWD_PSH = 30;
const BWD_PSH = 31;
const FWD_URG = 32;
const BWD_URG = 33;
const ACT_DATA_FWD = 34;
const SUBFLOWS = 35;
const FWD_LEN_MIN = 36;
const FWD_LEN_MAX = 37;
const BWD_LEN_MIN = 38;
const BWD_LEN_MAX = 39;
const FLOW_IAT_MIN = 40;
const FLOW_IAT_MAX = 41;
const FWD_IAT_MIN = 42;
const FWD_IAT_MAX = 43;
const BWD_IAT_MIN = 44;
const BWD_IAT_MAX = 45;
const ACTIVE_COUNT = 46;
const ACTIVE_SUM = 47;
const ACTIVE_MIN = 48;
const ACTIVE_MAX = 49;
const IDLE_COUNT = 50;
const IDLE_SUM = 51;
const IDLE_MIN = 52;
const IDLE_MAX = 53;
const F_BULK_STATES = 54;
const F_BULK_PACKETS = 55;
const F_BULK_DURATION = 56;
const F_BULK_PACKET_HELPER = 57;
const F_BULK_START = 58;
const F_BULK_LAST = 59;
const B_BULK_STATES = 60;
const B_BULK_PACKETS = 61;
const B_BULK_DURATION = 62;
const B_BULK_PACKET_HELPER = 63;
const B_BULK_START = 64;
const B_BULK_LAST = 65;
/** FIN, SYN, RST, PSH, ACK, URG, CWR, ECE counts: 8 consecutive slots. */
const FLAGS = 66;
const FWD_LEN_M2 = 74;
const BWD_LEN_M2 = 75;
const FLOW_IAT_M2 = 76;
const FWD_IAT_M2 = 77;
const BWD_IAT_M2 = 78;
const ACTIVE_M2 = 79;
const IDLE_M2 = 80;
/** f64 index within the row. */
const START_MICROS = 41;
const FWD_BYTES = 42;
const BWD_BYTES = 43;
const FWD_HEADER_BYTES = 44;
const BWD_HEADER_BYTES = 45;
const F_BULK_BYTES = 46;
const F_BULK_SIZE_HELPER = 47;
const B_BULK_BYTES = 48;
const B_BULK_SIZE_HELPER = 49;
/** u32 slots per row (f64 slots per row: half of it). */
export const ROW_SLOTS = 100;
const ROW64 = 50;

/** Row offsets by field name, for the feature writer (f64 fields index the f64 view). */
export const ROW = {
  hash: HASH,
  srcPort: SRC_PORT,
  dstPort: DST_PORT,
  protocol: PROTOCOL,
  vlan: VLAN,
  ipVersion: IP_VERSION,
  prev: PREV,
  next: NEXT,
  list: LIST,
  initWinFwd: INIT_WIN_FWD,
  initWinBwd: INIT_WIN_BWD,
  minSegFwd: MIN_SEG_FWD,
  tcpHistory: TCP_HISTORY,
  closeReason: CLOSE_REASON,
  lastSeen: LAST_SEEN,
  fwdLast: FWD_LAST,
  bwdFirst: BWD_FIRST,
  bwdLast: BWD_LAST,
  activeStart: ACTIVE_START,
  activeEnd: ACTIVE_END,
  fwdPackets: FWD_PACKETS,
  bwdPackets: BWD_PACKETS,
  fwdPsh: FWD_PSH,
  bwdPsh: BWD_PSH,
  fwdUrg: FWD_URG,
  bwdUrg: BWD_URG,
  actDataFwd: ACT_DATA_FWD,
  subflows: SUBFLOWS,
  fwdLenMin: FWD_LEN_MIN,
  fwdLenMax: FWD_LEN_MAX,
  bwdLenMin: BWD_LEN_MIN,
  bwdLenMax: BWD_LEN_MAX,
  flowIatMin: FLOW_IAT_MIN,
  flowIatMax: FLOW_IAT_MAX,
  fwdIatMin: FWD_IAT_MIN,
  fwdIatMax: FWD_IAT_MAX,
  bwdIatMin: BWD_IAT_MIN,
  bwdIatMax: BWD_IAT_MAX,
  activeCount: ACTIVE_COUNT,
  activeSum: ACTIVE_SUM,
  activeMin: ACTIVE_MIN,
  activeMax: ACTIVE_MAX,
  idleCount: IDLE_COUNT,
  idleSum: IDLE_SUM,
  idleMin: IDLE_MIN,
  idleMax: IDLE_MAX,
  fBulkStates: F_BULK_STATES,
  fBulkPackets: F_BULK_PACKETS,
  fBulkDuration: F_BULK_DURATION,
  fBulkPacketHelper: F_BULK_PACKET_HELPER,
  fBulkStart: F_BULK_START,
  fBulkLast: F_BULK_LAST,
  bBulkStates: B_BULK_STATES,
  bBulkPackets: B_BULK_PACKETS,
  bBulkDuration: B_BULK_DURATION,
  bBulkPacketHelper: B_BULK_PACKET_HELPER,
  bBulkStart: B_BULK_START,
  bBulkLast: B_BULK_LAST,
  fwdLenM2: FWD_LEN_M2,
  bwdLenM2: BWD_LEN_M2,
  flowIatM2: FLOW_IAT_M2,
  fwdIatM2: FWD_IAT_M2,
  bwdIatM2: BWD_IAT_M2,
  activeM2: ACTIVE_M2,
  idleM2: IDLE_M2,
  startMicros: START_MICROS,
  fwdBytes: FWD_BYTES,
  bwdBytes: BWD_BYTES,
  fwdHeaderBytes: FWD_HEADER_BYTES,
  bwdHeaderBytes: BWD_HEADER_BYTES,
  fBulkBytes: F_BULK_BYTES,
  fBulkSizeHelper: F_BULK_SIZE_HELPER,
  bBulkBytes: B_BULK_BYTES,
  bBulkSizeHelper: B_BULK_SIZE_HELPER,
  srcWords: SRC_WORDS,
  dstWords: DST_WORDS,
  flags: FLAGS,
} as const;

const NO_LIST = 0, OPEN_LIST = 1, CLOSED_LIST = 2;
const NIL = -1;
const U32_MAX = 0xffffffff;

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

/** Receives each flow as it leaves the table, before its row is reused. */
export type FlowEndSink = (table: FlowTable, id: number, reason: number) => void;

/** The flow table; fields are public so the feature writer reads them directly. */
export class FlowTable {
  capacity = 0;
  live = 0;
  private indexMask = 0;
  private index = new Int32Array(0);
  private freeHead = NIL;
  private nextUnused = 0;
  private readonly heads = new Int32Array(3).fill(NIL);
  private readonly tails = new Int32Array(3).fill(NIL);

  /** The rows and their views (recreated when the table grows). */
  rows = new ArrayBuffer(0);
  u32 = new Uint32Array(0);
  i32 = new Int32Array(0);
  f32 = new Float32Array(0);
  f64 = new Float64Array(0);

  /** Flows ended by reason (index as FLOW_END_REASONS). */
  readonly endedByReason = new Float64Array(6);
  flowsCreated = 0;

  constructor(readonly limits: FlowTableLimits, private readonly sink: FlowEndSink) {
    this.grow(Math.min(limits.maxFlows, 4096));
  }

  /** Bytes held by the per-flow arrays and the index (what one more flow costs, times capacity). */
  bytesAllocated(): number {
    return this.rows.byteLength + this.index.byteLength;
  }

  /** Bytes per flow slot (all per-flow arrays plus the index share). */
  bytesPerFlow(): number {
    return this.bytesAllocated() / this.capacity;
  }

  /** Meters one decoded packet taken at `ts` (microseconds since the epoch). */
  add(p: DecodedPacket, ts: number): void {
    const h = flowHash(p);
    const mask = this.indexMask;
    const index = this.index;
    let slot = h & mask;
    let id = NIL;
    let forward = true;
    for (;;) {
      const entry = index[slot];
      if (entry === 0) break;
      const candidate = entry - 1;
      if (this.u32[candidate * ROW_SLOTS + HASH] === h) {
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
      const offset = ts - this.f64[id * ROW64 + START_MICROS];
      const closed = this.u32[id * ROW_SLOTS + LIST] === CLOSED_LIST;
      const quiet = offset - this.u32[id * ROW_SLOTS + LAST_SEEN];
      if (closed && quiet > this.limits.closeLingerMicros) {
        this.end(id, this.u32[id * ROW_SLOTS + CLOSE_REASON]);
      } else if (quiet > this.limits.idleTimeoutMicros) {
        // Idle past the timeout but not yet swept (same batch): end it as idle.
        this.end(id, END_IDLE);
      } else if (offset > this.limits.activeTimeoutMicros) {
        this.end(id, END_ACTIVE);
      } else if (closed && (p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        // A new connection reusing the ports of one that just closed.
        this.end(id, this.u32[id * ROW_SLOTS + CLOSE_REASON]);
      } else {
        this.update(id, forward, p, offset < 0 ? 0 : offset);
        return;
      }
    }
    this.create(p, ts, h);
  }

  /** Ends flows idle past the timeout (and closed flows past the linger) as of `now`. */
  expire(now: number): void {
    const closedCutoff = now - this.limits.closeLingerMicros;
    for (let id = this.heads[CLOSED_LIST]; id !== NIL; id = this.heads[CLOSED_LIST]) {
      if (
        this.f64[id * ROW64 + START_MICROS] + this.u32[id * ROW_SLOTS + LAST_SEEN] >=
          closedCutoff
      ) break;
      this.end(id, this.u32[id * ROW_SLOTS + CLOSE_REASON]);
    }
    const idleCutoff = now - this.limits.idleTimeoutMicros;
    for (let id = this.heads[OPEN_LIST]; id !== NIL; id = this.heads[OPEN_LIST]) {
      if (
        this.f64[id * ROW64 + START_MICROS] + this.u32[id * ROW_SLOTS + LAST_SEEN] >=
          idleCutoff
      ) break;
      this.end(id, END_IDLE);
    }
  }

  /** Ends every flow with `reason` (end of input). */
  flushAll(reason: number): void {
    for (const list of [CLOSED_LIST, OPEN_LIST]) {
      for (let id = this.heads[list]; id !== NIL; id = this.heads[list]) {
        this.end(id, list === CLOSED_LIST ? this.u32[id * ROW_SLOTS + CLOSE_REASON] : reason);
      }
    }
  }

  /** 1 when `p` goes forward in flow `id`, 2 when backward, 0 when not this flow. */
  private match(id: number, p: DecodedPacket): number {
    const u = this.u32, r = id * ROW_SLOTS;
    if (u[r + PROTOCOL] !== p.protocol || u[r + VLAN] !== p.vlan) return 0;
    const ps = p.srcWords, pd = p.dstWords, s = r + SRC_WORDS, d = r + DST_WORDS;
    if (
      u[r + SRC_PORT] === p.srcPort && u[r + DST_PORT] === p.dstPort &&
      u[s] === ps[0] && u[s + 1] === ps[1] && u[s + 2] === ps[2] && u[s + 3] === ps[3] &&
      u[d] === pd[0] && u[d + 1] === pd[1] && u[d + 2] === pd[2] && u[d + 3] === pd[3]
    ) return 1;
    if (
      u[r + SRC_PORT] === p.dstPort && u[r + DST_PORT] === p.srcPort &&
      u[s] === pd[0] && u[s + 1] === pd[1] && u[s + 2] === pd[2] && u[s + 3] === pd[3] &&
      u[d] === ps[0] && u[d + 1] === ps[1] && u[d + 2] === ps[2] && u[d + 3] === ps[3]
    ) return 2;
    return 0;
  }

  private create(p: DecodedPacket, ts: number, h: number): void {
    if (this.live >= this.limits.maxFlows) {
      const victim = this.heads[CLOSED_LIST] !== NIL
        ? this.heads[CLOSED_LIST]
        : this.heads[OPEN_LIST];
      this.end(victim, END_EVICTED);
    }
    let id: number;
    if (this.freeHead !== NIL) {
      id = this.freeHead;
      this.freeHead = this.i32[id * ROW_SLOTS + NEXT];
    } else {
      if (this.nextUnused >= this.capacity) {
        this.grow(Math.min(this.capacity * 2, this.limits.maxFlows));
      }
      id = this.nextUnused++;
    }
    this.live++;
    this.flowsCreated++;
    // Reset the whole row (rows are reused), then identity; minimums start at the top.
    const u32 = this.u32, u = id * ROW_SLOTS;
    u32.fill(0, u, u + ROW_SLOTS);
    const ps = p.srcWords, pd = p.dstWords, sw = u + SRC_WORDS, dw = u + DST_WORDS;
    u32[sw] = ps[0], u32[sw + 1] = ps[1], u32[sw + 2] = ps[2], u32[sw + 3] = ps[3];
    u32[dw] = pd[0], u32[dw + 1] = pd[1], u32[dw + 2] = pd[2], u32[dw + 3] = pd[3];
    u32[u + SRC_PORT] = p.srcPort;
    u32[u + DST_PORT] = p.dstPort;
    u32[u + PROTOCOL] = p.protocol;
    u32[u + IP_VERSION] = p.ipVersion;
    u32[u + VLAN] = p.vlan;
    u32[u + HASH] = h;
    this.insertIndex(id, h);
    this.append(id, OPEN_LIST);
    this.f64[id * ROW64 + START_MICROS] = ts;
    u32[u + SUBFLOWS] = 1;
    u32[u + FWD_LEN_MIN] = U32_MAX;
    u32[u + BWD_LEN_MIN] = U32_MAX;
    u32[u + FLOW_IAT_MIN] = U32_MAX;
    u32[u + FWD_IAT_MIN] = U32_MAX;
    u32[u + BWD_IAT_MIN] = U32_MAX;
    u32[u + ACTIVE_MIN] = U32_MAX;
    u32[u + IDLE_MIN] = U32_MAX;
    this.i32[id * ROW_SLOTS + INIT_WIN_FWD] = -1;
    this.i32[id * ROW_SLOTS + INIT_WIN_BWD] = -1;
    this.u32[id * ROW_SLOTS + MIN_SEG_FWD] = 0xffff;
    this.u32[id * ROW_SLOTS + TCP_HISTORY] = 0;
    this.u32[id * ROW_SLOTS + CLOSE_REASON] = 0;
    this.update(id, true, p, 0);
  }

  /** Adds packet `p` at offset `t` (us from flow start) to flow `id`. */
  private update(id: number, forward: boolean, p: DecodedPacket, t: number): void {
    const first = this.u32[id * ROW_SLOTS + FWD_PACKETS] === 0 &&
      this.u32[id * ROW_SLOTS + BWD_PACKETS] === 0;
    const size = p.payloadBytes;
    if (!first) {
      // Active/idle periods, as CICFlowMeter's updateActiveIdleTime.
      const sinceActive = t - this.u32[id * ROW_SLOTS + ACTIVE_END];
      if (sinceActive > this.limits.activityTimeoutMicros) {
        const active = this.u32[id * ROW_SLOTS + ACTIVE_END] -
          this.u32[id * ROW_SLOTS + ACTIVE_START];
        if (active > 0) {
          addPeriod(
            this.u32,
            id * ROW_SLOTS + ACTIVE_COUNT,
            this.f32,
            id * ROW_SLOTS + ACTIVE_M2,
            active,
          );
        }
        addPeriod(
          this.u32,
          id * ROW_SLOTS + IDLE_COUNT,
          this.f32,
          id * ROW_SLOTS + IDLE_M2,
          sinceActive,
        );
        this.u32[id * ROW_SLOTS + ACTIVE_START] = t;
        this.u32[id * ROW_SLOTS + ACTIVE_END] = t;
      } else if (t > this.u32[id * ROW_SLOTS + ACTIVE_END]) {
        this.u32[id * ROW_SLOTS + ACTIVE_END] = t;
      }
      // Flow IAT.
      const previous = this.u32[id * ROW_SLOTS + LAST_SEEN];
      const iat = t > previous ? t - previous : 0;
      if (iat > 1_000_000) this.u32[id * ROW_SLOTS + SUBFLOWS]++;
      const n = this.u32[id * ROW_SLOTS + FWD_PACKETS] + this.u32[id * ROW_SLOTS + BWD_PACKETS]; // packets before = IATs after
      this.f32[id * ROW_SLOTS + FLOW_IAT_M2] += welfordStep(previous, n - 1, iat);
      if (iat < this.u32[id * ROW_SLOTS + FLOW_IAT_MIN]) {
        this.u32[id * ROW_SLOTS + FLOW_IAT_MIN] = iat;
      }
      if (iat > this.u32[id * ROW_SLOTS + FLOW_IAT_MAX]) {
        this.u32[id * ROW_SLOTS + FLOW_IAT_MAX] = iat;
      }
      if (t > previous) this.u32[id * ROW_SLOTS + LAST_SEEN] = t;
    }
    const flags = p.tcpFlags;
    if (forward) {
      const n = ++this.u32[id * ROW_SLOTS + FWD_PACKETS];
      this.f32[id * ROW_SLOTS + FWD_LEN_M2] += welfordStep(
        this.f64[id * ROW64 + FWD_BYTES],
        n - 1,
        size,
      );
      this.f64[id * ROW64 + FWD_BYTES] += size;
      if (size < this.u32[id * ROW_SLOTS + FWD_LEN_MIN]) {
        this.u32[id * ROW_SLOTS + FWD_LEN_MIN] = size;
      }
      if (size > this.u32[id * ROW_SLOTS + FWD_LEN_MAX]) {
        this.u32[id * ROW_SLOTS + FWD_LEN_MAX] = size;
      }
      this.f64[id * ROW64 + FWD_HEADER_BYTES] += p.l4HeaderBytes;
      if (p.l4HeaderBytes < this.u32[id * ROW_SLOTS + MIN_SEG_FWD]) {
        this.u32[id * ROW_SLOTS + MIN_SEG_FWD] = p.l4HeaderBytes;
      }
      if (size >= 1) this.u32[id * ROW_SLOTS + ACT_DATA_FWD]++;
      if (n > 1) {
        const last = this.u32[id * ROW_SLOTS + FWD_LAST];
        const iat = t > last ? t - last : 0;
        // Sum of earlier forward IATs is fwdLast (the first forward packet is at offset 0).
        this.f32[id * ROW_SLOTS + FWD_IAT_M2] += welfordStep(last, n - 2, iat);
        if (iat < this.u32[id * ROW_SLOTS + FWD_IAT_MIN]) {
          this.u32[id * ROW_SLOTS + FWD_IAT_MIN] = iat;
        }
        if (iat > this.u32[id * ROW_SLOTS + FWD_IAT_MAX]) {
          this.u32[id * ROW_SLOTS + FWD_IAT_MAX] = iat;
        }
        if (t > last) this.u32[id * ROW_SLOTS + FWD_LAST] = t;
      }
      if (flags & TCP_PSH) this.u32[id * ROW_SLOTS + FWD_PSH]++;
      if (flags & TCP_URG) this.u32[id * ROW_SLOTS + FWD_URG]++;
      if (p.protocol === PROTO_TCP && this.i32[id * ROW_SLOTS + INIT_WIN_FWD] < 0) {
        this.i32[id * ROW_SLOTS + INIT_WIN_FWD] = p.tcpWindow;
      }
      this.updateBulk(id, true, size, t);
    } else {
      const n = ++this.u32[id * ROW_SLOTS + BWD_PACKETS];
      this.f32[id * ROW_SLOTS + BWD_LEN_M2] += welfordStep(
        this.f64[id * ROW64 + BWD_BYTES],
        n - 1,
        size,
      );
      this.f64[id * ROW64 + BWD_BYTES] += size;
      if (size < this.u32[id * ROW_SLOTS + BWD_LEN_MIN]) {
        this.u32[id * ROW_SLOTS + BWD_LEN_MIN] = size;
      }
      if (size > this.u32[id * ROW_SLOTS + BWD_LEN_MAX]) {
        this.u32[id * ROW_SLOTS + BWD_LEN_MAX] = size;
      }
      this.f64[id * ROW64 + BWD_HEADER_BYTES] += p.l4HeaderBytes;
      if (n === 1) {
        this.u32[id * ROW_SLOTS + BWD_FIRST] = t;
        this.u32[id * ROW_SLOTS + BWD_LAST] = t;
      } else {
        const last = this.u32[id * ROW_SLOTS + BWD_LAST];
        const iat = t > last ? t - last : 0;
        this.f32[id * ROW_SLOTS + BWD_IAT_M2] += welfordStep(
          last - this.u32[id * ROW_SLOTS + BWD_FIRST],
          n - 2,
          iat,
        );
        if (iat < this.u32[id * ROW_SLOTS + BWD_IAT_MIN]) {
          this.u32[id * ROW_SLOTS + BWD_IAT_MIN] = iat;
        }
        if (iat > this.u32[id * ROW_SLOTS + BWD_IAT_MAX]) {
          this.u32[id * ROW_SLOTS + BWD_IAT_MAX] = iat;
        }
        if (t > last) this.u32[id * ROW_SLOTS + BWD_LAST] = t;
      }
      if (flags & TCP_PSH) this.u32[id * ROW_SLOTS + BWD_PSH]++;
      if (flags & TCP_URG) this.u32[id * ROW_SLOTS + BWD_URG]++;
      if (p.protocol === PROTO_TCP && this.i32[id * ROW_SLOTS + INIT_WIN_BWD] < 0) {
        this.i32[id * ROW_SLOTS + INIT_WIN_BWD] = p.tcpWindow;
      }
      this.updateBulk(id, false, size, t);
    }
    if (p.protocol === PROTO_TCP) this.updateTcp(id, forward, flags, size);
    else this.touch(id);
  }

  private updateTcp(id: number, forward: boolean, flags: number, size: number): void {
    const f = id * ROW_SLOTS + FLAGS;
    const counts = this.u32;
    if (flags & TCP_FIN) counts[f]++;
    if (flags & TCP_SYN) counts[f + 1]++;
    if (flags & TCP_RST) counts[f + 2]++;
    if (flags & TCP_PSH) counts[f + 3]++;
    if (flags & TCP_ACK) counts[f + 4]++;
    if (flags & TCP_URG) counts[f + 5]++;
    if (flags & TCP_CWR) counts[f + 6]++;
    if (flags & TCP_ECE) counts[f + 7]++;
    let history = this.u32[id * ROW_SLOTS + TCP_HISTORY];
    const shift = forward ? 0 : 4;
    if (flags & TCP_SYN) history |= (flags & TCP_ACK ? H_FWD_SYNACK : H_FWD_SYN) << shift;
    if (flags & TCP_FIN) history |= H_FWD_FIN << shift;
    if (flags & TCP_RST) history |= H_FWD_RST << shift;
    if (size > 0) history |= forward ? H_FWD_DATA : H_BWD_DATA;
    this.u32[id * ROW_SLOTS + TCP_HISTORY] = history;
    if (this.u32[id * ROW_SLOTS + LIST] === OPEN_LIST) {
      if (flags & TCP_RST) {
        this.u32[id * ROW_SLOTS + CLOSE_REASON] = END_RST;
        this.moveTo(id, CLOSED_LIST);
        return;
      }
      if ((history & (H_FWD_FIN | H_BWD_FIN)) === (H_FWD_FIN | H_BWD_FIN)) {
        this.u32[id * ROW_SLOTS + CLOSE_REASON] = END_FIN;
        this.moveTo(id, CLOSED_LIST);
        return;
      }
    }
    this.touch(id);
  }

  /** CICFlowMeter's bulk detection (updateForwardBulk / updateBackwardBulk). */
  private updateBulk(id: number, forward: boolean, size: number, offset: number): void {
    const t = offset + 1; // 0 means unset, as in CICFlowMeter
    // The six u32 and two f64 bulk fields of each direction are laid out alike.
    const u32 = this.u32, f64 = this.f64;
    const u = id * ROW_SLOTS + (forward ? F_BULK_STATES : B_BULK_STATES) - F_BULK_STATES;
    const d = id * ROW64 + (forward ? F_BULK_BYTES : B_BULK_BYTES) - F_BULK_BYTES;
    const otherLast = u32[id * ROW_SLOTS + (forward ? B_BULK_LAST : F_BULK_LAST)];
    if (otherLast > u32[u + F_BULK_START]) u32[u + F_BULK_START] = 0;
    if (size <= 0) return;
    if (u32[u + F_BULK_START] === 0 || t - u32[u + F_BULK_LAST] > 1_000_000) {
      u32[u + F_BULK_START] = t;
      u32[u + F_BULK_LAST] = t;
      u32[u + F_BULK_PACKET_HELPER] = 1;
      f64[d + F_BULK_SIZE_HELPER] = size;
      return;
    }
    const helper = ++u32[u + F_BULK_PACKET_HELPER];
    f64[d + F_BULK_SIZE_HELPER] += size;
    if (helper === 4) {
      u32[u + F_BULK_STATES]++;
      u32[u + F_BULK_PACKETS] += helper;
      f64[d + F_BULK_BYTES] += f64[d + F_BULK_SIZE_HELPER];
      u32[u + F_BULK_DURATION] += t - u32[u + F_BULK_START];
    } else if (helper > 4) {
      u32[u + F_BULK_PACKETS]++;
      f64[d + F_BULK_BYTES] += size;
      u32[u + F_BULK_DURATION] += t - u32[u + F_BULK_LAST];
    }
    u32[u + F_BULK_LAST] = t;
  }

  /** Hands the flow to the sink, then frees its row. */
  private end(id: number, reason: number): void {
    this.sink(this, id, reason);
    this.endedByReason[reason]++;
    this.unlink(id);
    this.removeIndex(id);
    this.u32[id * ROW_SLOTS + LIST] = NO_LIST;
    this.i32[id * ROW_SLOTS + NEXT] = this.freeHead;
    this.freeHead = id;
    this.live--;
  }

  // --- LRU lists -----------------------------------------------------------

  private append(id: number, list: number): void {
    const tail = this.tails[list];
    this.i32[id * ROW_SLOTS + PREV] = tail;
    this.i32[id * ROW_SLOTS + NEXT] = NIL;
    if (tail === NIL) this.heads[list] = id;
    else this.i32[tail * ROW_SLOTS + NEXT] = id;
    this.tails[list] = id;
    this.u32[id * ROW_SLOTS + LIST] = list;
  }

  private unlink(id: number): void {
    const list = this.u32[id * ROW_SLOTS + LIST];
    const before = this.i32[id * ROW_SLOTS + PREV], after = this.i32[id * ROW_SLOTS + NEXT];
    if (before === NIL) this.heads[list] = after;
    else this.i32[before * ROW_SLOTS + NEXT] = after;
    if (after === NIL) this.tails[list] = before;
    else this.i32[after * ROW_SLOTS + PREV] = before;
  }

  /** Moves the flow to the most recent end of its list. */
  private touch(id: number): void {
    const list = this.u32[id * ROW_SLOTS + LIST];
    if (this.tails[list] === id) return;
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
    let slot = h & mask;
    while (this.index[slot] !== 0) slot = (slot + 1) & mask;
    this.index[slot] = id + 1;
  }

  /** Linear-probing deletion by backward shift: no tombstones, probes stay short. */
  private removeIndex(id: number): void {
    const mask = this.indexMask;
    const index = this.index;
    let hole = this.u32[id * ROW_SLOTS + HASH] & mask;
    while (index[hole] !== id + 1) hole = (hole + 1) & mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const entry = index[j];
      if (entry === 0) break;
      const home = this.u32[(entry - 1) * ROW_SLOTS + HASH] & mask;
      // Move the entry back when its home is not inside (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        index[hole] = entry;
        hole = j;
      }
    }
    index[hole] = 0;
  }

  /** Grows every per-flow array to `capacity` rows and rebuilds the index. */
  private grow(capacity: number): void {
    const old = this.capacity;
    if (capacity <= old) return;
    const rows = new ArrayBuffer(capacity * ROW_SLOTS * 4);
    new Uint8Array(rows).set(new Uint8Array(this.rows));
    this.rows = rows;
    this.u32 = new Uint32Array(rows);
    this.i32 = new Int32Array(rows);
    this.f32 = new Float32Array(rows);
    this.f64 = new Float64Array(rows);
    this.capacity = capacity;
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.index = new Int32Array(size);
    this.indexMask = size - 1;
    for (const list of [OPEN_LIST, CLOSED_LIST]) {
      for (let id = this.heads[list]; id !== NIL; id = this.i32[id * ROW_SLOTS + NEXT]) {
        this.insertIndex(id, this.u32[id * ROW_SLOTS + HASH]);
      }
    }
  }
}

/**
 * Welford's update of the second moment when `x` joins `n` earlier values
 * whose sum is `sumBefore`: returns the increment to M2.
 */
function welfordStep(sumBefore: number, n: number, x: number): number {
  if (n === 0) return 0;
  const meanBefore = sumBefore / n;
  const meanAfter = (sumBefore + x) / (n + 1);
  return (x - meanBefore) * (x - meanAfter);
}

/**
 * Adds one active or idle period: `at` indexes its count, then sum, min and
 * max follow in the u32 row (ACTIVE_* and IDLE_* are laid out alike).
 */
function addPeriod(
  u32: Uint32Array,
  at: number,
  f32: Float32Array,
  m2At: number,
  value: number,
): void {
  const n = u32[at];
  f32[m2At] += welfordStep(u32[at + 1], n, value);
  u32[at] = n + 1;
  u32[at + 1] += value;
  if (value < u32[at + 2]) u32[at + 2] = value;
  if (value > u32[at + 3]) u32[at + 3] = value;
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
