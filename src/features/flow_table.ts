/**
 * The bidirectional flow table. Each live flow has a 128-byte flow row (two
 * cache lines: its key, timing and TCP state, and a log of its last few
 * packets; see flow_layout.ts) found through an open-addressing hash index
 * (flow_index.ts). Both directions of a flow hash to the same slot;
 * "forward" is the sender of the flow's first packet.
 *
 * A packet updates only what the table's own decisions need (last time
 * seen, TCP history, list position) and is appended to the flow's log.
 * When the log is full, the next CHUNK_PACKETS (8) packets go to a 64-byte
 * log chunk (flow_log_chunks.ts); when that is full too, the packets are
 * folded, in order, into the flow's 320-byte statistics row (CICFlowMeter's
 * running sums, counts, extremes; flow_statistics.ts), which is allocated
 * then, and from there on the log is folded into it every LOG_PACKETS
 * packets. A flow that ends with at most LOG_PACKETS (6) packets needs
 * neither (its log, 8 bytes a packet, is folded into a scratch row when it
 * ends), one of up to 14 only a chunk. So most packets touch two adjacent
 * cache lines, short flows cost 152 bytes each, flows of 7-14 packets 216,
 * and the statistics are the same as one update per packet: the fold
 * replays them.
 *
 * Times inside a flow are 32-bit microsecond offsets from the flow's start (a
 * flow never outlives the active timeout, capped well under 2^32 us).
 *
 * Flows are kept in three LRU lists (flow_lists.ts): one-way (no answer
 * yet), open (packets both ways), and closed by FIN/RST waiting out a short
 * linger for the last ACKs, so idle expiry and eviction cost O(1) per flow.
 *
 * Bounds, as Suricata's flow memcap: at `maxFlows` flows or `memcapBytes`
 * bytes the table evicts (closed flows first, then one-way flows, the spoofed
 * SYNs of a flood, then the least recently seen two-way flow), counts each
 * eviction by kind, and enters emergency mode, in which one-way flows end
 * after a short idle time, until it is back under 70% of its bounds.
 *
 * Interim rows, as NetFlow's active timeout: with `interimExportMicros` set,
 * a flow still open that long after its first packet is handed to the sink
 * as it stands (reason END_INTERIM), then again at doubling gaps while it
 * has new packets (a row that is due waits for the flow's next packet), so
 * a scan, a slow attack or a flood is scored while it lasts. A flow whose last interim row held every packet ends with no
 * further row.
 */
