/**
 * The fleet's names on NATS: subjects per sensor, the JetStream streams that
 * keep them, and the subject remote scoring uses. One place, so the sensor,
 * the collector and the score workers cannot disagree.
 */

/** What a sensor publishes. */
export type FleetKind = "alerts" | "stats" | "flows";

/** Stream of alerts and stats (the console's durable consumer reads it). */
export const EVENTS_STREAM = "IDS_EVENTS";
/** Stream of feature rows (`--publish-flows`), bounded by bytes (oldest dropped). */
export const FLOWS_STREAM = "IDS_FLOWS";
/** JetStream object store holding model bundles' files (objects `<bundle sha256>/<file>`). */
export const MODELS_BUCKET = "ids-models";
/** JetStream KV bucket of fleet-wide settings. */
export const FLEET_KV_BUCKET = "ids-fleet";
/** Key of {@link FLEET_KV_BUCKET} announcing the current model bundle (its manifest). */
export const MODEL_KEY = "model";
/** Queue group every score worker joins. */
export const SCORE_QUEUE = "ids-score-workers";
/** Durable consumer name of the console (one per console store). */
export const DEFAULT_DURABLE = "ids-console";

/** NATS subject tokens cannot hold dots, wildcards or white space. */
const SENSOR_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Turns a host name or a given id into a subject token: dots and other
 * characters become "-", so `edge1.example.org` is `edge1-example-org`.
 */
export function sensorIdFrom(text: string): string {
  const id = text.trim().replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
  if (!SENSOR_ID.test(id)) throw new Error(`sensor id "${text}" has no usable characters`);
  return id;
}

/** True when `id` can be a sensor id as is. */
export function isSensorId(id: string): boolean {
  return SENSOR_ID.test(id);
}

/** `ids.<sensor>.<kind>`. */
export function fleetSubject(sensor: string, kind: FleetKind): string {
  if (!isSensorId(sensor)) throw new Error(`not a sensor id: "${sensor}"`);
  return `ids.${sensor}.${kind}`;
}

/** Subject a sensor with `--remote-scoring` sends its feature rows to. */
export function scoreSubject(sensor: string): string {
  if (!isSensorId(sensor)) throw new Error(`not a sensor id: "${sensor}"`);
  return `ids.score.${sensor}`;
}

/** Splits `ids.<sensor>.<kind>`; null for any other subject. */
export function parseFleetSubject(subject: string): { sensor: string; kind: FleetKind } | null {
  const parts = subject.split(".");
  if (parts.length !== 3 || parts[0] !== "ids") return null;
  const kind = parts[2];
  if (kind !== "alerts" && kind !== "stats" && kind !== "flows") return null;
  if (!isSensorId(parts[1])) return null;
  return { sensor: parts[1], kind };
}

/** The sensor's default id: the host name, as a subject token. */
export function defaultSensorId(): string {
  try {
    return sensorIdFrom(Deno.hostname());
  } catch {
    return "sensor";
  }
}
