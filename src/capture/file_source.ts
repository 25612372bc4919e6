/**
 * Reads pcap and pcapng capture files in plain TypeScript: the file is read
 * in large chunks into one reused buffer and packets are described in place
 * (no copy, no object per packet). ARCHITECTURE.md measures this path faster
 * than libpcap through FFI.
 *
 * A broken file never throws mid-stream: every good packet before the damage
 * is yielded first, then a CaptureFileError names the file offset (or, with
 * `onError: "stop"`, the error is only recorded in the stats).
 */
import { createPacketBatch, type PacketBatch } from "./packet_batch.ts";
import {
  MAX_RECORD_BYTES,
  parsePcapFileHeader,
  parsePcapRecords,
  PCAP_FILE_HEADER_BYTES,
  type PcapParseResult,
} from "./pcap_records.ts";

/** A capture file that cannot be read past some byte offset. */
export class CaptureFileError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly reason: string,
    readonly packetsBefore: number,
  ) {
    super(
      `${path}: corrupt capture file at byte offset ${offset}: ${reason} ` +
        `(${packetsBefore} packets read before it)`,
    );
    this.name = "CaptureFileError";
  }
}

/** What the reader saw; filled as it goes, complete when the generator ends. */
export interface CaptureFileStats {
  path: string;
  format: "pcap" | "pcapng" | "unknown";
  /** Packets yielded. */
  packets: number;
  /** Captured bytes of the packets yielded. */
  capturedBytes: number;
  /** Packets per link type. */
  linkTypes: Record<number, number>;
  /** Packets not yielded, by reason (each also counted nowhere else). */
  skippedPackets: Record<string, number>;
  /** pcapng blocks that carry no packets and were passed over, by block type. */
  otherBlocks: number;
  /** Set when the file ends inside a record: where, and how many bytes it lacks. */
  truncatedTail: { offset: number; missingBytes: number } | null;
  /** Set when the file is corrupt; reading stopped there. */
  error: CaptureFileError | null;
}

/** Options for readCaptureFile. */
export interface ReadCaptureFileOptions {
  /** Packets per batch (default 8192). */
  batchSize?: number;
  /** Bytes read from the file at a time (default 4 MiB: about 40,000 packets a read; resident all run). */
  chunkBytes?: number;
  /** Filled in as the file is read. */
  stats?: CaptureFileStats;
  /** "throw" (default) ends the stream with the error; "stop" only records it. */
  onError?: "throw" | "stop";
}

/** Creates an empty stats object for `path`. */
export function createCaptureFileStats(path: string): CaptureFileStats {
  return {
    path,
    format: "unknown",
    packets: 0,
    capturedBytes: 0,
    linkTypes: {},
    skippedPackets: {},
    otherBlocks: 0,
    truncatedTail: null,
    error: null,
  };
}

const PCAPNG_SECTION_HEADER = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_INTERFACE_DESCRIPTION = 1;
const PCAPNG_OBSOLETE_PACKET = 2;
const PCAPNG_SIMPLE_PACKET = 3;
const PCAPNG_ENHANCED_PACKET = 6;
const PCAPNG_OPTION_TS_RESOLUTION = 9;
/** Smallest valid pcapng block: type, length and the trailing length copy. */
const MIN_BLOCK_BYTES = 12;

/** Reads a capture file and yields its packets in batches. */
export async function* readCaptureFile(
  path: string,
  options: ReadCaptureFileOptions = {},
): AsyncGenerator<PacketBatch> {
  const stats = options.stats ?? createCaptureFileStats(path);
  stats.path = path;
  const file = await Deno.open(path, { read: true });
  // A small file gets a buffer of its own size; the floor keeps room for the largest record.
  const fileBytes = (await file.stat()).size;
  const chunkBytes = Math.max(
    Math.min(options.chunkBytes ?? 4 << 20, fileBytes + 64),
    2 * (MAX_RECORD_BYTES + 64),
  );
  const reader = new ChunkReader(file, chunkBytes);
  try {
    await reader.fill();
    const batch = createPacketBatch(options.batchSize ?? 8192, 0);
    batch.data = reader.buffer;
    const source = reader.filled >= 4 && readU32(reader.buffer, 0, true) === PCAPNG_SECTION_HEADER
      ? readPcapng(reader, batch, stats)
      : readPcap(reader, batch, stats);
    for await (const ready of source) yield ready;
  } catch (error) {
    if (!(error instanceof CaptureFileError)) throw error;
    stats.error = error;
    if (options.onError !== "stop") throw error;
  } finally {
    await reader.settle();
    file.close();
  }
}

