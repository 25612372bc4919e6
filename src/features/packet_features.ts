/**
 * Packet-level feature extraction in the flow meter's pass: the meter hands
 * every metered packet (already decoded) to a PacketFeatureExtractor, which
 * writes one row per requested set (packet_schema.ts) into preallocated
 * batches and hands each full batch to its consumer. Per-host, channel,
 * socket and conversation state lives in KeyTables, so nothing is allocated
 * per packet.
 */
import type { PacketBatch } from "../capture/mod.ts";
import type { DecodedPacket } from "./decode.ts";
import { KeyTable, type KeyTableStats, keyTableStats } from "./key_table.ts";
import { channelKey, hostKey, socketKey, sourceFirst } from "./packet_keys.ts";
import { AfterImage, DEFAULT_AFTERIMAGE_MAX_ENTRIES } from "./afterimage.ts";
import {
  DEFAULT_WINDOW_PACKETS,
  PACKET_FEATURE_SET,
  PACKET_FEATURE_SETS,
  type PacketSetName,
  SEQUENCE_FEATURE_SET,
} from "./packet_schema.ts";

/** What the flow meter calls for every metered packet (see FlowMeterOptions.packetObserver). */
export interface PacketObserver {
  observe(packet: DecodedPacket, batch: PacketBatch, index: number, timestampMicros: number): void;
}

/** Longest payload prefix the payload statistics read. */
const PAYLOAD_SCAN_BYTES = 1024;
/** n * log2(n) for every count a scan can reach, so entropy needs no logarithm per byte value. */
const N_LOG2_N = Float64Array.from(
  { length: PAYLOAD_SCAN_BYTES + 1 },
  (_, n) => n > 0 ? n * Math.log2(n) : 0,
);

/** The per-packet facts every set reads, computed once per packet. */
export class PacketContext {
  packet!: DecodedPacket;
  timestampMicros = 0;
  frameLength = 0;
  capturedPayload = 0;
  entropy = 0;
  printable = 0;
  zero = 0;
  /** Source MAC as two words (0 when the link has none). */
  macHigh = 0;
  macLow = 0;
  private readonly histogram = new Uint32Array(256);

  /** Whether fill computes the payload statistics (the AfterImage set alone needs none). */
  payloadStatistics = true;

  /** Fills the context for packet `index` of `batch`, decoded into `packet`. */
  fill(packet: DecodedPacket, batch: PacketBatch, index: number, ts: number): void {
    this.packet = packet;
    this.timestampMicros = ts;
    this.frameLength = batch.wireLength[index];
    const start = batch.offset[index];
    if (batch.linkType[index] === 1 && batch.capturedLength[index] >= 12) {
      const d = batch.data;
      this.macHigh = (d[start + 6] << 8) | d[start + 7];
      this.macLow = ((d[start + 8] << 24) | (d[start + 9] << 16) | (d[start + 10] << 8) |
        d[start + 11]) >>> 0;
    } else {
      this.macHigh = 0;
      this.macLow = 0;
    }
    const end = start + batch.capturedLength[index];
    const available = Math.max(0, Math.min(packet.payloadBytes, end - packet.payloadOffset));
    this.capturedPayload = available;
    if (this.payloadStatistics) {
      this.payloadStats(batch.data, packet.payloadOffset, Math.min(available, PAYLOAD_SCAN_BYTES));
    }
  }

  private payloadStats(data: Uint8Array, at: number, length: number): void {
    if (length <= 0) {
      this.entropy = this.printable = this.zero = 0;
      return;
    }
    const h = this.histogram;
    let printable = 0;
    for (let k = at; k < at + length; k++) {
      const b = data[k];
      h[b]++;
      if ((b >= 32 && b < 127) || b === 9 || b === 10 || b === 13) printable++;
    }
    // H = log2(L) - sum(n * log2 n) / L; visit each byte value once, clearing it for the next packet.
    let sum = 0;
    this.zero = h[0] / length;
    for (let k = at; k < at + length; k++) {
      const n = h[data[k]];
      if (n === 0) continue;
      sum += N_LOG2_N[n];
      h[data[k]] = 0;
    }
    const entropy = Math.max(0, Math.log2(length) - sum / length);
    this.entropy = entropy;
    this.printable = printable / length;
  }
}

