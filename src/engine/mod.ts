/**
 * The sensor's main loop, shared by live detection and offline analysis:
 * packets -> flows -> scores -> alerts -> sinks.
 */
export {
  type DetectionProgress,
  type DetectionReport,
  type DetectionRunOptions,
  loadSensorBundle,
  runDetection,
  withWallClockTicks,
} from "./run_detection.ts";
export { DEFAULT_MODEL_DIR, DEMO_CAPTURE } from "./bundled.ts";
