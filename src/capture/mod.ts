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
  parsePcapFileHeader,
  parsePcapRecords,
  PCAP_FILE_HEADER_BYTES,
  PCAP_RECORD_HEADER_BYTES,
  type PcapParseResult,
} from "./pcap_records.ts";
export { encodePcap, type EncodePcapOptions, type PacketToWrite } from "./pcap_writer.ts";
export {
  type InWorkerConsumerContext,
  type InWorkerConsumerFactory,
  type InWorkerPacketConsumer,
  serveCaptureRequests,
} from "./capture_loops.ts";
export {
  type InWorkerConsumerOptions,
  type LiveCapture,
  type LiveCaptureOptions,
  type LiveInterfaceStats,
  type LivePacketBatch,
  openLiveCapture,
} from "./live_source.ts";
export {
  openResilientCapture,
  type ResilienceOptions,
  type ResilientLiveCapture,
} from "./live_resilient.ts";
export { stopOnSignals } from "./live_signals.ts";
export { captureToFile, type FileCaptureOptions } from "./live_file_capture.ts";
export { capabilitiesAllowCapture, liveCapturePermitted } from "./capture_permission.ts";
export { acquireCaptureLock, type CaptureLock, LockHeldError } from "./live_lock.ts";
