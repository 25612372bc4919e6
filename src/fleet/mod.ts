/**
 * The fleet: many sensors, one console, over NATS JetStream. Sensors publish
 * alerts, stats and feature rows per sensor (`ids.<sensor>.alerts`, `.stats`,
 * `.flows`) through a publisher that buffers on disk while NATS is away; the
 * console collects alerts and stats through a durable consumer into its
 * store, exactly once by alert id.
 */
export {
  connectNats,
  natsConnectionOptions,
  type NatsSettings,
  redactNatsUrl,
} from "./connection.ts";
export {
  type BufferedMessage,
  type DiskBuffer,
  type DiskBufferOptions,
  openDiskBuffer,
} from "./disk_buffer.ts";
export {
  createFleetPublisher,
  type FleetPublisher,
  type FleetPublisherOptions,
  type FleetPublisherStats,
} from "./publisher.ts";
export {
  FLEET_STATUS_PREFIX,
  type FleetCollector,
  type FleetCollectorOptions,
  type FleetCollectorStats,
  startFleetCollector,
} from "./collector.ts";
export {
  FLEET_PAYLOAD_VERSION,
  type FleetAlert,
  FleetAlertSchema,
  type FleetFlows,
  FleetFlowsSchema,
  type FleetStats,
  FleetStatsSchema,
} from "./schemas.ts";
export { ensureFleetStreams, type StreamLimits } from "./streams.ts";
export {
  DEFAULT_DURABLE,
  defaultSensorId,
  EVENTS_STREAM,
  FLEET_KV_BUCKET,
  type FleetKind,
  fleetSubject,
  FLOWS_STREAM,
  isSensorId,
  MODEL_KEY,
  MODELS_BUCKET,
  parseFleetSubject,
  SCORE_QUEUE,
  scoreSubject,
  sensorIdFrom,
} from "./subjects.ts";
export {
  type CaptureDrops,
  type SensorFleet,
  type SensorFleetOptions,
  startSensorFleet,
} from "./sensor_fleet.ts";
export {
  createRemotePool,
  DEFAULT_REMOTE_FALLBACK_MS,
  type RemotePoolCounters,
  type RemotePoolOptions,
} from "./remote_pool.ts";
export { type ScoreWorker, type ScoreWorkerOptions, startScoreWorker } from "./score_worker.ts";
export {
  concatScores,
  decodeRows,
  decodeScores,
  encodeRows,
  encodeScores,
  modelsFingerprint,
  SCORE_HEADERS,
} from "./score_codec.ts";
export {
  BundleContentError,
  fetchModelBundle,
  type ModelManifest,
  ModelManifestSchema,
  type ModelUpdateOutcome,
  type ModelWatchOptions,
  type PackedModelBundle,
  packModelBundle,
  publishModelBundle,
  watchModelUpdates,
} from "./model_updates.ts";