/** Writes one set's columns for the packet in `ctx` at `out[offset..]`. */
export interface PacketSetWriter {
  readonly width: number;
  write(ctx: PacketContext, out: Float32Array, offset: number): void;
  /** The set's state tables' counters. */
  stats(): KeyTableStats;
}

/** The `packet` set. */
export class PacketSetWriterImpl implements PacketSetWriter {
  readonly width = PACKET_FEATURE_SET.columns.length;
  // State per entry: last time seen, packets so far.
  private readonly hosts: KeyTable;
  private readonly channels: KeyTable;
  private readonly sockets: KeyTable;

  constructor(idleMicros: number, maxEntries?: number) {
    this.hosts = new KeyTable({ keyWords: 4, stride: 2, idleMicros, maxEntries });
    this.channels = new KeyTable({ keyWords: 8, stride: 2, idleMicros, maxEntries });
    this.sockets = new KeyTable({ keyWords: 10, stride: 2, idleMicros, maxEntries });
  }

  stats(): KeyTableStats {
    return keyTableStats([this.hosts, this.channels, this.sockets]);
  }

  write(ctx: PacketContext, out: Float32Array, o: number): void {
    const p = ctx.packet, ts = ctx.timestampMicros, f = p.tcpFlags;
    out[o] = p.protocol;
    out[o + 1] = p.ipVersion;
    out[o + 2] = ctx.frameLength;
    out[o + 3] = p.ipBytes;
    out[o + 4] = p.ttl;
    out[o + 5] = p.l4HeaderBytes;
    out[o + 6] = p.payloadBytes;
    out[o + 7] = ctx.capturedPayload;
    out[o + 8] = ctx.entropy;
    out[o + 9] = ctx.printable;
    out[o + 10] = ctx.zero;
    out[o + 11] = p.srcPort;
    out[o + 12] = p.dstPort;
    out[o + 13] = p.srcPort < 1024 ? 1 : 0;
    out[o + 14] = p.dstPort < 1024 ? 1 : 0;
    out[o + 15] = p.srcPort >= 32768 ? 1 : 0;
    for (let b = 0; b < 9; b++) out[o + 16 + b] = (f >> b) & 1;
    out[o + 25] = p.tcpWindow;
    out[o + 26] = p.tcpMss;
    out[o + 27] = p.firstFragment ? 1 : 0;
    out[o + 28] = p.vlan !== 0 ? 1 : 0;

    hostKey(p, this.hosts.key);
    out[o + 29] = this.touch(this.hosts, ts, out, o + 33);
    channelKey(p, this.channels.key, false);
    out[o + 30] = this.touch(this.channels, ts, out, o + 34);
    socketKey(p, this.sockets.key, false);
    out[o + 32] = this.touch(this.sockets, ts, out, o + 35);
    channelKey(p, this.channels.key, true);
    const reverse = this.channels.lookup();
    const s = this.channels.state, at = reverse * this.channels.stride + 1;
    out[o + 31] = reverse < 0 ? -1 : ts - s[at];
    out[o + 36] = reverse < 0 ? 0 : s[at + 1];
  }

  /** Updates an entry's last time and count; returns the gap (-1 for a new entry). */
  private touch(table: KeyTable, ts: number, out: Float32Array, countAt: number): number {
    const slot = table.find(ts);
    const s = table.state, at = slot * table.stride + 1;
    const gap = table.inserted ? -1 : ts - s[at];
    s[at] = ts;
    out[countAt] = ++s[at + 1];
    return gap;
  }
}

/** Fields kept per packet of a conversation window. */
const W_TIME = 0,
  W_FRAME = 1,
  W_PAYLOAD = 2,
  W_FLAGS = 3,
  W_FIRST = 4,
  W_ENTROPY = 5,
  W_SPORT = 6,
  W_DPORT = 7,
  W_PROTO = 8,
  W_FIELDS = 9;

