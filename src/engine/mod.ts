/**
 * The sensor's main loop, shared by live detection and offline analysis:
 * packets -> flows -> scores -> decisions -> alerts -> sinks. The one place
 * that wires src/capture, src/features, src/inference and src/alert together.
 *
 * ```ts
 * import { createDetector, loadSensorBundle } from "./mod.ts";
 * import { createJsonlSink } from "../alert/mod.ts";
 * const detector = await createDetector({
 *   bundle: await loadSensorBundle("models/default"),
 *   sinks: [await createJsonlSink("eve.json")],
 * });
 * const stats = await detector.run(flowBatches); // AsyncIterable<FlowBatch>
 * await detector.close();
 * ```
 */
export {
  type DetectionProgress,
  type DetectionReport,
  type DetectionRunOptions,
  loadSensorBundle,
  runDetection,
  withWallClockTicks,
} from "./run_detection.ts";
export {
  createDetector,
  DEFAULT_WINDOW_SECONDS,
  type Detector,
  type DetectorOptions,
  type DetectorStats,
  type LatencySummary,
  snapshotFlowBatch,
} from "./detector.ts";
export {
  createSwappableDetector,
  mergeDetectorStats,
  type SwappableDetector,
} from "./swappable_detector.ts";
export { CaptureWorkerMeters, MAX_PENDING_BATCHES } from "./capture_metering.ts";
export { DEFAULT_FILE_SHARDS, FileMeterShards } from "./file_meter_shards.ts";
export { type DetectionThresholds, unknownAlertRuleFromBundle } from "./thresholds.ts";
export { type PacketMemberStats, PacketVotes } from "./packet_votes.ts";
export { DEFAULT_MODEL_DIR, DEMO_CAPTURE } from "./bundled.ts";
