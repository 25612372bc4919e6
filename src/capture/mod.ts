/**
 * Capture sources: everything that turns a capture file or a live interface
 * into PacketBatch values for the decoder.
 */
export { createPacketBatch, type PacketBatch } from "./packet_batch.ts";
export {
  CaptureFileError,
  type CaptureFileStats,
  createCaptureFileStats,
  readCaptureFile,
  type ReadCaptureFileOptions,
} from "./file_source.ts";
export {
  MAX_RECORD_BYTES,
  PCAP_FILE_HEADER_BYTES,
  PCAP_RECORD_HEADER_BYTES,
  parsePcapFileHeader,
  parsePcapRecords,
  type PcapParseResult,
} from "./pcap_records.ts";
export { encodePcap, type EncodePcapOptions, type PacketToWrite } from "./pcap_writer.ts";
