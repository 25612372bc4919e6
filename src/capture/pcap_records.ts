/**
 * Parses classic pcap records (16-byte record header + packet bytes) in place
 * into a PacketBatch. Used by the capture-file reader and by live capture,
 * where libpcap's own `pcap_dump` writes records into a memory buffer.
 */
import type { PacketBatch } from "./packet_batch.ts";

/** Bytes in a classic pcap file header. */
export const PCAP_FILE_HEADER_BYTES = 24;
/** Bytes in a classic pcap record header. */
export const PCAP_RECORD_HEADER_BYTES = 16;
/**
 * Largest captured length accepted for one record. libpcap itself refuses
 * records above 256 KiB (MAXIMUM_SNAPLEN); anything larger means corruption.
 */
export const MAX_RECORD_BYTES = 262144;

/** Result of one parse call, kept in a reused object. */
export interface PcapParseResult {
  /** Bytes consumed from `start`. */
  consumed: number;
  /** Set when a record header is impossible; the offset is relative to `bytes`. */
  corruptAt: number;
  /** Why the record at `corruptAt` is impossible. */
  corruptReason: string;
}

/**
 * Fills `batch` (from `batch.count` on) with the records found in
 * `bytes[start, end)`. Stops at a partial record, a full batch, or an
 * impossible record header (reported in `result`, nothing thrown).
 * Packet offsets are offsets into `bytes`, so `batch.data` must be `bytes`.
 */
export function parsePcapRecords(
  bytes: Uint8Array,
  start: number,
  end: number,
  batch: PacketBatch,
  linkType: number,
  littleEndian: boolean,
  nanosecond: boolean,
  result: PcapParseResult = { consumed: 0, corruptAt: -1, corruptReason: "" },
): PcapParseResult {
  result.corruptAt = -1;
  result.corruptReason = "";
  const position = scanRecords(
    bytes,
    start,
    end,
    batch,
    linkType,
    littleEndian,
    nanosecond,
    result,
  );
  batch.count = scannedCount;
  result.consumed = position - start;
  return result;
}

/** Packets in the batch after the last scanRecords call. */
let scannedCount = 0;

/**
 * The record loop of parsePcapRecords, apart: V8 optimises it while it runs
 * (on-stack replacement), and code after the loop that sets properties had no
 * type feedback then, so every call left the optimised loop into a
 * deoptimisation and ran part of its next loop in the interpreter (85 times
 * metering the range capture; the parser was 7.5% of metering's CPU profile
 * on the synthetic capture). Here nothing after the loop needs feedback.
 * Returns where it stopped; the batch's new count is left in scannedCount.
 */
function scanRecords(
  bytes: Uint8Array,
  start: number,
  end: number,
  batch: PacketBatch,
  linkType: number,
  littleEndian: boolean,
  nanosecond: boolean,
  result: PcapParseResult,
): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offsets = batch.offset, capturedLengths = batch.capturedLength;
  const wireLengths = batch.wireLength, times = batch.timestampMicros, links = batch.linkType;
  const capacity = offsets.length;
  const fractionDivisor = nanosecond ? 1000 : 1;
  const fractionLimit = nanosecond ? 1e9 : 1e6;
  let position = start;
  let count = batch.count;
  while (count < capacity && position + PCAP_RECORD_HEADER_BYTES <= end) {
    const seconds = view.getUint32(position, littleEndian);
    const fraction = view.getUint32(position + 4, littleEndian);
    const captured = view.getUint32(position + 8, littleEndian);
    const wire = view.getUint32(position + 12, littleEndian);
    if (captured > MAX_RECORD_BYTES) {
      result.corruptAt = position;
      result.corruptReason = `record claims ${captured} captured bytes (limit ${MAX_RECORD_BYTES})`;
      break;
    }
    if (fraction >= fractionLimit) {
      result.corruptAt = position;
      result.corruptReason = `record timestamp fraction ${fraction} out of range`;
      break;
    }
    const dataStart = position + PCAP_RECORD_HEADER_BYTES;
    if (dataStart + captured > end) break;
    offsets[count] = dataStart;
    capturedLengths[count] = captured;
    // A wire length below the captured length is a writer bug; keep the larger.
    wireLengths[count] = wire < captured ? captured : wire;
    times[count] = seconds * 1e6 + fraction / fractionDivisor;
    links[count] = linkType;
    count++;
    position = dataStart + captured;
  }
  scannedCount = count;
  return position;
}

/** What a classic pcap file header says. */
export interface PcapFileHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snapLength: number;
  linkType: number;
}

/** Reads a classic pcap header, or returns null when the magic is not pcap's. */
export function parsePcapFileHeader(bytes: Uint8Array): PcapFileHeader | null {
  if (bytes.byteLength < PCAP_FILE_HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (magic === 0xa1b2c3d4) [littleEndian, nanosecond] = [true, false];
  else if (magic === 0xa1b23c4d) [littleEndian, nanosecond] = [true, true];
  else if (magic === 0xd4c3b2a1) [littleEndian, nanosecond] = [false, false];
  else if (magic === 0x4d3cb2a1) [littleEndian, nanosecond] = [false, true];
  else return null;
  return {
    littleEndian,
    nanosecond,
    versionMajor: view.getUint16(4, littleEndian),
    versionMinor: view.getUint16(6, littleEndian),
    snapLength: view.getUint32(16, littleEndian),
    // The upper bits may carry FCS information; the link type is the low 16.
    linkType: view.getUint32(20, littleEndian) & 0xffff,
  };
}