import { type DecodedPacket, PROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "./decode.ts";
import {
  B_CLOSE_REASON,
  B_IP_VERSION,
  B_LIST,
  B_PROTOCOL,
  CHUNK_BIT,
  CHUNK_BYTES,
  CHUNK_PACKETS,
  CHUNK_WORDS,
  CLOSED_LIST,
  D_START,
  END_ACTIVE,
  END_EVICTED,
  END_FIN,
  END_IDLE,
  END_INTERIM,
  END_RST,
  EVICT_CLOSED,
  EVICT_EMERGENCY_IDLE,
  EVICT_ONE_WAY,
  EVICT_TWO_WAY,
  EVICTION_KINDS,
  EXPORT_COUNT_MASK,
  EXPORT_DIRTY,
  FLAGS_SHIFT,
  FLOW_ROW_BYTES,
  FLOW_WORDS,
  FORWARD_BIT,
  H_BWD_DATA,
  H_BWD_FIN,
  H_DST_PORT,
  H_EXPORTS,
  H_FWD_DATA,
  H_FWD_FIN,
  H_FWD_RST,
  H_FWD_SYN,
  H_FWD_SYNACK,
  H_LOG_COUNT,
  H_LOGIN_COUNT_MAX,
  H_LOGIN_FAILED_SHIFT,
  H_LOGIN_OK_SHIFT,
  H_SRC_PORT,
  H_TCP_HISTORY,
  H_VLAN,
  HEADER_SHIFT,
  INDEX_BYTES_PER_FLOW,
  INIT_WIN_TTL_SHIFT,
  LINK_BYTES,
  LOG_PACKETS,
  LOG_WORDS,
  MAX_ROW_BUFFER_BYTES,
  NIL,
  NO_LIST,
  ONE_WAY_LIST,
  OPEN_LIST,
  STATS_ROW_BYTES,
  STATS_WORDS,
  W_DST,
  W_HASH,
  W_INIT_WIN_BWD,
  W_INIT_WIN_FWD,
  W_LAST_SEEN,
  W_LOG,
  W_NEXT_EXPORT,
  W_SRC,
  W_STATS,
} from "./flow_layout.ts";
import { FlowStatistics } from "./flow_statistics.ts";
import { FlowLogChunks } from "./flow_log_chunks.ts";
import { FlowLists } from "./flow_lists.ts";
import { FlowIndex } from "./flow_index.ts";
import { LOGIN_FAILED, LOGIN_OK } from "./login_outcomes.ts";
import { LOGIN_OK_AFTER_FAILURES, SSH_PORT, SshAuthTracker } from "./ssh_auth.ts";
import { adviseHugePages } from "../ffi/mod.ts";

/** Timing and memory bounds of the table; times in microseconds. */
export interface FlowTableLimits {
  idleTimeoutMicros: number;
  activeTimeoutMicros: number;
  activityTimeoutMicros: number;
  closeLingerMicros: number;
  maxFlows: number;
  /**
   * Bytes the flows may hold (flow rows, links, index share, statistics
   * rows). Reaching it evicts flows (closed, then one-way, then two-way) and
   * starts emergency mode. Default: only maxFlows bounds the table.
   */
  memcapBytes?: number;
  /** In emergency mode, one-way flows end after this long without a packet. Default 2 s. */
  emergencyIdleMicros?: number;
  /**
   * Share of the table's bounds one-way flows may hold; past it the oldest
   * one-way flow is evicted and emergency mode begins. Default 1.
   */
  oneWayShare?: number;
  /**
   * Interim rows: a flow still open this long after its first packet is
   * exported as it stands, then again at doubling gaps (at most 60 s) while
   * it has new packets. 0 or absent: no interim rows.
   */
  interimExportMicros?: number;
  /**
   * Keep, for each flow, the sequence number of its latest packet
   * (`touchSeq` when it was added): a table holding one shard of the flows
   * can then say where each ending flow stood in the LRU order of the one
   * table it replaces (see FlowMeterOptions.shard).
   */
  trackTouchOrder?: boolean;
}

/**
 * Receives each flow as it leaves the table, before its rows are reused
 * (and each interim snapshot, with reason END_INTERIM): `id` is its flow
 * row, `table.endingStats` its complete statistics row.
 */
export type FlowEndSink = (table: FlowTable, id: number, reason: number) => void;

/** Bytes a flow costs without a statistics row: flow row, links, index share. */
const FLOW_COST = FLOW_ROW_BYTES + LINK_BYTES + INDEX_BYTES_PER_FLOW;
/** Emergency mode ends when the table is back under this share of its bounds. */
const EMERGENCY_RECOVERY = 0.7;
/** Flows whose memory expiry reads ahead together (see prefetchEnding). */
const ENDING_GROUP = 8;
/** Longest gap between two interim rows of a flow. */
const INTERIM_MAX_GAP_MICROS = 60e6;

/**
 * The flow table; the row views are public so the feature writer reads them
 * directly. Rows for the table's capacity are reserved once: the operating
 * system commits a page only when a row on it is first used, so memory
 * follows the flows actually held and the table never copies itself to grow
 * (no doubling peak). Only the small hash index is rebuilt as flows grow.
 */
export class FlowTable {
  /** Flows held at most: maxFlows, or fewer when the memcap allows fewer. */
  readonly capacity: number;
  live = 0;
  /** Flow rows ever used (high-water mark); rows beyond it are untouched. */
  private flowRowsUsed = 0;
  private readonly index = new FlowIndex();
  private readonly lists: FlowLists;
  private readonly stats: FlowStatistics;
  private readonly chunks: FlowLogChunks;
  /** SSH login outcomes per flow (state allocated with the first SSH segment). */
  private readonly ssh: SshAuthTracker;
  private freeHead = NIL;

  /** Flow rows. */
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Statistics rows (see FlowStatistics). */
  readonly su8: Uint8Array;
  readonly su16: Uint16Array;
  readonly su32: Uint32Array;
  readonly sf64: Float64Array;
  /** Keeps prefetch's loads observable (never read for anything else). */
  prefetchSink = 0;
  /** The flows prefetchEnding read ahead. */
  private readonly endingGroup = new Int32Array(ENDING_GROUP);
  /** While the sink runs: the ending flow's statistics row. */
  endingStats = 0;

  /** Flows ended by reason (index as FLOW_END_REASONS; "interim" counts interim rows). */
  readonly endedByReason = new Float64Array(7);
  /** Evictions by kind (index as EVICTION_KINDS). */
  readonly evictedByKind = new Float64Array(EVICTION_KINDS.length);
  flowsCreated = 0;
  /** Flows that ended with nothing new since their last interim row (no final row). */
  endedWithoutFinalRow = 0;
  /** True while the table is at its bounds (see FlowTableLimits.memcapBytes). */
  emergency = false;
  /** Times emergency mode began. */
  emergencyEntered = 0;
  /** Flows on the one-way list now. */
  oneWayLive = 0;
  /** With trackTouchOrder: each flow's latest packet's `touchSeq`; the caller sets touchSeq before add. */
  readonly lastTouch: Float64Array | null;
  touchSeq = 0;

  private readonly memcap: number;
  private readonly idleTimeout: number;
  private readonly activeTimeout: number;
  private readonly closeLinger: number;
  private readonly emergencyIdle: number;
  /** One-way flows held at most (see FlowTableLimits.oneWayShare). */
  private readonly oneWayCap: number;
  private readonly interimFirst: number;
  /** Interim sweep: packet time of the next sweep, and the next flow row to look at (-1 = idle). */
  private nextSweepAt = -Infinity;
  private sweepCursor = -1;

  constructor(readonly limits: FlowTableLimits, private readonly sink: FlowEndSink) {
    this.memcap = limits.memcapBytes ?? Infinity;
    if (!(this.memcap >= FLOW_COST + STATS_ROW_BYTES)) {
      throw new RangeError(`memcapBytes must hold at least one flow, got ${limits.memcapBytes}`);
    }
    const capacity = Math.min(limits.maxFlows, Math.floor(this.memcap / FLOW_COST));
    if ((capacity + 1) * STATS_ROW_BYTES > MAX_ROW_BUFFER_BYTES) {
      throw new RangeError(
        `maxFlows ${capacity} is too large: at most ` +
          `${Math.floor(MAX_ROW_BUFFER_BYTES / STATS_ROW_BYTES) - 1} flows fit one table`,
      );
    }
    this.capacity = capacity;
    const flows = reserve(capacity * FLOW_ROW_BYTES, capacity);
    this.u8 = new Uint8Array(flows);
    this.u16 = new Uint16Array(flows);
    this.u32 = new Uint32Array(flows);
    this.i32 = new Int32Array(flows);
    this.f64 = new Float64Array(flows);
    this.stats = new FlowStatistics(
      reserve((capacity + 1) * STATS_ROW_BYTES, capacity),
      capacity,
      limits.activityTimeoutMicros,
    );
    this.chunks = new FlowLogChunks(reserve(capacity * CHUNK_BYTES, capacity));
    this.ssh = new SshAuthTracker(capacity);
    this.su8 = this.stats.su8;
    this.su16 = this.stats.su16;
    this.su32 = this.stats.su32;
    this.sf64 = this.stats.sf64;
    this.lists = new FlowLists(capacity, ONE_WAY_LIST);
    // Rows are committed a page at a time as flows arrive, and a fresh 4 KiB page costs this VM
    // 15-66 us (5.9% of metering's CPU profile on the synthetic capture): huge pages take one
    // fault per 2 MiB, and the rows' random reads miss the TLB less (see adviseHugePages).
    adviseHugePages(this.u8);
    adviseHugePages(this.su8);
    adviseHugePages(this.chunks.u32);
    adviseHugePages(this.lists.links);
    this.idleTimeout = limits.idleTimeoutMicros;
    this.activeTimeout = limits.activeTimeoutMicros;
    this.closeLinger = limits.closeLingerMicros;
    this.emergencyIdle = Math.min(limits.emergencyIdleMicros ?? 2e6, this.idleTimeout);
    const share = limits.oneWayShare ?? 1;
    if (!(share > 0 && share <= 1)) {
      throw new RangeError(`oneWayShare must be in (0, 1], got ${limits.oneWayShare}`);
    }
    this.oneWayCap = Math.max(1, Math.floor(capacity * share));
    this.interimFirst = limits.interimExportMicros ?? 0;
    this.index.resize(2 * Math.min(capacity, 4096));
    this.lastTouch = limits.trackTouchOrder ? new Float64Array(capacity) : null;
  }

  /** Which LRU list flow `id` is on (NO_LIST when it is free). */
  listOf(id: number): number {
    return this.u8[id * FLOW_ROW_BYTES + B_LIST];
  }

  /** Bytes in use: rows and links up to their high-water marks, plus the index. */
  bytesAllocated(): number {
    return this.flowRowsUsed * (FLOW_ROW_BYTES + LINK_BYTES) + this.stats.bytesAllocated() +
      this.chunks.bytesAllocated() + this.index.byteLength + this.ssh.bytes;
  }

  /** Bytes the flows held now cost (what the memcap bounds). */
  bytesInUse(): number {
    return this.live * FLOW_COST + this.stats.live * STATS_ROW_BYTES +
      this.chunks.live * CHUNK_BYTES;
  }

  /**
   * Bytes per flow held now: flow row, links, index share, plus statistics
   * rows and log chunks spread over the flows. With no flows, the cost of a
   * short flow.
   */
  bytesPerFlow(): number {
    return this.live > 0 ? this.bytesInUse() / this.live : FLOW_COST;
  }

  /** Flows holding a log chunk now (7 to LOG_PACKETS + CHUNK_PACKETS packets, no statistics row yet). */
  logChunksLive(): number {
    return this.chunks.live;
  }

  /** Flows holding a statistics row now (they logged more than LOG_PACKETS + CHUNK_PACKETS packets). */
  statisticsRowsLive(): number {
    return this.stats.live;
  }

  /** Bytes one long flow costs: flow row, links, index share and statistics row. */
  maxBytesPerFlow(): number {
    return FLOW_COST + STATS_ROW_BYTES;
  }

  /**
   * Reads, without changing anything, the memory that `add` will need for
   * the packets of hashes `hashes[0 .. n)`: their index slots, then the flow
   * rows and LRU links those slots name, then the neighbours' links. Loads
   * of one step do not depend on each other, so the CPU overlaps their cache
   * misses instead of taking them one packet after another (a prefetch
   * written as plain loads). It keeps one bit of them so the loads are not
   * optimised away (prefetchSink); the table reads and decides everything again in `add`.
   */
  prefetch(hashes: Uint32Array, n: number, entries: Int32Array): void {
    const slots = this.index.slots, mask = this.index.mask;
    const u32 = this.u32, links = this.lists.links;
    let sink = 0;
    for (let k = 0; k < n; k++) entries[k] = slots[2 * (hashes[k] & mask)];
    for (let k = 0; k < n; k++) {
      const entry = entries[k];
      if (entry === 0) continue;
      const id = entry - 1, w = id * FLOW_WORDS;
      sink ^= u32[w + W_HASH] ^ u32[w + W_LOG] ^ links[2 * id] ^ links[2 * id + 1];
    }
    for (let k = 0; k < n; k++) {
      const entry = entries[k];
      if (entry === 0) continue;
      const id = entry - 1;
      const before = links[2 * id], after = links[2 * id + 1];
      if (before !== NIL) sink ^= links[2 * before + 1];
      if (after !== NIL) sink ^= links[2 * after];
    }
    // One bit that depends on every load, kept in a field: a returned 32-bit value would be boxed.
    this.prefetchSink = sink & 1;
  }

  /** Meters one decoded packet, taken at `p.timeMicros`, its `p.flowHash` set (setFlowHash). */
  add(p: DecodedPacket): void {
    const ts = p.timeMicros, h = p.flowHash;
    const index = this.index;
    const mask = index.mask;
    const slots = index.slots;
    const tag = h | 0;
    let slot = h & mask;
    let id = NIL;
    let forward = true;
    for (;;) {
      const entry = slots[2 * slot];
      if (entry === 0) break;
      if (slots[2 * slot + 1] === tag) {
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
    this.create(p);
  }

  /**
   * Ends flows idle past their timeout (closed ones past the linger) and
   * exports interim rows that are due, as of `now`; does at most `budget`
   * of that work. Returns true when work is left (call again).
   */
  expire(now: number, budget = Infinity): boolean {
    const lists = this.lists;
    let left = budget;
    const closedCutoff = now - this.closeLinger;
    // Every ENDING_GROUP flows, the memory of the next ENDING_GROUP is read together (prefetchEnding).
    let ahead = 0;
    for (let id = lists.head[CLOSED_LIST]; id !== NIL; id = lists.head[CLOSED_LIST]) {
      if (ahead-- === 0) this.prefetchEnding(id), ahead = ENDING_GROUP - 1;
      if (this.lastSeenAt(id) >= closedCutoff) break;
      if (left-- <= 0) return true;
      this.end(id, this.u8[id * FLOW_ROW_BYTES + B_CLOSE_REASON]);
    }
    const idleCutoff = now - this.idleTimeout;
    const oneWayCutoff = this.emergency ? now - this.emergencyIdle : idleCutoff;
    ahead = 0;
    for (let id = lists.head[ONE_WAY_LIST]; id !== NIL; id = lists.head[ONE_WAY_LIST]) {
      if (ahead-- === 0) this.prefetchEnding(id), ahead = ENDING_GROUP - 1;
      const last = this.lastSeenAt(id);
      if (last >= oneWayCutoff) break;
      if (left-- <= 0) return true;
      if (last >= idleCutoff) {
        this.evictedByKind[EVICT_EMERGENCY_IDLE]++;
        this.end(id, END_EVICTED);
      } else this.end(id, END_IDLE);
    }
    ahead = 0;
    for (let id = lists.head[OPEN_LIST]; id !== NIL; id = lists.head[OPEN_LIST]) {
      if (ahead-- === 0) this.prefetchEnding(id), ahead = ENDING_GROUP - 1;
      if (this.lastSeenAt(id) >= idleCutoff) break;
      if (left-- <= 0) return true;
      this.end(id, END_IDLE);
    }
    if (
      this.emergency && this.live < EMERGENCY_RECOVERY * this.capacity &&
      this.bytesInUse() < EMERGENCY_RECOVERY * this.memcap &&
      this.oneWayLive < EMERGENCY_RECOVERY * this.oneWayCap
    ) this.emergency = false;
    if (this.interimFirst > 0) return this.sweepInterim(now, left);
    return false;
  }

  /**
   * Reads, without changing anything, the memory that ending the flows
   * `first` and up to ENDING_GROUP - 1 after it on its list will touch: their
   * flow rows (both lines), index slots and statistics rows. As `prefetch`
   * for packets: expiry ends flows last seen seconds ago, whose memory has
   * left the caches, and these loads, not depending on each other, overlap
   * their misses (index removal alone was 6.6% of metering's CPU profile
   * on the range capture, most of it one miss per ended flow).
   */
  private prefetchEnding(first: number): void {
    const u32 = this.u32, su32 = this.su32, links = this.lists.links, ids = this.endingGroup;
    let n = 0;
    for (let id = first; id !== NIL && n < ENDING_GROUP; id = links[2 * id + 1]) ids[n++] = id;
    let sink = 0;
    for (let k = 0; k < n; k++) {
      const w = ids[k] * FLOW_WORDS;
      sink ^= u32[w + W_HASH] ^ u32[w + W_LOG];
    }
    const slots = this.index.slots, mask = this.index.mask;
    for (let k = 0; k < n; k++) {
      const w = ids[k] * FLOW_WORDS;
      sink ^= slots[2 * (u32[w + W_HASH] & mask)];
      const own = u32[w + W_STATS];
      if (own >= CHUNK_BIT) sink ^= this.chunks.u32[(own - CHUNK_BIT) * CHUNK_WORDS];
      else if (own !== 0) sink ^= su32[(own - 1) * STATS_WORDS];
    }
    this.prefetchSink = sink & 1;
  }

  /**
   * Ends up to `budget` flows with `reason` (end of input; flows closed by
   * FIN/RST keep theirs). Returns true while flows remain.
   */
  flushSome(reason: number, budget = Infinity): boolean {
    const lists = this.lists;
    let left = budget;
    for (const list of [CLOSED_LIST, ONE_WAY_LIST, OPEN_LIST]) {
      for (let id = lists.head[list]; id !== NIL; id = lists.head[list]) {
        if (left-- <= 0) return true;
        this.end(id, list === CLOSED_LIST ? this.u8[id * FLOW_ROW_BYTES + B_CLOSE_REASON] : reason);
      }
    }
    return false;
  }

  /** Ends every flow with `reason` (end of input). */
  flushAll(reason: number): void {
    this.flushSome(reason);
  }

  /**
   * Exports interim rows of flows whose next export is due: walks the flow
   * rows from where the last call stopped, at most `budget` exports per call.
   * A sweep starts every quarter first-export interval (at most every 250 ms)
   * of packet time, so a row leaves at most that long after it is due (the
   * first rows of a scan or a flood decide how soon it is alerted).
   */
  private sweepInterim(now: number, budget: number): boolean {
    if (this.sweepCursor < 0) {
      if (now < this.nextSweepAt) return false;
      this.nextSweepAt = now + Math.min(this.interimFirst / 4, 250e3);
      this.sweepCursor = 0;
    }
    const u8 = this.u8, u16 = this.u16, u32 = this.u32, f64 = this.f64;
    let left = budget;
    let id = this.sweepCursor;
    for (; id < this.flowRowsUsed; id++) {
      const w = id * FLOW_WORDS;
      if (u8[(w << 2) + B_LIST] === NO_LIST) continue;
      const age = now - f64[(w >> 1) + D_START];
      const due = u32[w + W_NEXT_EXPORT];
      if (age < due) continue;
      const exports = u16[(w << 1) + H_EXPORTS];
      const count = exports & EXPORT_COUNT_MASK;
      const gap = Math.min(this.interimFirst * 2 ** count, INTERIM_MAX_GAP_MICROS);
      // Nothing new since the last row: the next sweep looks again, so the
      // next packet (a slow attack's trickle) leaves within a sweep of it.
      if ((exports & EXPORT_DIRTY) === 0) continue;
      if (left-- <= 0) break;
      this.exportInterim(id);
      u16[(w << 1) + H_EXPORTS] = Math.min(count + 1, EXPORT_COUNT_MASK);
      u32[w + W_NEXT_EXPORT] = Math.min(age + 2 * gap, 0xffffffff);
    }
    this.sweepCursor = id < this.flowRowsUsed ? id : -1;
    return this.sweepCursor >= 0;
  }

  /** Hands the flow as it stands to the sink as an interim row (its log stays). */
  private exportInterim(id: number): void {
    const w = id * FLOW_WORDS;
    const own = this.u32[w + W_STATS];
    const stats = this.stats, s = stats.scratch;
    if (own !== 0 && own < CHUNK_BIT) stats.copy(own - 1, s);
    else stats.reset(s);
    this.fold(id, s, true);
    this.endingStats = s;
    this.sink(this, id, END_INTERIM);
    this.endedByReason[END_INTERIM]++;
    // Login outcomes are per row (those since the flow's previous row): the row took them.
    this.u16[(w << 1) + H_TCP_HISTORY] &= (1 << H_LOGIN_FAILED_SHIFT) - 1;
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

  /**
   * Makes room at the table's bounds: ends the oldest closed flow, else the
   * oldest one-way flow, else the least recently seen two-way flow (never
   * `keep`, the flow being updated); from `first` on (EVICT_ONE_WAY: a
   * one-way flow first). Returns false when nothing could go.
   */
  private evictOne(keep: number, first = EVICT_CLOSED): boolean {
    if (!this.emergency) {
      this.emergency = true;
      this.emergencyEntered++;
    }
    const lists = this.lists;
    for (let kind = first; kind <= EVICT_TWO_WAY; kind++) {
      const list = kind === EVICT_CLOSED
        ? CLOSED_LIST
        : kind === EVICT_ONE_WAY
        ? ONE_WAY_LIST
        : OPEN_LIST;
      let victim = lists.head[list];
      if (victim === keep && victim !== NIL) victim = lists.next(victim);
      if (victim === NIL) continue;
      this.evictedByKind[kind]++;
      this.end(victim, END_EVICTED);
      return true;
    }
    return false;
  }

  private create(p: DecodedPacket): void {
    const h = p.flowHash;
    if (this.live >= this.capacity || this.bytesInUse() + FLOW_COST > this.memcap) {
      this.evictOne(NIL);
    } else if (this.oneWayLive >= this.oneWayCap) {
      // A flood of one-way flows: its oldest makes room, the rest of the table stays free.
      this.evictOne(NIL, EVICT_ONE_WAY);
    }
    let id: number;
    if (this.freeHead !== NIL) {
      id = this.freeHead;
      this.freeHead = this.lists.next(id);
    } else {
      id = this.flowRowsUsed++;
      // The index stays at most half full.
      if (this.flowRowsUsed * 2 > this.index.mask + 1) this.index.resize(this.flowRowsUsed * 2);
    }
    this.live++;
    this.flowsCreated++;
    // Reset the whole row (rows are reused), then identity.
    const u32 = this.u32, w = id * FLOW_WORDS, u8 = this.u8, u16 = this.u16;
    const b = w << 2, hw = w << 1;
    // A loop, not fill(): a builtin call per flow costs more than 32 stores.
    for (let k = w, e = w + FLOW_WORDS; k < e; k++) u32[k] = 0;
    const ps = p.srcWords, pd = p.dstWords, sw = w + W_SRC, dw = w + W_DST;
    u32[sw] = ps[0], u32[sw + 1] = ps[1], u32[sw + 2] = ps[2], u32[sw + 3] = ps[3];
    u32[dw] = pd[0], u32[dw + 1] = pd[1], u32[dw + 2] = pd[2], u32[dw + 3] = pd[3];
    u32[w + W_HASH] = h;
    u16[hw + H_SRC_PORT] = p.srcPort;
    u16[hw + H_DST_PORT] = p.dstPort;
    u16[hw + H_VLAN] = p.vlan;
    // TCP keeps its history here; other flows their first packet's TTL (flow_layout.ts).
    if (p.protocol !== PROTO_TCP) u16[hw + H_TCP_HISTORY] = p.ttl;
    u8[b + B_PROTOCOL] = p.protocol;
    u8[b + B_IP_VERSION] = p.ipVersion;
    this.f64[(w >> 1) + D_START] = p.timeMicros;
    this.i32[w + W_INIT_WIN_FWD] = -1;
    this.i32[w + W_INIT_WIN_BWD] = -1;
    u32[w + W_NEXT_EXPORT] = this.interimFirst;
    this.index.insert(id, h);
    this.lists.append(id, ONE_WAY_LIST);
    u8[b + B_LIST] = ONE_WAY_LIST;
    this.oneWayLive++;
    this.ssh.reset(id);
    this.update(id, true, p, 0);
    // A TCP flow's first packet set its initial window (16 bits): its TTL goes above it.
    if (p.protocol === PROTO_TCP) this.i32[w + W_INIT_WIN_FWD] |= p.ttl << INIT_WIN_TTL_SHIFT;
  }

  /**
   * Adds packet `p` at offset `t` (us from flow start) to flow `id`: what the
   * table decides on now (last seen, initial windows, TCP history and list),
   * the rest into the log.
   */
  private update(id: number, forward: boolean, p: DecodedPacket, t: number): void {
    const u32 = this.u32, u16 = this.u16;
    const w = id * FLOW_WORDS, hw = w << 1;
    if (t > u32[w + W_LAST_SEEN]) u32[w + W_LAST_SEEN] = t;
    if (this.lastTouch !== null) this.lastTouch[id] = this.touchSeq;
    let logged = u16[hw + H_LOG_COUNT];
    let log = u32, at: number;
    if (logged < LOG_PACKETS) {
      at = w + W_LOG + logged * LOG_WORDS;
    } else {
      const own = u32[w + W_STATS];
      if (own !== 0 && own < CHUNK_BIT) {
        this.fold(id, own - 1, false);
        logged = 0;
        at = w + W_LOG;
      } else if (logged < LOG_PACKETS + CHUNK_PACKETS) {
        log = this.chunks.u32;
        at = this.chunkOf(id) * CHUNK_WORDS + (logged - LOG_PACKETS) * LOG_WORDS;
      } else {
        this.foldIntoNewStats(id);
        logged = 0;
        at = w + W_LOG;
      }
    }
    const flags = p.tcpFlags, size = p.payloadBytes;
    log[at] = t;
    log[at + 1] = size | (flags << FLAGS_SHIFT) | (p.l4HeaderBytes << HEADER_SHIFT) |
      (forward ? FORWARD_BIT : 0);
    u16[hw + H_LOG_COUNT] = logged + 1;
    u16[hw + H_EXPORTS] |= EXPORT_DIRTY;
    let list = this.u8[(w << 2) + B_LIST];
    if (!forward && list === ONE_WAY_LIST) {
      this.moveTo(id, OPEN_LIST);
      list = OPEN_LIST;
    }
    if (p.protocol === PROTO_TCP) {
      const win = w + (forward ? W_INIT_WIN_FWD : W_INIT_WIN_BWD);
      if (this.i32[win] < 0) this.i32[win] = p.tcpWindow;
      if (p.loginOutcome !== 0) this.countLogin(w, p.loginOutcome);
      else if (p.sshSegment !== 0) this.countSshLogin(id, w, p);
      // An SSH connection closing right after a failed login (before its last row is due).
      if ((flags & (TCP_FIN | TCP_RST)) !== 0) this.countSshEndFailure(id, w);
      this.updateTcp(id, w, forward, flags, size, list);
    } else {
      this.lists.touch(id, list);
    }
  }

  /** Counts a login outcome (LOGIN_FAILED 1, LOGIN_OK 2) in the flow's TCP history, saturating. */
  private countLogin(w: number, outcome: number): void {
    const h = (w << 1) + H_TCP_HISTORY;
    const shift = outcome === 1 ? H_LOGIN_FAILED_SHIFT : H_LOGIN_OK_SHIFT;
    const history = this.u16[h];
    if (((history >>> shift) & H_LOGIN_COUNT_MAX) < H_LOGIN_COUNT_MAX) {
      this.u16[h] = history + (1 << shift);
    }
  }

  /** Counts the login outcome SSH segment `p` shows, if any (ssh_auth.ts). */
  private countSshLogin(id: number, w: number, p: DecodedPacket): void {
    const outcome = this.ssh.observe(id, p.sshSegment, p.payloadBytes);
    if (outcome === 0) return;
    if (outcome === LOGIN_OK_AFTER_FAILURES) {
      // Keys an agent offered before the right one, a mistyped password: not guessing.
      const h = (w << 1) + H_TCP_HISTORY;
      this.u16[h] &= ~(H_LOGIN_COUNT_MAX << H_LOGIN_FAILED_SHIFT);
      this.countLogin(w, LOGIN_OK);
    } else this.countLogin(w, outcome);
  }

  /**
   * Counts the failed login an SSH flow's close shows (SshAuthTracker.takeEndFailure);
   * other flows' ends never read the tracker's state.
   */
  private countSshEndFailure(id: number, w: number): void {
    const hw = w << 1;
    if (this.u16[hw + H_SRC_PORT] !== SSH_PORT && this.u16[hw + H_DST_PORT] !== SSH_PORT) return;
    if (this.ssh.takeEndFailure(id)) this.countLogin(w, LOGIN_FAILED);
  }

  /** TCP history (what each side sent) and the move to the closed list on RST or FIN both ways. */
  private updateTcp(
    id: number,
    w: number,
    forward: boolean,
    flags: number,
    size: number,
    list: number,
  ): void {
    const h = (w << 1) + H_TCP_HISTORY;
    let history = this.u16[h];
    const shift = forward ? 0 : 4;
    if (flags & TCP_SYN) history |= (flags & TCP_ACK ? H_FWD_SYNACK : H_FWD_SYN) << shift;
    if (flags & TCP_FIN) history |= H_FWD_FIN << shift;
    if (flags & TCP_RST) history |= H_FWD_RST << shift;
    if (size > 0) history |= forward ? H_FWD_DATA : H_BWD_DATA;
    this.u16[h] = history;
    if (list !== CLOSED_LIST) {
      const b = w << 2;
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
    this.lists.touch(id, list);
  }

  /** Moves flow `id` to the newest end of `list`. */
  private moveTo(id: number, list: number): void {
    const b = id * FLOW_ROW_BYTES + B_LIST;
    if (this.u8[b] === ONE_WAY_LIST) this.oneWayLive--;
    this.lists.unlink(id, this.u8[b]);
    this.lists.append(id, list);
    this.u8[b] = list;
  }

  /** The flow's log chunk, taken when its row's log is full; other flows may be evicted for it. */
  private chunkOf(id: number): number {
    const w = id * FLOW_WORDS;
    const own = this.u32[w + W_STATS];
    if (own !== 0) return own - CHUNK_BIT;
    while (this.bytesInUse() + CHUNK_BYTES > this.memcap && this.evictOne(id));
    const c = this.chunks.allocate();
    this.u32[w + W_STATS] = CHUNK_BIT + c;
    return c;
  }

  /**
   * Row log and chunk both full: a statistics row (other flows may be
   * evicted for it) takes their packets, and the chunk is freed.
   */
  private foldIntoNewStats(id: number): void {
    const w = id * FLOW_WORDS;
    while (this.bytesInUse() + STATS_ROW_BYTES - CHUNK_BYTES > this.memcap && this.evictOne(id));
    const s = this.stats.allocate();
    this.fold(id, s, false);
    this.chunks.release(this.u32[w + W_STATS] - CHUNK_BIT);
    this.u32[w + W_STATS] = s + 1;
  }

  /**
   * Replays the logged packets of flow `id` (its row's log, then its chunk's),
   * in order, into statistics row `s`; empties the log unless `keep` (interim rows).
   */
  private fold(id: number, s: number, keep: boolean): void {
    const w = id * FLOW_WORDS;
    const logged = this.u16[(w << 1) + H_LOG_COUNT];
    if (logged <= LOG_PACKETS) {
      this.stats.foldLog(s, this.u32, w + W_LOG, logged);
    } else {
      this.stats.foldLog(s, this.u32, w + W_LOG, LOG_PACKETS);
      const c = this.u32[w + W_STATS] - CHUNK_BIT;
      this.stats.foldLog(s, this.chunks.u32, c * CHUNK_WORDS, logged - LOG_PACKETS);
    }
    if (!keep) this.u16[(w << 1) + H_LOG_COUNT] = 0;
  }

  /**
   * Completes the flow's statistics, hands it to the sink (unless its last
   * interim row already held every packet), then frees its rows.
   */
  private end(id: number, reason: number): void {
    const w = id * FLOW_WORDS;
    const own = this.u32[w + W_STATS];
    const exports = this.u16[(w << 1) + H_EXPORTS];
    if (exports !== 0 && (exports & EXPORT_DIRTY) === 0) {
      this.endedWithoutFinalRow++;
    } else {
      let s: number;
      if (own !== 0 && own < CHUNK_BIT) s = own - 1;
      else {
        s = this.stats.scratch;
        this.stats.reset(s);
      }
      this.fold(id, s, false);
      this.countSshEndFailure(id, w);
      this.endingStats = s;
      this.sink(this, id, reason);
    }
    this.endedByReason[reason]++;
    if (own >= CHUNK_BIT) this.chunks.release(own - CHUNK_BIT);
    else if (own !== 0) this.stats.release(own - 1);
    const b = id * FLOW_ROW_BYTES + B_LIST;
    if (this.u8[b] === ONE_WAY_LIST) this.oneWayLive--;
    this.lists.unlink(id, this.u8[b]);
    this.index.remove(id, this.u32[w + W_HASH]);
    this.u8[b] = NO_LIST;
    this.lists.links[2 * id + 1] = this.freeHead;
    this.freeHead = id;
    this.live--;
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
 * Sets `p.flowHash`, the direction-independent hash of the flow key of `p`.
 * The two address+port mixes are written out, not called: a helper's
 * unsigned 32-bit result, returned from a call not inlined, is boxed.
 */
export function setFlowHash(p: DecodedPacket): void {
  const s = p.srcWords, d = p.dstWords;
  // FNV-style mix of the source address words and port, then the destination's.
  let a = 0x811c9dc5 ^ p.srcPort;
  a = Math.imul(a ^ s[0], 0x01000193);
  a = Math.imul(a ^ (a >>> 15) ^ s[1], 0x01000193);
  a = Math.imul(a ^ (a >>> 15) ^ s[2], 0x01000193);
  a = Math.imul(a ^ (a >>> 15) ^ s[3], 0x01000193);
  a = (a ^ (a >>> 16)) >>> 0;
  let b = 0x811c9dc5 ^ p.dstPort;
  b = Math.imul(b ^ d[0], 0x01000193);
  b = Math.imul(b ^ (b >>> 15) ^ d[1], 0x01000193);
  b = Math.imul(b ^ (b >>> 15) ^ d[2], 0x01000193);
  b = Math.imul(b ^ (b >>> 15) ^ d[3], 0x01000193);
  b = (b ^ (b >>> 16)) >>> 0;
  const low = a < b ? a : b, high = a < b ? b : a;
  let h = Math.imul(low ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ high, 0xc2b2ae35);
  h ^= (p.protocol << 16) | p.vlan;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  p.flowHash = (h ^ (h >>> 13)) >>> 0;
}