/** The `packet-sequence` set: a ring of the last N packets per conversation. */
export class SequenceSetWriter implements PacketSetWriter {
  readonly width = SEQUENCE_FEATURE_SET.columns.length;
  private readonly windows: KeyTable;
  private readonly n: number;
  // Scratch for the distinct counts (sorted-insert sets of at most N values).
  private readonly distinct: Float64Array;

  constructor(windowPackets: number, idleMicros: number, maxEntries?: number) {
    this.n = windowPackets;
    // State: packets seen so far, then N * W_FIELDS ring entries.
    this.windows = new KeyTable({
      keyWords: 8,
      stride: 1 + windowPackets * W_FIELDS,
      idleMicros,
      maxEntries,
      initialCapacity: 1024,
    });
    this.distinct = new Float64Array(windowPackets);
  }

  stats(): KeyTableStats {
    return keyTableStats([this.windows]);
  }

  write(ctx: PacketContext, out: Float32Array, o: number): void {
    const p = ctx.packet, n = this.n;
    const first = sourceFirst(p);
    channelKey(p, this.windows.key, !first);
    const slot = this.windows.find(ctx.timestampMicros);
    const s = this.windows.state, base = slot * this.windows.stride + 1;
    const seen = s[base];
    const at = base + 1 + (seen % n) * W_FIELDS;
    s[at + W_TIME] = ctx.timestampMicros;
    s[at + W_FRAME] = ctx.frameLength;
    s[at + W_PAYLOAD] = p.payloadBytes;
    s[at + W_FLAGS] = p.tcpFlags;
    s[at + W_FIRST] = first ? 1 : 0;
    s[at + W_ENTROPY] = ctx.capturedPayload > 0 ? ctx.entropy : -1;
    s[at + W_SPORT] = p.srcPort;
    s[at + W_DPORT] = p.dstPort;
    s[at + W_PROTO] = p.protocol;
    s[base] = seen + 1;
    const count = Math.min(seen + 1, n);
    // Oldest entry first: the ring's next write position when full, else 0.
    const start = seen + 1 > n ? (seen + 1) % n : 0;
    let t0 = 0, tLast = 0, prevTime = 0, prevFirst = -1;
    let fSum = 0, fSq = 0, fMin = Infinity, fMax = -Infinity;
    let pSum = 0, pSq = 0, pMin = Infinity, pMax = -Infinity;
    let iSum = 0, iSq = 0, iMin = Infinity, iMax = -Infinity;
    let eSum = 0, eCount = 0, eMax = 0, same = 0, changes = 0;
    let syn = 0, fin = 0, rst = 0, psh = 0, ackOnly = 0, empty = 0;
    const firstNow = first ? 1 : 0;
    for (let k = 0; k < count; k++) {
      const e = base + 1 + ((start + k) % n) * W_FIELDS;
      const t = s[e + W_TIME], fl = s[e + W_FRAME], pl = s[e + W_PAYLOAD], flags = s[e + W_FLAGS];
      if (k === 0) t0 = t;
      else {
        const gap = t - prevTime;
        iSum += gap, iSq += gap * gap;
        if (gap < iMin) iMin = gap;
        if (gap > iMax) iMax = gap;
      }
      prevTime = t;
      tLast = t;
      fSum += fl, fSq += fl * fl;
      if (fl < fMin) fMin = fl;
      if (fl > fMax) fMax = fl;
      pSum += pl, pSq += pl * pl;
      if (pl < pMin) pMin = pl;
      if (pl > pMax) pMax = pl;
      const en = s[e + W_ENTROPY];
      if (en >= 0) {
        eSum += en, eCount++;
        if (en > eMax) eMax = en;
      }
      const dir = s[e + W_FIRST];
      if (dir === firstNow) same++;
      if (prevFirst >= 0 && dir !== prevFirst) changes++;
      prevFirst = dir;
      if (flags & 0x02) syn++;
      if (flags & 0x01) fin++;
      if (flags & 0x04) rst++;
      if (flags & 0x08) psh++;
      if (s[e + W_PROTO] === 6 && (flags & 0x10) && pl === 0 && !(flags & 0x07)) ackOnly++;
      if (pl === 0) empty++;
    }
    const duration = tLast - t0;
    const gaps = count - 1;
    out[o] = count;
    out[o + 1] = duration;
    out[o + 2] = duration > 0 ? count / (duration / 1e6) : 0;
    writeStats(out, o + 3, fSum, fSq, fMin, fMax, count);
    writeStats(out, o + 7, pSum, pSq, pMin, pMax, count);
    if (gaps > 0) writeStats(out, o + 11, iSum, iSq, iMin, iMax, gaps);
    else {out[o + 11] =
        out[o + 12] =
        out[o + 13] =
        out[o + 14] =
          0;}
    out[o + 15] = eCount > 0 ? eSum / eCount : 0;
    out[o + 16] = eMax;
    out[o + 17] = same / count;
    out[o + 18] = changes;
    out[o + 19] = syn / count;
    out[o + 20] = fin / count;
    out[o + 21] = rst / count;
    out[o + 22] = psh / count;
    out[o + 23] = ackOnly / count;
    out[o + 24] = empty / count;
    out[o + 25] = this.countDistinct(s, base, start, count, W_DPORT, true);
    out[o + 26] = this.countDistinct(s, base, start, count, W_SPORT, true);
    out[o + 27] = this.countDistinct(s, base, start, count, W_PROTO, false);
  }

