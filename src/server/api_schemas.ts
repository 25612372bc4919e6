/**
 * The REST API's zod schemas: they validate requests and, through
 * `@hono/zod-openapi`, generate the OpenAPI 3.1 document.
 */
import { z } from "@hono/zod-openapi";
import { ALERT_STATUSES } from "../store/mod.ts";

/** RFC 9457 problem details. */
export const ProblemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
}).openapi("Problem");

const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "an ISO 8601 time");

/** Alert list filters (query string). */
export const AlertFilterQuery = z.object({
  address: z.string().max(64).optional().openapi({ description: "source or target address" }),
  src_ip: z.string().max(64).optional(),
  dest_ip: z.string().max(64).optional(),
  class: z.string().max(128).optional(),
  verdict: z.enum(["known", "unknown"]).optional(),
  severity: z.coerce.number().int().min(1).max(3).optional().openapi({
    description: "severity at most this (1 = high only)",
  }),
  status: z.enum(ALERT_STATUSES as [string, ...string[]]).optional(),
  source: z.string().max(128).optional().openapi({ description: "sensor, or upload:<job id>" }),
  sensor: z.string().max(64).optional().openapi({
    description: "fleet sensor id (alerts collected with serve --nats)",
  }),
  since: isoTime.optional(),
  until: isoTime.optional(),
  q: z.string().max(128).optional().openapi({ description: "text in an address, class, name" }),
});

/** Pagination. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
});

/** An alert as listed. */
export const AlertRowSchema = z.object({
  id: z.number().int(),
  timestamp: z.string(),
  src_ip: z.string(),
  src_port: z.number().int(),
  dest_ip: z.string(),
  dest_port: z.number().int(),
  proto: z.string(),
  community_id: z.string(),
  verdict: z.string(),
  class: z.string(),
  name: z.string(),
  score: z.number(),
  threshold: z.number(),
  model: z.string(),
  severity: z.number().int(),
  count: z.number().int(),
  source: z.string(),
  /** Fleet sensor id; null for alerts of the local sensor or uploads. */
  sensor: z.string().nullable(),
  status: z.string(),
  status_at: z.string().nullable(),
  evidence_bytes: z.number().int(),
}).openapi("AlertRow");

/** One alert with its EVE record. */
export const AlertDetailSchema = AlertRowSchema.extend({
  evidence_packets: z.number().int(),
  eve: z.record(z.string(), z.unknown()).openapi({ description: "the EVE JSON alert record" }),
}).openapi("AlertDetail");

/** A page of alerts. */
export const AlertPageSchema = z.object({
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  alerts: z.array(AlertRowSchema),
}).openapi("AlertPage");

/** One group of alerts. */
export const AlertGroupSchema = z.object({
  class: z.string(),
  name: z.string(),
  src_ip: z.string(),
  dest_ip: z.string(),
  alerts: z.number().int(),
  flows: z.number().int(),
  severity: z.number().int(),
  first_seen: z.string(),
  last_seen: z.string(),
  latest_id: z.number().int(),
  new_alerts: z.number().int(),
}).openapi("AlertGroup");

/** Path parameter `id` of an alert or suppression. */
export const IdParam = z.object({
  id: z.string().regex(/^[1-9][0-9]{0,15}$/, "a positive whole number").openapi({
    param: { name: "id", in: "path" },
    example: "1",
  }),
});

/** Path parameter `id` of a job. */
export const JobIdParam = z.object({
  id: z.string().uuid().openapi({ param: { name: "id", in: "path" } }),
});

/** Triage result. */
export const TriageSchema = z.object({
  id: z.number().int(),
  status: z.string(),
  status_at: z.string(),
})
  .openapi("Triage");

/** A suppression. */
export const SuppressionSchema = z.object({
  id: z.number().int(),
  class: z.string().nullable(),
  src_ip: z.string().nullable(),
  dest_ip: z.string().nullable(),
  reason: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  active: z.boolean(),
}).openapi("Suppression");

/** A new suppression: at least one of class, src_ip, dest_ip; expiry optional. */
export const SuppressionCreateSchema = z.object({
  class: z.string().min(1).max(128).optional(),
  src_ip: z.string().min(1).max(64).optional(),
  dest_ip: z.string().min(1).max(64).optional(),
  reason: z.string().max(500).optional(),
  expires_in_seconds: z.number().int().min(1).max(10 * 365 * 86400).optional(),
  expires_at: isoTime.optional(),
}).refine((s) => s.class || s.src_ip || s.dest_ip, {
  message: "give at least one of class, src_ip and dest_ip",
}).openapi("SuppressionCreate");

/** A job. */
export const JobSchema = z.object({
  id: z.string(),
  kind: z.enum(["analyze", "predict"]),
  state: z.enum(["queued", "running", "done", "failed"]),
  file_name: z.string(),
  bytes: z.number().int(),
  format: z.string().optional(),
  created_at: z.string(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  error: z.string().optional(),
  warnings: z.array(z.string()),
  source: z.string().optional(),
  summary: z.record(z.string(), z.number()).optional(),
  class_counts: z.record(z.string(), z.number()).optional(),
}).openapi("Job");

/** A job with its results. */
export const JobResultSchema = JobSchema.extend({
  alerts: z.array(AlertRowSchema).optional(),
  predictions: z.array(z.object({
    row: z.number().int(),
    verdict: z.string(),
    class: z.string(),
    score: z.number(),
    threshold: z.number(),
    label: z.string().optional(),
  })).optional(),
  predictions_total: z.number().int().optional(),
}).openapi("JobResult");

/** Multipart upload of a capture. */
export const CaptureUploadSchema = z.object({
  file: z.any().openapi({ type: "string", format: "binary", description: "pcap or pcapng" }),
});

/** Multipart upload of a CSV for prediction. */
export const CsvUploadSchema = z.object({
  file: z.any().openapi({ type: "string", format: "binary", description: "CSV" }),
  format: z.enum(["cic", "nsl-kdd"]).default("cic"),
});

/** Store and sensor figures. */
export const StatsSchema = z.object({
  alerts: z.number().int(),
  flows_alerted: z.number().int(),
  by_severity: z.record(z.string(), z.number()),
  by_status: z.record(z.string(), z.number()),
  by_class: z.array(z.object({ class: z.string(), alerts: z.number().int() })),
  first_alert: z.string().nullable(),
  last_alert: z.string().nullable(),
  max_id: z.number().int(),
  active_suppressions: z.number().int(),
  sensors: z.array(z.object({
    sensor: z.string(),
    updated_at: z.string(),
    status: z.record(z.string(), z.unknown()),
  })),
  traffic: z.array(z.record(z.string(), z.union([z.string(), z.number()]))),
  server: z.record(z.string(), z.unknown()),
}).openapi("Stats");

/** The model bundle in use. */
export const ModelSchema = z.object({
  dir: z.string(),
  feature_set: z.object({ name: z.string(), version: z.number() }),
  input: z.object({ name: z.string(), width: z.number().int() }),
  created_at: z.string().optional(),
  models: z.array(z.record(z.string(), z.unknown())),
}).openapi("Model");