/**
 * Two reused buffers over the file; `buffer` is the one being parsed and
 * `position` is where parsing stands. While the packets of `buffer` are
 * metered, the next bytes of the file are already being read into the
 * other buffer, behind a headroom of half its size (Deno reads files on a
 * thread of its own); fill() then puts the unparsed tail of `buffer` into
 * that headroom and swaps. The tail is always a part of one record or block
 * of at most half a buffer (pcap records are at most MAX_RECORD_BYTES, a
 * pcapng block over half a buffer is skipped), so it always fits. Reading
 * the range capture's 168 MB waited 40-60 ms of a 0.4 s metering run.
 */
class ChunkReader {
  buffer: Uint8Array;
  filled = 0;
  position = 0;
  /** File offset of buffer[0]. */
  base = 0;
  eof = false;
  /** The buffer being read into ahead (allocated with the first read ahead). */
  private spare: Uint8Array | null = null;
  /** The read ahead in flight into spare[headroom ..], if any. */
  private pending: Promise<number | null> | null = null;
  private readonly headroom: number;

  constructor(private readonly file: Deno.FsFile, chunkBytes: number) {
    this.buffer = new Uint8Array(chunkBytes);
    this.headroom = Math.floor(chunkBytes / 2);
  }

  /** File offset of a buffer index. */
  offsetOf(index: number): number {
    return this.base + index;
  }

  /**
   * Keeps the unparsed bytes and reads until the buffer is full or the file
   * ends, then starts reading ahead. The bytes before `position` (and the
   * previous batch's packets) are released.
   */
  async fill(): Promise<void> {
    if (this.pending !== null) await this.takeAhead();
    else if (this.position > 0) {
      this.buffer.copyWithin(0, this.position, this.filled);
      this.base += this.position;
      this.filled -= this.position;
      this.position = 0;
    }
    while (!this.eof && this.filled < this.buffer.length) {
      const read = await this.file.read(this.buffer.subarray(this.filled));
      if (read === null) this.eof = true;
      else this.filled += read;
    }
    if (!this.eof) {
      this.spare ??= new Uint8Array(this.buffer.length);
      this.pending = this.file.read(this.spare.subarray(this.headroom));
    }
  }

  /** Waits for the read ahead, puts the unparsed tail before its bytes and swaps buffers. */
  private async takeAhead(): Promise<void> {
    const read = await this.pending;
    this.pending = null;
    const spare = this.spare!, tail = this.filled - this.position;
    if (tail > this.headroom) {
      // Impossible by the record and block bounds above; fail loudly rather than lose bytes.
      throw new Error(`capture reader: ${tail} unparsed bytes exceed the read-ahead headroom`);
    }
    const at = this.headroom - tail;
    spare.set(this.buffer.subarray(this.position, this.filled), at);
    // spare[headroom] holds the file's bytes from offset base + filled on.
    this.base += this.filled - this.headroom;
    this.spare = this.buffer;
    this.buffer = spare;
    this.position = at;
    this.filled = this.headroom;
    if (read === null) this.eof = true;
    else this.filled += read;
  }

  /** Waits for a read ahead still in flight (before the file is closed). */
  async settle(): Promise<void> {
    if (this.pending === null) return;
    try {
      await this.pending;
    } catch {
      // The reading that follows never happens; its error does not matter.
    }
    this.pending = null;
  }

  /** Skips `bytes` past the current position, seeking over what is not buffered. */
  async skip(bytes: number): Promise<void> {
    if (this.pending !== null) await this.takeAhead();
    const buffered = this.filled - this.position;
    if (bytes <= buffered) {
      this.position += bytes;
      return;
    }
    const beyond = bytes - buffered;
    await this.file.seek(beyond, Deno.SeekMode.Current);
    this.base += this.filled + beyond;
    this.filled = 0;
    this.position = 0;
    this.eof = false;
  }
}