  /**
   * Distinct values of one field over the window; ports are counted per
   * sender (the direction bit joins the value), so a reply's port pair does
   * not count as a new one.
   */
  private countDistinct(
    s: Float64Array,
    base: number,
    start: number,
    count: number,
    field: number,
    perSender: boolean,
  ): number {
    const seen = this.distinct;
    let size = 0;
    for (let k = 0; k < count; k++) {
      const e = base + 1 + ((start + k) % this.n) * W_FIELDS;
      const value = perSender ? s[e + field] * 2 + s[e + W_FIRST] : s[e + field];
      let found = false;
      for (let j = 0; j < size; j++) {
        if (seen[j] === value) {
          found = true;
          break;
        }
      }
      if (!found) seen[size++] = value;
    }
    return size;
  }
}

function writeStats(
  out: Float32Array,
  o: number,
  sum: number,
  sq: number,
  min: number,
  max: number,
  n: number,
): void {
  const mean = sum / n;
  out[o] = mean;
  out[o + 1] = Math.sqrt(Math.max(0, sq / n - mean * mean));
  out[o + 2] = min;
  out[o + 3] = max;
}

/** Rows of one or more packet-level sets, with each packet's identity; reused batch to batch. */
export interface PacketRows {
  count: number;
  capacity: number;
  timestampMicros: Float64Array;
  /** 16 bytes per row, IPv4 as IPv4-mapped. */
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  protocol: Uint8Array;
  ipVersion: Uint8Array;
  /** Per requested set, in request order: row-major `capacity * widths[k]`. */
  features: Float32Array[];
  widths: number[];
  sets: PacketSetName[];
}

/** Settings of a PacketFeatureExtractor. */
export interface PacketFeatureOptions {
  /** Sets to compute, in output order. */
  sets: PacketSetName[];
  /** Rows per batch handed to `onRows`. Default 4096. */
  batchSize?: number;
  /** Sequence window, packets per conversation. Default 16. */
  windowPackets?: number;
  /** State of hosts, channels and sockets idle this long is recycled first when tables fill. Default 120 s. */
  idleSeconds?: number;
  /**
   * Memcap: most entries per state table (hosts, channels, sockets, conversations); past it the
   * least recently seen entry is evicted and counted (`stats().evicted`). Default 131,072.
   */
  maxEntries?: number;
  /** Receives each full batch (and the last partial one at flush); valid only during the call. */
  onRows: (rows: PacketRows) => void;
}

