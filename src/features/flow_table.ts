/**
 * The bidirectional flow table: one row per live flow in typed arrays
 * (struct of arrays), found through an open-addressing index with linear
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

  // Identity.
  srcWords = new Uint32Array(0);
  dstWords = new Uint32Array(0);
  srcPort = new Uint16Array(0);
  dstPort = new Uint16Array(0);
  protocol = new Uint8Array(0);
  ipVersion = new Uint8Array(0);
  vlan = new Uint16Array(0);
  hash = new Uint32Array(0);
  // LRU lists.
  prev = new Int32Array(0);
  next = new Int32Array(0);
  list = new Uint8Array(0);
  // Time: start absolute, the rest offsets from start.
  startMicros = new Float64Array(0);
  lastSeen = new Uint32Array(0);
  fwdLast = new Uint32Array(0);
  bwdFirst = new Uint32Array(0);
  bwdLast = new Uint32Array(0);
  activeStart = new Uint32Array(0);
  activeEnd = new Uint32Array(0);
  // Counts.
  fwdPackets = new Uint32Array(0);
  bwdPackets = new Uint32Array(0);
  /** FIN, SYN, RST, PSH, ACK, URG, CWR, ECE counts: 8 per flow. */
  flagCounts = new Uint32Array(0);
  fwdPsh = new Uint32Array(0);
  bwdPsh = new Uint32Array(0);
  fwdUrg = new Uint32Array(0);
  bwdUrg = new Uint32Array(0);
  actDataFwd = new Uint32Array(0);
  subflows = new Uint32Array(0);
  // Payload and header sums.
  fwdBytes = new Float64Array(0);
  bwdBytes = new Float64Array(0);
  fwdHeaderBytes = new Float64Array(0);
  bwdHeaderBytes = new Float64Array(0);
  // Welford second moments.
  fwdLenM2 = new Float32Array(0);
  bwdLenM2 = new Float32Array(0);
  flowIatM2 = new Float32Array(0);
  fwdIatM2 = new Float32Array(0);
  bwdIatM2 = new Float32Array(0);
  // Min / max.
  fwdLenMin = new Uint32Array(0);
  fwdLenMax = new Uint32Array(0);
  bwdLenMin = new Uint32Array(0);
  bwdLenMax = new Uint32Array(0);
  flowIatMin = new Uint32Array(0);
  flowIatMax = new Uint32Array(0);
  fwdIatMin = new Uint32Array(0);
  fwdIatMax = new Uint32Array(0);
  bwdIatMin = new Uint32Array(0);
  bwdIatMax = new Uint32Array(0);
  // Active / idle periods: count, sum, M2, min, max.
  activeCount = new Uint32Array(0);
  activeSum = new Uint32Array(0);
  activeM2 = new Float32Array(0);
  activeMin = new Uint32Array(0);
  activeMax = new Uint32Array(0);
  idleCount = new Uint32Array(0);
  idleSum = new Uint32Array(0);
  idleM2 = new Float32Array(0);
  idleMin = new Uint32Array(0);
  idleMax = new Uint32Array(0);
  // Bulk state per direction (times are offset + 1, 0 = unset, as CIC uses 0).
  fBulkStates = new Uint32Array(0);
  fBulkPackets = new Uint32Array(0);
  fBulkDuration = new Uint32Array(0);
  fBulkPacketHelper = new Uint32Array(0);
  fBulkStart = new Uint32Array(0);
  fBulkLast = new Uint32Array(0);
  fBulkBytes = new Float64Array(0);
  fBulkSizeHelper = new Float64Array(0);
  bBulkStates = new Uint32Array(0);
  bBulkPackets = new Uint32Array(0);
  bBulkDuration = new Uint32Array(0);
  bBulkPacketHelper = new Uint32Array(0);
  bBulkStart = new Uint32Array(0);
  bBulkLast = new Uint32Array(0);
  bBulkBytes = new Float64Array(0);
  bBulkSizeHelper = new Float64Array(0);
  // TCP.
  initWinFwd = new Int32Array(0);
  initWinBwd = new Int32Array(0);
  minSegFwd = new Uint16Array(0);
  tcpHistory = new Uint16Array(0);
  closeReason = new Uint8Array(0);

  /** Flows ended by reason (index as FLOW_END_REASONS). */
  readonly endedByReason = new Float64Array(6);
  flowsCreated = 0;

  constructor(readonly limits: FlowTableLimits, private readonly sink: FlowEndSink) {
    this.grow(Math.min(limits.maxFlows, 4096));
  }

  /** Bytes held by the per-flow arrays and the index (what one more flow costs, times capacity). */
  bytesAllocated(): number {
    let total = 0;
    for (const value of Object.values(this)) {
      if (
        ArrayBuffer.isView(value) && value !== this.endedByReason && value !== this.heads &&
        value !== this.tails
      ) {
        total += value.byteLength;
      }
    }
    return total;
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
      if (this.hash[candidate] === h) {
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
      const offset = ts - this.startMicros[id];
      const closed = this.list[id] === CLOSED_LIST;
      const quiet = offset - this.lastSeen[id];
      if (closed && quiet > this.limits.closeLingerMicros) {
        this.end(id, this.closeReason[id]);
      } else if (quiet > this.limits.idleTimeoutMicros) {
        // Idle past the timeout but not yet swept (same batch): end it as idle.
        this.end(id, END_IDLE);
      } else if (offset > this.limits.activeTimeoutMicros) {
        this.end(id, END_ACTIVE);
      } else if (closed && (p.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
        // A new connection reusing the ports of one that just closed.
        this.end(id, this.closeReason[id]);
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
      if (this.startMicros[id] + this.lastSeen[id] >= closedCutoff) break;
      this.end(id, this.closeReason[id]);
    }
    const idleCutoff = now - this.limits.idleTimeoutMicros;
    for (let id = this.heads[OPEN_LIST]; id !== NIL; id = this.heads[OPEN_LIST]) {
      if (this.startMicros[id] + this.lastSeen[id] >= idleCutoff) break;
      this.end(id, END_IDLE);
    }
  }

  /** Ends every flow with `reason` (end of input). */
  flushAll(reason: number): void {
    for (const list of [CLOSED_LIST, OPEN_LIST]) {
      for (let id = this.heads[list]; id !== NIL; id = this.heads[list]) {
        this.end(id, list === CLOSED_LIST ? this.closeReason[id] : reason);
      }
    }
  }

  /** 1 when `p` goes forward in flow `id`, 2 when backward, 0 when not this flow. */
  private match(id: number, p: DecodedPacket): number {
    if (this.protocol[id] !== p.protocol || this.vlan[id] !== p.vlan) return 0;
    const o = id * 4;
    const sw = this.srcWords, dw = this.dstWords, ps = p.srcWords, pd = p.dstWords;
    if (
      this.srcPort[id] === p.srcPort && this.dstPort[id] === p.dstPort &&
      sw[o] === ps[0] && sw[o + 1] === ps[1] && sw[o + 2] === ps[2] && sw[o + 3] === ps[3] &&
      dw[o] === pd[0] && dw[o + 1] === pd[1] && dw[o + 2] === pd[2] && dw[o + 3] === pd[3]
    ) return 1;
    if (
      this.srcPort[id] === p.dstPort && this.dstPort[id] === p.srcPort &&
      sw[o] === pd[0] && sw[o + 1] === pd[1] && sw[o + 2] === pd[2] && sw[o + 3] === pd[3] &&
      dw[o] === ps[0] && dw[o + 1] === ps[1] && dw[o + 2] === ps[2] && dw[o + 3] === ps[3]
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
      this.freeHead = this.next[id];
    } else {
      if (this.nextUnused >= this.capacity) {
        this.grow(Math.min(this.capacity * 2, this.limits.maxFlows));
      }
      id = this.nextUnused++;
    }
    this.live++;
    this.flowsCreated++;
    // Identity.
    const o = id * 4;
    this.srcWords.set(p.srcWords, o);
    this.dstWords.set(p.dstWords, o);
    this.srcPort[id] = p.srcPort;
    this.dstPort[id] = p.dstPort;
    this.protocol[id] = p.protocol;
    this.ipVersion[id] = p.ipVersion;
    this.vlan[id] = p.vlan;
    this.hash[id] = h;
    this.insertIndex(id, h);
    this.append(id, OPEN_LIST);
    // Reset the statistics (rows are reused).
    this.startMicros[id] = ts;
    this.lastSeen[id] = 0;
    this.fwdLast[id] = 0;
    this.bwdFirst[id] = 0;
    this.bwdLast[id] = 0;
    this.activeStart[id] = 0;
    this.activeEnd[id] = 0;
    this.fwdPackets[id] = 0;
    this.bwdPackets[id] = 0;
    this.flagCounts.fill(0, id * 8, id * 8 + 8);
    this.fwdPsh[id] = 0;
    this.bwdPsh[id] = 0;
    this.fwdUrg[id] = 0;
    this.bwdUrg[id] = 0;
    this.actDataFwd[id] = 0;
    this.subflows[id] = 1;
    this.fwdBytes[id] = 0;
    this.bwdBytes[id] = 0;
    this.fwdHeaderBytes[id] = 0;
    this.bwdHeaderBytes[id] = 0;
    this.fwdLenM2[id] = 0;
    this.bwdLenM2[id] = 0;
    this.flowIatM2[id] = 0;
    this.fwdIatM2[id] = 0;
    this.bwdIatM2[id] = 0;
    this.fwdLenMin[id] = U32_MAX;
    this.fwdLenMax[id] = 0;
    this.bwdLenMin[id] = U32_MAX;
    this.bwdLenMax[id] = 0;
    this.flowIatMin[id] = U32_MAX;
    this.flowIatMax[id] = 0;
    this.fwdIatMin[id] = U32_MAX;
    this.fwdIatMax[id] = 0;
    this.bwdIatMin[id] = U32_MAX;
    this.bwdIatMax[id] = 0;
    this.activeCount[id] = 0;
    this.activeSum[id] = 0;
    this.activeM2[id] = 0;
    this.activeMin[id] = U32_MAX;
    this.activeMax[id] = 0;
    this.idleCount[id] = 0;
    this.idleSum[id] = 0;
    this.idleM2[id] = 0;
    this.idleMin[id] = U32_MAX;
    this.idleMax[id] = 0;
    this.fBulkStates[id] = 0;
    this.fBulkPackets[id] = 0;
    this.fBulkDuration[id] = 0;
    this.fBulkPacketHelper[id] = 0;
    this.fBulkStart[id] = 0;
    this.fBulkLast[id] = 0;
    this.fBulkBytes[id] = 0;
    this.fBulkSizeHelper[id] = 0;
    this.bBulkStates[id] = 0;
    this.bBulkPackets[id] = 0;
    this.bBulkDuration[id] = 0;
    this.bBulkPacketHelper[id] = 0;
    this.bBulkStart[id] = 0;
    this.bBulkLast[id] = 0;
    this.bBulkBytes[id] = 0;
    this.bBulkSizeHelper[id] = 0;
    this.initWinFwd[id] = -1;
    this.initWinBwd[id] = -1;
    this.minSegFwd[id] = 0xffff;
    this.tcpHistory[id] = 0;
    this.closeReason[id] = 0;
    this.update(id, true, p, 0);
  }

  /** Adds packet `p` at offset `t` (us from flow start) to flow `id`. */
  private update(id: number, forward: boolean, p: DecodedPacket, t: number): void {
    const first = this.fwdPackets[id] === 0 && this.bwdPackets[id] === 0;
    const size = p.payloadBytes;
    if (!first) {
      // Active/idle periods, as CICFlowMeter's updateActiveIdleTime.
      const sinceActive = t - this.activeEnd[id];
      if (sinceActive > this.limits.activityTimeoutMicros) {
        const active = this.activeEnd[id] - this.activeStart[id];
        if (active > 0) {
          addPeriod(
            this.activeCount,
            this.activeSum,
            this.activeM2,
            this.activeMin,
            this.activeMax,
            id,
            active,
          );
        }
        addPeriod(
          this.idleCount,
          this.idleSum,
          this.idleM2,
          this.idleMin,
          this.idleMax,
          id,
          sinceActive,
        );
        this.activeStart[id] = t;
        this.activeEnd[id] = t;
      } else if (t > this.activeEnd[id]) {
        this.activeEnd[id] = t;
      }
      // Flow IAT.
      const previous = this.lastSeen[id];
      const iat = t > previous ? t - previous : 0;
      if (iat > 1_000_000) this.subflows[id]++;
      const n = this.fwdPackets[id] + this.bwdPackets[id]; // packets before = IATs after
      this.flowIatM2[id] += welfordStep(previous, n - 1, iat);
      if (iat < this.flowIatMin[id]) this.flowIatMin[id] = iat;
      if (iat > this.flowIatMax[id]) this.flowIatMax[id] = iat;
      if (t > previous) this.lastSeen[id] = t;
    }
    const flags = p.tcpFlags;
    if (forward) {
      const n = ++this.fwdPackets[id];
      this.fwdLenM2[id] += welfordStep(this.fwdBytes[id], n - 1, size);
      this.fwdBytes[id] += size;
      if (size < this.fwdLenMin[id]) this.fwdLenMin[id] = size;
      if (size > this.fwdLenMax[id]) this.fwdLenMax[id] = size;
      this.fwdHeaderBytes[id] += p.l4HeaderBytes;
      if (p.l4HeaderBytes < this.minSegFwd[id]) this.minSegFwd[id] = p.l4HeaderBytes;
      if (size >= 1) this.actDataFwd[id]++;
      if (n > 1) {
        const last = this.fwdLast[id];
        const iat = t > last ? t - last : 0;
        // Sum of earlier forward IATs is fwdLast (the first forward packet is at offset 0).
        this.fwdIatM2[id] += welfordStep(last, n - 2, iat);
        if (iat < this.fwdIatMin[id]) this.fwdIatMin[id] = iat;
        if (iat > this.fwdIatMax[id]) this.fwdIatMax[id] = iat;
        if (t > last) this.fwdLast[id] = t;
      }
      if (flags & TCP_PSH) this.fwdPsh[id]++;
      if (flags & TCP_URG) this.fwdUrg[id]++;
      if (p.protocol === PROTO_TCP && this.initWinFwd[id] < 0) this.initWinFwd[id] = p.tcpWindow;
      this.updateBulk(id, true, size, t);
    } else {
      const n = ++this.bwdPackets[id];
      this.bwdLenM2[id] += welfordStep(this.bwdBytes[id], n - 1, size);
      this.bwdBytes[id] += size;
      if (size < this.bwdLenMin[id]) this.bwdLenMin[id] = size;
      if (size > this.bwdLenMax[id]) this.bwdLenMax[id] = size;
      this.bwdHeaderBytes[id] += p.l4HeaderBytes;
      if (n === 1) {
        this.bwdFirst[id] = t;
        this.bwdLast[id] = t;
      } else {
        const last = this.bwdLast[id];
        const iat = t > last ? t - last : 0;
        this.bwdIatM2[id] += welfordStep(last - this.bwdFirst[id], n - 2, iat);
        if (iat < this.bwdIatMin[id]) this.bwdIatMin[id] = iat;
        if (iat > this.bwdIatMax[id]) this.bwdIatMax[id] = iat;
        if (t > last) this.bwdLast[id] = t;
      }
      if (flags & TCP_PSH) this.bwdPsh[id]++;
      if (flags & TCP_URG) this.bwdUrg[id]++;
      if (p.protocol === PROTO_TCP && this.initWinBwd[id] < 0) this.initWinBwd[id] = p.tcpWindow;
      this.updateBulk(id, false, size, t);
    }
    if (p.protocol === PROTO_TCP) this.updateTcp(id, forward, flags, size);
    else this.touch(id);
  }

  private updateTcp(id: number, forward: boolean, flags: number, size: number): void {
    const f = id * 8;
    const counts = this.flagCounts;
    if (flags & TCP_FIN) counts[f]++;
    if (flags & TCP_SYN) counts[f + 1]++;
    if (flags & TCP_RST) counts[f + 2]++;
    if (flags & TCP_PSH) counts[f + 3]++;
    if (flags & TCP_ACK) counts[f + 4]++;
    if (flags & TCP_URG) counts[f + 5]++;
    if (flags & TCP_CWR) counts[f + 6]++;
    if (flags & TCP_ECE) counts[f + 7]++;
    let history = this.tcpHistory[id];
    const shift = forward ? 0 : 4;
    if (flags & TCP_SYN) history |= (flags & TCP_ACK ? H_FWD_SYNACK : H_FWD_SYN) << shift;
    if (flags & TCP_FIN) history |= H_FWD_FIN << shift;
    if (flags & TCP_RST) history |= H_FWD_RST << shift;
    if (size > 0) history |= forward ? H_FWD_DATA : H_BWD_DATA;
    this.tcpHistory[id] = history;
    if (this.list[id] === OPEN_LIST) {
      if (flags & TCP_RST) {
        this.closeReason[id] = END_RST;
        this.moveTo(id, CLOSED_LIST);
        return;
      }
      if ((history & (H_FWD_FIN | H_BWD_FIN)) === (H_FWD_FIN | H_BWD_FIN)) {
        this.closeReason[id] = END_FIN;
        this.moveTo(id, CLOSED_LIST);
        return;
      }
    }
    this.touch(id);
  }

  /** CICFlowMeter's bulk detection (updateForwardBulk / updateBackwardBulk). */
  private updateBulk(id: number, forward: boolean, size: number, offset: number): void {
    const t = offset + 1; // 0 means unset, as in CICFlowMeter
    const states = forward ? this.fBulkStates : this.bBulkStates;
    const packets = forward ? this.fBulkPackets : this.bBulkPackets;
    const duration = forward ? this.fBulkDuration : this.bBulkDuration;
    const helper = forward ? this.fBulkPacketHelper : this.bBulkPacketHelper;
    const start = forward ? this.fBulkStart : this.bBulkStart;
    const last = forward ? this.fBulkLast : this.bBulkLast;
    const bytes = forward ? this.fBulkBytes : this.bBulkBytes;
    const sizeHelper = forward ? this.fBulkSizeHelper : this.bBulkSizeHelper;
    const otherLast = forward ? this.bBulkLast[id] : this.fBulkLast[id];
    if (otherLast > start[id]) start[id] = 0;
    if (size <= 0) return;
    if (start[id] === 0 || t - last[id] > 1_000_000) {
      start[id] = t;
      last[id] = t;
      helper[id] = 1;
      sizeHelper[id] = size;
      return;
    }
    helper[id]++;
    sizeHelper[id] += size;
    if (helper[id] === 4) {
      states[id]++;
      packets[id] += helper[id];
      bytes[id] += sizeHelper[id];
      duration[id] += t - start[id];
    } else if (helper[id] > 4) {
      packets[id]++;
      bytes[id] += size;
      duration[id] += t - last[id];
    }
    last[id] = t;
  }

  /** Hands the flow to the sink, then frees its row. */
  private end(id: number, reason: number): void {
    this.sink(this, id, reason);
    this.endedByReason[reason]++;
    this.unlink(id);
    this.removeIndex(id);
    this.list[id] = NO_LIST;
    this.next[id] = this.freeHead;
    this.freeHead = id;
    this.live--;
  }

  // --- LRU lists -----------------------------------------------------------

  private append(id: number, list: number): void {
    const tail = this.tails[list];
    this.prev[id] = tail;
    this.next[id] = NIL;
    if (tail === NIL) this.heads[list] = id;
    else this.next[tail] = id;
    this.tails[list] = id;
    this.list[id] = list;
  }

  private unlink(id: number): void {
    const list = this.list[id];
    const before = this.prev[id], after = this.next[id];
    if (before === NIL) this.heads[list] = after;
    else this.next[before] = after;
    if (after === NIL) this.tails[list] = before;
    else this.prev[after] = before;
  }

  /** Moves the flow to the most recent end of its list. */
  private touch(id: number): void {
    const list = this.list[id];
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
    let hole = this.hash[id] & mask;
    while (index[hole] !== id + 1) hole = (hole + 1) & mask;
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const entry = index[j];
      if (entry === 0) break;
      const home = this.hash[entry - 1] & mask;
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
    for (const [key, value] of Object.entries(this)) {
      if (
        !ArrayBuffer.isView(value) || key === "endedByReason" || key === "heads" || key === "tails"
      ) continue;
      if (key === "index") continue;
      const array = value as Uint32Array;
      const perFlow = old === 0 ? perFlowWidth(key) : array.length / old;
      const Constructor = array.constructor as Uint32ArrayConstructor;
      const grown = new Constructor(capacity * perFlow);
      grown.set(array);
      (this as unknown as Record<string, unknown>)[key] = grown;
    }
    this.capacity = capacity;
    let size = 16;
    while (size < capacity * 2) size *= 2;
    this.index = new Int32Array(size);
    this.indexMask = size - 1;
    for (const list of [OPEN_LIST, CLOSED_LIST]) {
      for (let id = this.heads[list]; id !== NIL; id = this.next[id]) {
        this.insertIndex(id, this.hash[id]);
      }
    }
  }
}

function perFlowWidth(key: string): number {
  if (key === "srcWords" || key === "dstWords") return 4;
  if (key === "flagCounts") return 8;
  return 1;
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

function addPeriod(
  count: Uint32Array,
  sum: Uint32Array,
  m2: Float32Array,
  min: Uint32Array,
  max: Uint32Array,
  id: number,
  value: number,
): void {
  const n = count[id];
  m2[id] += welfordStep(sum[id], n, value);
  count[id] = n + 1;
  sum[id] += value;
  if (value < min[id]) min[id] = value;
  if (value > max[id]) max[id] = value;
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