async function* readPcap(
  reader: ChunkReader,
  batch: PacketBatch,
  stats: CaptureFileStats,
): AsyncGenerator<PacketBatch> {
  const header = parsePcapFileHeader(reader.buffer.subarray(0, reader.filled));
  if (header === null) {
    const reason = reader.filled === 0
      ? "the file is empty"
      : reader.filled < PCAP_FILE_HEADER_BYTES && reader.filled >= 4 &&
          parsePcapFileHeader(padded(reader.buffer, reader.filled)) !== null
      ? `the file ends inside the ${PCAP_FILE_HEADER_BYTES}-byte pcap header`
      : `not a pcap or pcapng file (first bytes ${hex(reader.buffer, Math.min(4, reader.filled))})`;
    throw new CaptureFileError(stats.path, 0, reason, 0);
  }
  stats.format = "pcap";
  reader.position = PCAP_FILE_HEADER_BYTES;
  const result: PcapParseResult = { consumed: 0, corruptAt: -1, corruptReason: "" };
  const capacity = batch.offset.length;
  while (true) {
    batch.count = 0;
    batch.data = reader.buffer;
    parsePcapRecords(
      reader.buffer,
      reader.position,
      reader.filled,
      batch,
      header.linkType,
      header.littleEndian,
      header.nanosecond,
      result,
    );
    reader.position += result.consumed;
    if (batch.count > 0) {
      account(stats, batch);
      yield batch;
    }
    if (result.corruptAt >= 0) {
      throw new CaptureFileError(
        stats.path,
        reader.offsetOf(result.corruptAt),
        result.corruptReason,
        stats.packets,
      );
    }
    if (batch.count === capacity) continue;
    if (reader.eof) {
      noteTruncatedPcapTail(reader, header.littleEndian, stats);
      return;
    }
    await reader.fill();
  }
}

function noteTruncatedPcapTail(
  reader: ChunkReader,
  littleEndian: boolean,
  stats: CaptureFileStats,
): void {
  const left = reader.filled - reader.position;
  if (left <= 0) return;
  let missing = 16 - left;
  if (left >= 16) {
    const captured = readU32(reader.buffer, reader.position + 8, littleEndian);
    missing = 16 + captured - left;
  }
  stats.truncatedTail = { offset: reader.offsetOf(reader.position), missingBytes: missing };
  stats.skippedPackets["truncated-record"] = (stats.skippedPackets["truncated-record"] ?? 0) + 1;
}

/** Per-interface facts from pcapng Interface Description Blocks. */
interface PcapngInterfaces {
  linkType: number[];
  snapLength: number[];
  /** Timestamp units per microsecond. */
  unitsPerMicro: number[];
}

/** What the pcapng reader carries from one call of parsePcapngBlocks to the next. */
interface PcapngState {
  littleEndian: boolean;
  interfaces: PcapngInterfaces;
  /** Bytes of the oversized block to skip (after BLOCKS_SKIP). */
  skipBytes: number;
}

/** Why parsePcapngBlocks stopped. */
const BLOCKS_FULL = 0, BLOCKS_NEED_MORE = 1, BLOCKS_SKIP = 2, BLOCKS_TRUNCATED = 3;

async function* readPcapng(
  reader: ChunkReader,
  batch: PacketBatch,
  stats: CaptureFileStats,
): AsyncGenerator<PacketBatch> {
  stats.format = "pcapng";
  const state: PcapngState = {
    littleEndian: true,
    interfaces: { linkType: [], snapLength: [], unitsPerMicro: [] },
    skipBytes: 0,
  };
  while (true) {
    batch.count = 0;
    batch.data = reader.buffer;
    let needMore = false;
    for (;;) {
      const status = parsePcapngBlocks(reader, batch, stats, state);
      if (status === BLOCKS_SKIP) {
        // Give the batch back before skipping: skipping discards the buffer.
        if (batch.count > 0) {
          account(stats, batch);
          yield batch;
          batch.count = 0;
        }
        await reader.skip(state.skipBytes);
        continue;
      }
      needMore = status === BLOCKS_NEED_MORE;
      break;
    }
    if (batch.count > 0) {
      account(stats, batch);
      yield batch;
    }
    if (!needMore) continue;
    if (reader.eof) {
      const left = reader.filled - reader.position;
      if (left > 0) {
        const length = left >= 8
          ? readU32(reader.buffer, reader.position + 4, state.littleEndian)
          : 0;
        noteTruncatedBlock(reader, reader.position, Math.max(length, MIN_BLOCK_BYTES), stats);
      }
      return;
    }
    await reader.fill();
  }
}

