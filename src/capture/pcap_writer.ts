/**
 * Encodes packets as a classic pcap file in memory: used to export packets
 * and by tests that need captures with exact, known contents.
 */
import { PCAP_FILE_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from "./pcap_records.ts";

/** One packet to encode. */
export interface PacketToWrite {
  data: Uint8Array;
  timestampMicros: number;
  /** Length on the wire; defaults to the data length. */
  wireLength?: number;
}

/** Options for encodePcap. */
export interface EncodePcapOptions {
  linkType?: number;
  snapLength?: number;
  littleEndian?: boolean;
  nanosecond?: boolean;
}

/** Returns the bytes of a pcap file holding `packets` (link type Ethernet by default). */
export function encodePcap(
  packets: Iterable<PacketToWrite>,
  options: EncodePcapOptions = {},
): Uint8Array {
  const list = [...packets];
  const littleEndian = options.littleEndian ?? true;
  const nanosecond = options.nanosecond ?? false;
  let size = PCAP_FILE_HEADER_BYTES;
  for (const packet of list) size += PCAP_RECORD_HEADER_BYTES + packet.data.byteLength;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, littleEndian);
  view.setUint16(4, 2, littleEndian);
  view.setUint16(6, 4, littleEndian);
  view.setUint32(16, options.snapLength ?? 262144, littleEndian);
  view.setUint32(20, options.linkType ?? 1, littleEndian);
  let at = PCAP_FILE_HEADER_BYTES;
  for (const packet of list) {
    const seconds = Math.floor(packet.timestampMicros / 1e6);
    const micros = Math.round(packet.timestampMicros - seconds * 1e6);
    view.setUint32(at, seconds, littleEndian);
    view.setUint32(at + 4, nanosecond ? micros * 1000 : micros, littleEndian);
    view.setUint32(at + 8, packet.data.byteLength, littleEndian);
    view.setUint32(at + 12, packet.wireLength ?? packet.data.byteLength, littleEndian);
    bytes.set(packet.data, at + PCAP_RECORD_HEADER_BYTES);
    at += PCAP_RECORD_HEADER_BYTES + packet.data.byteLength;
  }
  return bytes;
}