/** Computes packet-level rows for every metered packet (plug into FlowMeterOptions.packetObserver). */
export class PacketFeatureExtractor implements PacketObserver {
  readonly rows: PacketRows;
  private readonly writers: PacketSetWriter[];
  private readonly context = new PacketContext();
  private readonly onRows: (rows: PacketRows) => void;
  // The rows' address bytes as words: four stores per address instead of a copy call.
  private readonly srcWords: Uint32Array;
  private readonly dstWords: Uint32Array;
  /** Rows written so far. */
  packets = 0;

  constructor(options: PacketFeatureOptions) {
    if (options.sets.length === 0) throw new RangeError("no packet feature set requested");
    const capacity = options.batchSize ?? 4096;
    const idle = (options.idleSeconds ?? 120) * 1e6;
    const maxEntries = options.maxEntries ?? DEFAULT_AFTERIMAGE_MAX_ENTRIES;
    this.writers = options.sets.map((name) => {
      switch (name) {
        case "packet":
          return new PacketSetWriterImpl(idle, maxEntries);
        case "packet-sequence":
          return new SequenceSetWriter(
            options.windowPackets ?? DEFAULT_WINDOW_PACKETS,
            idle,
            maxEntries,
          );
        case "afterimage":
          return new AfterImage({ idleMicros: idle, maxEntries });
        default:
          throw new RangeError(
            `unknown packet feature set '${name}' (known: ${
              Object.keys(PACKET_FEATURE_SETS).join(", ")
            })`,
          );
      }
    });
    this.context.payloadStatistics = options.sets.some((name) => name !== "afterimage");
    const widths = this.writers.map((w) => w.width);
    this.rows = {
      count: 0,
      capacity,
      timestampMicros: new Float64Array(capacity),
      srcAddr: new Uint8Array(capacity * 16),
      dstAddr: new Uint8Array(capacity * 16),
      srcPort: new Uint16Array(capacity),
      dstPort: new Uint16Array(capacity),
      protocol: new Uint8Array(capacity),
      ipVersion: new Uint8Array(capacity),
      features: widths.map((w) => new Float32Array(capacity * w)),
      widths,
      sets: [...options.sets],
    };
    this.onRows = options.onRows;
    this.srcWords = new Uint32Array(this.rows.srcAddr.buffer);
    this.dstWords = new Uint32Array(this.rows.dstAddr.buffer);
  }

  observe(packet: DecodedPacket, batch: PacketBatch, index: number, ts: number): void {
    const ctx = this.context;
    ctx.fill(packet, batch, index, ts);
    const rows = this.rows, r = rows.count;
    rows.timestampMicros[r] = ts;
    const src = this.srcWords, dst = this.dstWords, a = packet.srcWords, b = packet.dstWords;
    const w = r * 4;
    src[w] = a[0], src[w + 1] = a[1], src[w + 2] = a[2], src[w + 3] = a[3];
    dst[w] = b[0], dst[w + 1] = b[1], dst[w + 2] = b[2], dst[w + 3] = b[3];
    rows.srcPort[r] = packet.srcPort;
    rows.dstPort[r] = packet.dstPort;
    rows.protocol[r] = packet.protocol;
    rows.ipVersion[r] = packet.ipVersion;
    const writers = this.writers;
    for (let k = 0; k < writers.length; k++) {
      writers[k].write(ctx, rows.features[k], r * rows.widths[k]);
    }
    this.packets++;
    if (++rows.count === rows.capacity) this.flush();
  }

  /**
   * State held by all requested sets' tables: entries, idle ones recycled,
   * live ones evicted at the memcap (a spoofed flood shows here), bytes.
   */
  stats(): KeyTableStats {
    return keyTableStats(this.writers.map((w) => w.stats()));
  }

  /** Hands over the rows written since the last batch (call at the end of input). */
  flush(): void {
    if (this.rows.count === 0) return;
    this.onRows(this.rows);
    this.rows.count = 0;
  }
}