/**
 * Fills `batch` with the packets of the blocks from `reader.position` on,
 * until the batch is full or a block needs more bytes or a skip. A plain
 * function, not part of the generator: locals of a generator's loop cost
 * allocations per packet in V8, which made pcapng several times slower than pcap.
 */
function parsePcapngBlocks(
  reader: ChunkReader,
  batch: PacketBatch,
  stats: CaptureFileStats,
  state: PcapngState,
): number {
  const capacity = batch.offset.length;
  const buffer = reader.buffer;
  let littleEndian = state.littleEndian;
  let interfaces = state.interfaces;
  const corrupt = (at: number, reason: string) =>
    new CaptureFileError(stats.path, reader.offsetOf(at), reason, stats.packets);
  while (batch.count < capacity) {
    const at = reader.position;
    if (at + MIN_BLOCK_BYTES > reader.filled) return BLOCKS_NEED_MORE;
    const type = readU32(buffer, at, littleEndian);
    if (type === PCAPNG_SECTION_HEADER) {
      const magic = readU32(buffer, at + 8, true);
      if (magic === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = true;
      else if (magic === 0x4d3c2b1a) littleEndian = false;
      else {
        throw corrupt(at, `section header with unknown byte-order magic 0x${magic.toString(16)}`);
      }
      state.littleEndian = littleEndian;
      interfaces = state.interfaces = { linkType: [], snapLength: [], unitsPerMicro: [] };
    }
    const length = readU32(buffer, at + 4, littleEndian);
    if (length < MIN_BLOCK_BYTES || length % 4 !== 0) {
      throw corrupt(at, `block of type 0x${type.toString(16)} has impossible length ${length}`);
    }
    if (at + length > reader.filled) {
      const isPacket = type === PCAPNG_ENHANCED_PACKET || type === PCAPNG_SIMPLE_PACKET ||
        type === PCAPNG_OBSOLETE_PACKET;
      if (length > buffer.length / 2) {
        if (isPacket) throw corrupt(at, `packet block claims ${length} bytes`);
        if (reader.eof) {
          noteTruncatedBlock(reader, at, length, stats);
          return BLOCKS_TRUNCATED;
        }
        stats.otherBlocks++;
        state.skipBytes = length;
        return BLOCKS_SKIP;
      }
      return BLOCKS_NEED_MORE;
    }
    const trailer = readU32(buffer, at + length - 4, littleEndian);
    if (trailer !== length) {
      throw corrupt(at, `block length ${length} does not match its trailing copy ${trailer}`);
    }
    switch (type) {
      case PCAPNG_INTERFACE_DESCRIPTION:
        addInterface(buffer, at, length, littleEndian, interfaces);
        break;
      case PCAPNG_ENHANCED_PACKET:
      case PCAPNG_OBSOLETE_PACKET: {
        const enhanced = type === PCAPNG_ENHANCED_PACKET;
        const id = enhanced
          ? readU32(buffer, at + 8, littleEndian)
          : readU16(buffer, at + 8, littleEndian);
        const captured = readU32(buffer, at + 20, littleEndian);
        const wire = readU32(buffer, at + 24, littleEndian);
        if (28 + captured + 4 > length) {
          throw corrupt(at, `packet block of ${length} bytes claims ${captured} captured bytes`);
        }
        if (id >= interfaces.linkType.length) {
          skip(stats, "unknown-interface");
          break;
        }
        const high = readU32(buffer, at + 12, littleEndian);
        const low = readU32(buffer, at + 16, littleEndian);
        const i = batch.count++;
        batch.offset[i] = at + 28;
        batch.capturedLength[i] = captured;
        batch.wireLength[i] = wire < captured ? captured : wire;
        batch.timestampMicros[i] = (high * 4294967296 + low) / interfaces.unitsPerMicro[id];
        batch.linkType[i] = interfaces.linkType[id];
        break;
      }
      case PCAPNG_SIMPLE_PACKET: {
        if (interfaces.linkType.length === 0) {
          skip(stats, "unknown-interface");
          break;
        }
        const wire = readU32(buffer, at + 8, littleEndian);
        const snap = interfaces.snapLength[0] || MAX_RECORD_BYTES;
        const captured = Math.min(wire, snap, length - 16);
        const i = batch.count++;
        batch.offset[i] = at + 12;
        batch.capturedLength[i] = captured;
        batch.wireLength[i] = wire;
        // Simple packet blocks carry no timestamp.
        batch.timestampMicros[i] = 0;
        batch.linkType[i] = interfaces.linkType[0];
        break;
      }
      default:
        if (type !== PCAPNG_SECTION_HEADER) stats.otherBlocks++;
    }
    reader.position = at + length;
  }
  return BLOCKS_FULL;
}

function addInterface(
  buffer: Uint8Array,
  at: number,
  length: number,
  littleEndian: boolean,
  interfaces: PcapngInterfaces,
): void {
  interfaces.linkType.push(readU16(buffer, at + 8, littleEndian));
  interfaces.snapLength.push(readU32(buffer, at + 12, littleEndian));
  let unitsPerMicro = 1;
  let option = at + 16;
  const end = at + length - 4;
  while (option + 4 <= end) {
    const code = readU16(buffer, option, littleEndian);
    const size = readU16(buffer, option + 2, littleEndian);
    if (code === 0) break;
    if (code === PCAPNG_OPTION_TS_RESOLUTION && size >= 1 && option + 5 <= end) {
      const value = buffer[option + 4];
      const exponent = value & 0x7f;
      const unitsPerSecond = value & 0x80 ? 2 ** exponent : 10 ** exponent;
      unitsPerMicro = unitsPerSecond / 1e6;
    }
    option += 4 + ((size + 3) & ~3);
  }
  interfaces.unitsPerMicro.push(unitsPerMicro);
}

function noteTruncatedBlock(
  reader: ChunkReader,
  at: number,
  length: number,
  stats: CaptureFileStats,
): void {
  stats.truncatedTail = {
    offset: reader.offsetOf(at),
    missingBytes: Math.max(0, at + length - reader.filled),
  };
  skip(stats, "truncated-record");
}

function account(stats: CaptureFileStats, batch: PacketBatch): void {
  const n = batch.count;
  stats.packets += n;
  if (n === 0) return;
  stats.capturedBytes += sumCaptured(batch.capturedLength, batch.linkType, n);
  const linkTypes = stats.linkTypes;
  if (mixedLinkTypes === 0) {
    const type = batch.linkType[0];
    linkTypes[type] = (linkTypes[type] ?? 0) + n;
    return;
  }
  // Several interfaces of a pcapng file: count runs of one link type.
  let lastType = -1;
  let run = 0;
  for (let i = 0; i < n; i++) {
    const type = batch.linkType[i];
    if (type !== lastType) {
      if (run > 0) linkTypes[lastType] = (linkTypes[lastType] ?? 0) + run;
      lastType = type;
      run = 0;
    }
    run++;
  }
  if (run > 0) linkTypes[lastType] = (linkTypes[lastType] ?? 0) + run;
}

/** Non-zero when the batch summed by the last sumCaptured call mixes link types. */
let mixedLinkTypes = 0;

/**
 * Captured bytes of packets `[0, n)`; notes in mixedLinkTypes whether their
 * link types differ. A loop apart, as scanRecords (pcap_records.ts), with no
 * comparison after it: the counting loop written inline deoptimised on every
 * batch (101 of 135 batches metering the range capture), its code after the loop
 * lacking type feedback (the loop ran optimised on stack, which collects none).
 */
function sumCaptured(lengths: Uint32Array, types: Uint16Array, n: number): number {
  const first = types[0];
  let bytes = 0, mixed = 0;
  for (let i = 0; i < n; i++) {
    bytes += lengths[i];
    mixed |= types[i] ^ first;
  }
  mixedLinkTypes = mixed;
  return bytes;
}

function skip(stats: CaptureFileStats, reason: string): void {
  stats.skippedPackets[reason] = (stats.skippedPackets[reason] ?? 0) + 1;
}

function readU32(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian
    ? (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0
    : ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function readU16(bytes: Uint8Array, at: number, littleEndian: boolean): number {
  return littleEndian ? bytes[at] | (bytes[at + 1] << 8) : (bytes[at] << 8) | bytes[at + 1];
}

function padded(bytes: Uint8Array, length: number): Uint8Array {
  const copy = new Uint8Array(PCAP_FILE_HEADER_BYTES);
  copy.set(bytes.subarray(0, length));
  return copy;
}

function hex(bytes: Uint8Array, length: number): string {
  return Array.from(bytes.subarray(0, length), (b) => b.toString(16).padStart(2, "0")).join(" ");
}
