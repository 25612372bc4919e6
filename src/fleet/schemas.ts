/**
 * Payloads on the fleet's subjects, as zod schemas: what a sensor publishes
 * is checked before it leaves, what a console consumes is checked before it
 * reaches the store (a message that fails is counted and acknowledged, never
 * retried forever).
 */
import { z } from "zod";
import { AlertSchema } from "../alert/mod.ts";

/** Version of these payloads; a consumer refuses others. */
export const FLEET_PAYLOAD_VERSION = 1;

const sensor = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "sensor id (letters, digits, - and _)");
const isoTime = z.string().datetime({ offset: true });

/** `ids.<sensor>.alerts`: one alert, with the id JetStream de-duplicates on. */
export const FleetAlertSchema = z.object({
  v: z.literal(FLEET_PAYLOAD_VERSION),
  /** `<sensor>-<run>-<seq>`: unique per alert, the same on every retry (Nats-Msg-Id). */
  id: z.string().min(1).max(200),
  sensor,
  /** Position of the alert in its run (1, 2, ...), for ordering and gap checks. */
  seq: z.number().int().positive(),
  /** The sensor's run (start time in ms, base 36): seq restarts with each run. */
  run: z.string().min(1).max(40),
  alert: AlertSchema,
});
export type FleetAlert = z.infer<typeof FleetAlertSchema>;

/** `ids.<sensor>.stats`: the sensor's status every few seconds and once at the end. */
export const FleetStatsSchema = z.object({
  v: z.literal(FLEET_PAYLOAD_VERSION),
  sensor,
  run: z.string().min(1).max(40),
  time: isoTime,
  /** "running" while detecting, "stopped" in the last message of a run. */
  state: z.enum(["running", "stopped"]),
  /** Model bundle folder (or fleet bundle name) in use. */
  model: z.string(),
  /** Remote scoring: rows are scored by score workers. */
  remote_scoring: z.boolean(),
  /** Remote scoring: rows scored on the sensor because no score worker answered in time. */
  remote_scoring_local_rows: z.number().int().nonnegative().optional(),
  /** Late socket resets after a refused connection, absorbed instead of ending the sensor. */
  nats_stray_socket_resets: z.number().int().nonnegative().optional(),
  elapsed_seconds: z.number().nonnegative(),
  packets: z.number().int().nonnegative(),
  flows: z.number().int().nonnegative(),
  alerts: z.number().int().nonnegative(),
  /** Since the previous stats message. */
  packets_per_second: z.number().nonnegative(),
  flows_per_second: z.number().nonnegative(),
  /** The publisher: messages acknowledged by JetStream, waiting (memory and disk), dropped. */
  published: z.number().int().nonnegative(),
  buffered: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  /** Live runs: packets the capture lost (kernel, interface and ring overruns). */
  capture_dropped: z.number().int().nonnegative().optional(),
  /** Alerts handed to the publisher this run (alerts published + buffered + dropped). */
  alerts_sent: z.number().int().nonnegative(),
  /** The last fleet model bundle received (`--model-updates`): applied or refused, and why. */
  model_update: z.object({
    name: z.string(),
    sha256: z.string(),
    state: z.enum(["applied", "refused"]),
    error: z.string().optional(),
    time: isoTime,
  }).optional(),
});
export type FleetStats = z.infer<typeof FleetStatsSchema>;

/** One feature row with its flow's key. */
export const FleetFlowRowSchema = z.object({
  src_ip: z.string(),
  src_port: z.number().int().min(0).max(65535),
  dest_ip: z.string(),
  dest_port: z.number().int().min(0).max(65535),
  proto: z.number().int().min(0).max(255),
  start: isoTime,
  end: isoTime,
  /** Values in the order of `columns` of the message. */
  features: z.array(z.number().nullable()),
});

/** `ids.<sensor>.flows` (`--publish-flows`): a batch of feature rows. */
export const FleetFlowsSchema = z.object({
  v: z.literal(FLEET_PAYLOAD_VERSION),
  sensor,
  run: z.string().min(1).max(40),
  time: isoTime,
  feature_set: z.object({ name: z.string(), version: z.number().int() }),
  columns: z.array(z.string()),
  flows: z.array(FleetFlowRowSchema),
});
export type FleetFlows = z.infer<typeof FleetFlowsSchema>;
