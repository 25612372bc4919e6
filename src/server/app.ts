/**
 * The console's HTTP application (Hono): the dashboard, the REST API under
 * `/api/v1` with its OpenAPI 3.1 document, server-sent events, uploads.
 * Everything but `/healthz` and the login page needs the bearer token, given
 * as `Authorization: Bearer TOKEN` or, for the browser, the HttpOnly
 * SameSite=Strict cookie the login page sets. Errors are problem+json.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getCookie } from "hono/cookie";
import type { AlertFilter, AlertRow, AlertStatus, AlertStore, Suppression } from "../store/mod.ts";
import {
  AlertDetailSchema,
  AlertFilterQuery,
  AlertGroupSchema,
  AlertPageSchema,
  CaptureUploadSchema,
  CsvUploadSchema,
  IdParam,
  JobIdParam,
  JobResultSchema,
  JobSchema,
  ModelSchema,
  PageQuery,
  ProblemSchema,
  StatsSchema,
  SuppressionCreateSchema,
  SuppressionSchema,
  TriageSchema,
} from "./api_schemas.ts";
import { dashboardAsset, INDEX_HTML, LOGIN_HTML, readAsset } from "./assets.ts";
import { type JobRunner, type PredictionTable, UploadError } from "./jobs.ts";
import type { LiveFeed } from "./live_feed.ts";
import { ProblemError, problemResponse } from "./problem.ts";
import { sameToken } from "./token.ts";

/** What the application serves from. */
export interface ConsoleAppOptions {
  store: AlertStore;
  feed: LiveFeed;
  jobs: JobRunner;
  /** The bearer token. */
  token: string;
  /** Model bundle folder (GET /api/v1/model). */
  modelDir: string;
  /** Largest upload accepted, bytes (default 256 MiB). */
  maxUploadBytes?: number;
  /** Largest JSON or form body of other requests, bytes (default 64 KiB). */
  maxBodyBytes?: number;
  /** Served over TLS: the cookie gets `Secure`. */
  secure?: boolean;
  /** When the server started (stats). */
  startedAt?: Date;
  /** Prometheus metrics of a sensor in the same process (src/metrics), served at /metrics. */
  metricsHandler?: (request: Request) => Response | Promise<Response>;
}

/** Name of the session cookie. */
export const COOKIE_NAME = "ids_console";
/** Rows an export writes at most. */
export const MAX_EXPORT_ROWS = 1_000_000;

const API = "/api/v1";
const problemContent = { "application/problem+json": { schema: ProblemSchema } };
const errors = {
  400: { description: "Bad request", content: problemContent },
  401: { description: "No or wrong token", content: problemContent },
  404: { description: "Not found", content: problemContent },
};

function bearerOf(c: Context): string | null {
  const header = c.req.header("authorization");
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : "";
  }
  return null;
}

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

/** Builds the application. */
export function createConsoleApp(options: ConsoleAppOptions): OpenAPIHono {
  const { store, feed, jobs } = options;
  const maxUpload = options.maxUploadBytes ?? 256 * 1024 * 1024;
  const maxBody = options.maxBodyBytes ?? 64 * 1024;
  const startedAt = options.startedAt ?? new Date();
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({
          path: i.path.join("."),
          message: i.message,
        }));
        return problemResponse(
          400,
          issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "),
          { issues },
        );
      }
    },
  });

  app.onError((error, c) => {
    if (error instanceof ProblemError) return problemResponse(error.status, error.message);
    if (error instanceof UploadError) return problemResponse(error.status, error.message);
    const status = (error as { status?: number }).status;
    if (status === 415) {
      return problemResponse(
        415,
        `${c.req.path} takes ${
          c.req.path.startsWith(`${API}/analyze`) || c.req.path.startsWith(`${API}/predict`)
            ? "multipart/form-data with a field `file`"
            : "application/json"
        }, not ${c.req.header("content-type") ?? "a body without a content type"}`,
      );
    }
    if (typeof status === "number" && status >= 400 && status < 500) {
      return problemResponse(status, error.message);
    }
    console.error(`ids-sensor serve: ${c.req.method} ${c.req.path}: ${error.stack ?? error}`);
    return problemResponse(500, "the server failed on this request; see its log");
  });
  app.notFound((c) => problemResponse(404, `no such resource: ${c.req.path}`));

  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });

  // Public: liveness, and the login page (holds no data).
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/login", (c) => loginPage(c, 200));
  app.post("/login", bodyLimit({ maxSize: 4096, onError: () => tooLarge(4096) }), async (c) => {
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token.trim() : "";
    if (!sameToken(token, options.token)) {
      // Slow down guessing a little; the token's length does the rest.
      await new Promise((r) => setTimeout(r, 300));
      return loginPage(c, 401, "That token is not right.");
    }
    const secure = options.secure ? "; Secure" : "";
    return new Response(null, {
      status: 303,
      headers: {
        location: "/",
        "set-cookie": `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/${secure}`,
      },
    });
  });

  const authenticate: MiddlewareHandler = async (c, next) => {
    const bearer = bearerOf(c);
    const cookie = bearer === null ? getCookie(c, COOKIE_NAME) : undefined;
    const given = bearer ?? cookie;
    if (!given || !sameToken(given, options.token)) {
      const accept = c.req.header("accept") ?? "";
      if (c.req.method === "GET" && c.req.path === "/" && accept.includes("text/html")) {
        return c.redirect("/login", 302);
      }
      return problemResponse(
        401,
        given
          ? "the token is not right"
          : "this needs the console token: Authorization: Bearer TOKEN",
        {},
        { "www-authenticate": 'Bearer realm="ids-sensor"' },
      );
    }
    // A cookie rides along on any request the browser makes; refuse state
    // changes that another site started.
    if (cookie !== undefined && !["GET", "HEAD"].includes(c.req.method)) {
      const site = c.req.header("sec-fetch-site");
      const origin = c.req.header("origin");
      const host = c.req.header("host");
      if (
        (site && site !== "same-origin" && site !== "none") ||
        (origin && host && new URL(origin).host !== host)
      ) {
        return problemResponse(403, "cross-site request refused");
      }
    }
    await next();
  };
  app.use("/", authenticate);
  app.use("/logout", authenticate);
  app.use("/assets/*", authenticate);
  app.use(`${API}/*`, authenticate);
  if (options.metricsHandler) {
    const metrics = options.metricsHandler;
    app.get("/metrics", authenticate, (c) => metrics(c.req.raw));
  }

  // Uploads have their own cap; every other body is small.
  const uploadPaths = new Set([`${API}/analyze`, `${API}/predict`]);
  const uploadLimit = bodyLimit({ maxSize: maxUpload, onError: () => tooLarge(maxUpload) });
  const smallLimit = bodyLimit({ maxSize: maxBody, onError: () => tooLarge(maxBody) });
  app.use(
    `${API}/*`,
    (c, next) => (uploadPaths.has(c.req.path) ? uploadLimit : smallLimit)(c, next),
  );

  app.get("/", async () => {
    const bytes = await readAsset(INDEX_HTML);
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy":
          "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
          "connect-src 'self'; frame-ancestors 'none'",
        "cache-control": "no-store",
      },
    });
  });
  app.post("/logout", () =>
    new Response(null, {
      status: 303,
      headers: { location: "/login", "set-cookie": `${COOKIE_NAME}=; Max-Age=0; Path=/` },
    }));
  app.get("/assets/:name", async (c) => {
    const asset = await dashboardAsset(c.req.param("name"));
    if (!asset) return problemResponse(404, "no such asset");
    return new Response(asset.bytes as Uint8Array<ArrayBuffer>, {
      headers: { "content-type": asset.type, "cache-control": "no-cache" },
    });
  });

  // ---- alerts ----
  const alertFilter = (query: z.infer<typeof AlertFilterQuery>): AlertFilter => ({
    ...query,
    status: query.status as AlertStatus | undefined,
    since: query.since ? new Date(query.since).toISOString() : undefined,
    until: query.until ? new Date(query.until).toISOString() : undefined,
  });

  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/alerts`,
      summary: "Alerts, newest first, filtered and paged",
      request: { query: AlertFilterQuery.merge(PageQuery) },
      responses: {
        200: {
          description: "A page",
          content: { "application/json": { schema: AlertPageSchema } },
        },
        ...errors,
      },
    }),
    (c) => {
      const { limit, offset, ...filter } = c.req.valid("query");
      const page = store.listAlerts(alertFilter(filter), { limit, offset });
      return c.json({ total: page.total, limit, offset, alerts: page.alerts }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/alerts/groups`,
      summary: "Alerts grouped by class, source and target, with counts and first/last seen",
      request: {
        query: AlertFilterQuery.extend({
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
      },
      responses: {
        200: {
          description: "Groups, newest first",
          content: {
            "application/json": { schema: z.object({ groups: z.array(AlertGroupSchema) }) },
          },
        },
        ...errors,
      },
    }),
    (c) => {
      const { limit, ...filter } = c.req.valid("query");
      return c.json({ groups: store.alertGroups(alertFilter(filter), limit) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/alerts/export`,
      summary: "The filtered alert log as CSV or JSON (a download)",
      request: {
        query: AlertFilterQuery.extend({ format: z.enum(["csv", "json"]).default("csv") }),
      },
      responses: {
        200: {
          description: "CSV (one row per alert) or a JSON array of alerts with their EVE records",
          content: {
            "text/csv": { schema: z.string() },
            "application/json": { schema: z.string() },
          },
        },
        ...errors,
      },
    }),
    (c) => {
      const { format, ...filter } = c.req.valid("query");
      const rows = store.iterateAlerts(alertFilter(filter), MAX_EXPORT_ROWS);
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const body = format === "csv" ? csvStream(rows) : jsonStream(rows);
      return new Response(body, {
        headers: {
          "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/json",
          "content-disposition": `attachment; filename="alerts-${stamp}.${format}"`,
        },
      }) as never;
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/alerts/{id}`,
      summary: "One alert with its EVE record",
      request: { params: IdParam },
      responses: {
        200: {
          description: "The alert",
          content: { "application/json": { schema: AlertDetailSchema } },
        },
        ...errors,
      },
    }),
    (c) => {
      const alert = store.getAlert(Number(c.req.valid("param").id));
      if (!alert) throw new ProblemError(404, "no such alert");
      return c.json(alert as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/alerts/{id}/evidence.pcap`,
      summary: "The evidence capture of an alert: the alerted hosts' packets the sensor still held",
      request: { params: IdParam },
      responses: {
        200: {
          description: "A classic pcap file",
          content: {
            "application/vnd.tcpdump.pcap": { schema: z.string().openapi({ format: "binary" }) },
          },
        },
        ...errors,
      },
    }),
    (c) => {
      const id = Number(c.req.valid("param").id);
      const pcap = store.evidence(id);
      if (!pcap) {
        throw new ProblemError(
          404,
          store.getAlert(id) ? "this alert has no evidence capture" : "no such alert",
        );
      }
      return new Response(pcap as Uint8Array<ArrayBuffer>, {
        headers: {
          "content-type": "application/vnd.tcpdump.pcap",
          "content-disposition": `attachment; filename="alert-${id}.pcap"`,
        },
      }) as never;
    },
  );

  for (const [action, status] of [["ack", "acknowledged"], ["escalate", "escalated"]] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `${API}/alerts/{id}/${action}`,
        summary: action === "ack" ? "Acknowledge an alert" : "Escalate an alert",
        request: { params: IdParam },
        responses: {
          200: {
            description: "New state",
            content: { "application/json": { schema: TriageSchema } },
          },
          ...errors,
        },
      }),
      (c) => {
        const id = Number(c.req.valid("param").id);
        const now = new Date();
        if (!store.setStatus(id, status, now)) throw new ProblemError(404, "no such alert");
        return c.json({ id, status, status_at: now.toISOString() }, 200);
      },
    );
  }

  // ---- suppressions ----
  const withActive = (s: Suppression) => ({
    ...s,
    active: s.expires_at === null || s.expires_at > new Date().toISOString(),
  });
  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/suppressions`,
      summary: "Suppressions (active and expired)",
      responses: {
        200: {
          description: "Every suppression, newest first",
          content: {
            "application/json": { schema: z.object({ suppressions: z.array(SuppressionSchema) }) },
          },
        },
        ...errors,
      },
    }),
    (c) => c.json({ suppressions: store.suppressions().map(withActive) }, 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: `${API}/suppressions`,
      summary: "Suppress alerts by class, source and/or target, optionally until an expiry",
      request: {
        body: {
          content: { "application/json": { schema: SuppressionCreateSchema } },
          required: true,
        },
      },
      responses: {
        201: {
          description: "Created",
          content: { "application/json": { schema: SuppressionSchema } },
        },
        ...errors,
      },
    }),
    (c) => {
      const body = c.req.valid("json");
      const expires = body.expires_at
        ? new Date(body.expires_at).toISOString()
        : body.expires_in_seconds
        ? new Date(Date.now() + body.expires_in_seconds * 1000).toISOString()
        : null;
      const created = store.addSuppression({ ...body, expires_at: expires });
      return c.json(withActive(created), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: `${API}/suppressions/{id}`,
      summary: "Delete a suppression",
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...errors },
    }),
    (c) => {
      if (!store.deleteSuppression(Number(c.req.valid("param").id))) {
        throw new ProblemError(404, "no such suppression");
      }
      return c.body(null, 204);
    },
  );

  // ---- stats, model, events ----
  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/stats`,
      summary: "Alert totals, the sensors' last status, recent per-minute traffic",
      responses: {
        200: { description: "Figures", content: { "application/json": { schema: StatsSchema } } },
        ...errors,
      },
    }),
    (c) =>
      c.json({
        ...store.stats(),
        sensors: store.sensorStatuses(),
        traffic: store.recentTraffic(60) as never,
        server: {
          started_at: startedAt.toISOString(),
          uptime_seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
          live_feed: feed.stats(),
          jobs: jobs.counts(),
        },
      } as never, 200),
  );

  let modelSummary: Promise<unknown> | null = null;
  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/model`,
      summary: "The model bundle: feature set, models, classes, thresholds, training",
      responses: {
        200: {
          description: "The bundle",
          content: { "application/json": { schema: ModelSchema } },
        },
        ...errors,
      },
    }),
    async (c) => {
      modelSummary ??= summariseBundle(options.modelDir).catch((error) => {
        modelSummary = null;
        throw new ProblemError(503, `cannot read the model bundle: ${error.message}`);
      });
      return c.json(await modelSummary as never, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/events`,
      summary: "Server-sent events: `alert` (id = alert id; Last-Event-ID resumes) and `status`",
      request: {
        query: z.object({
          after: z.coerce.number().int().min(0).optional().openapi({
            description: "send alerts after this id first (as Last-Event-ID does)",
          }),
        }),
      },
      responses: {
        200: {
          description: "An event stream",
          content: { "text/event-stream": { schema: z.string() } },
        },
        ...errors,
      },
    }),
    (c) => {
      const lastEventId = c.req.header("last-event-id");
      const fromHeader = lastEventId && /^\d+$/.test(lastEventId) ? Number(lastEventId) : undefined;
      const stream = feed.connect(fromHeader ?? c.req.valid("query").after);
      return new Response(stream, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          "x-accel-buffering": "no",
        },
      }) as never;
    },
  );

  // ---- uploads and jobs ----
  app.openapi(
    createRoute({
      method: "post",
      path: `${API}/analyze`,
      summary: "Upload a pcap or pcapng capture (multipart field `file`): analysed like `analyze`",
      request: {
        body: {
          content: { "multipart/form-data": { schema: CaptureUploadSchema } },
          required: true,
        },
      },
      responses: {
        202: { description: "Job queued", content: { "application/json": { schema: JobSchema } } },
        ...errors,
        413: { description: "Too large", content: problemContent },
        415: { description: "Not a capture", content: problemContent },
      },
    }),
    async (c) => {
      const file = uploadedFile(c.req.valid("form").file);
      return c.json(await jobs.submitCapture(file) as never, 202);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: `${API}/predict`,
      summary: "Upload a CSV of CIC flows or NSL-KDD records (multipart `file`, `format`)",
      request: {
        body: { content: { "multipart/form-data": { schema: CsvUploadSchema } }, required: true },
      },
      responses: {
        202: { description: "Job queued", content: { "application/json": { schema: JobSchema } } },
        ...errors,
        413: { description: "Too large", content: problemContent },
      },
    }),
    async (c) => {
      const form = c.req.valid("form");
      const file = uploadedFile(form.file);
      return c.json(await jobs.submitCsv(file, form.format) as never, 202);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/jobs`,
      summary: "Upload jobs, newest first",
      responses: {
        200: {
          description: "Jobs",
          content: { "application/json": { schema: z.object({ jobs: z.array(JobSchema) }) } },
        },
        ...errors,
      },
    }),
    (c) => c.json({ jobs: jobs.list() } as never, 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/jobs/{id}`,
      summary: "A job's status and results: its alerts (analyze) or predictions (predict)",
      request: {
        params: JobIdParam,
        query: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(1000) }),
      },
      responses: {
        200: {
          description: "The job",
          content: { "application/json": { schema: JobResultSchema } },
        },
        ...errors,
      },
    }),
    (c) => {
      const job = jobs.get(c.req.valid("param").id);
      if (!job) throw new ProblemError(404, "no such job");
      const { limit } = c.req.valid("query");
      if (job.kind === "analyze") {
        const alerts: AlertRow[] = job.state === "done"
          ? store.listAlerts({ source: job.source }, { limit }).alerts
          : [];
        return c.json({ ...job, alerts } as never, 200);
      }
      const predictions = jobs.predictions(job.id);
      return c.json(
        {
          ...job,
          predictions: predictions?.slice(0, limit) ?? [],
          predictions_total: predictions?.rows ?? 0,
        } as never,
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: `${API}/jobs/{id}/predictions.csv`,
      summary: "A predict job's predictions as CSV",
      request: { params: JobIdParam },
      responses: {
        200: { description: "CSV", content: { "text/csv": { schema: z.string() } } },
        ...errors,
      },
    }),
    (c) => {
      const id = c.req.valid("param").id;
      const predictions = jobs.predictions(id);
      if (!predictions) throw new ProblemError(404, "no predictions for this job (yet)");
      return new Response(predictionsCsv(predictions), {
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="predictions-${id}.csv"`,
        },
      }) as never;
    },
  );

  app.doc31(`${API}/openapi.json`, {
    openapi: "3.1.0",
    info: {
      title: "ids-sensor console API",
      version: "1",
      description:
        "Alerts, triage, suppressions, uploads and live events of an ids-sensor store. " +
        "Every endpoint needs `Authorization: Bearer TOKEN`. Errors are application/problem+json.",
    },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
  });
  return app;
}

function tooLarge(limit: number): Response {
  return problemResponse(413, `the request body is larger than ${limit} bytes`);
}

function uploadedFile(value: unknown): File {
  if (!(value instanceof File)) {
    throw new UploadError(400, "the multipart field `file` must be a file upload");
  }
  return value;
}

async function loginPage(c: Context, status: number, message = ""): Promise<Response> {
  const nonce = crypto.randomUUID().replace(/-/g, "");
  const html = new TextDecoder().decode(await readAsset(LOGIN_HTML))
    .replaceAll("{{nonce}}", nonce)
    .replace("{{message}}", message);
  return c.html(html, status as 200, {
    "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; ` +
      `style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'`,
    "cache-control": "no-store",
  });
}

/** The model bundle's JSON, reduced to what an operator looks at. */
async function summariseBundle(dir: string): Promise<unknown> {
  const json = JSON.parse(await Deno.readTextFile(`${dir}/bundle.json`));
  return {
    dir,
    feature_set: { name: json.featureSet?.name, version: json.featureSet?.version },
    input: json.input,
    created_at: json.createdAt,
    models: (json.models ?? []).map((m: Record<string, unknown>) => {
      const training = (m.training ?? {}) as Record<string, unknown>;
      return {
        name: m.name,
        role: m.role,
        file: m.file,
        class_names: m.classNames,
        benign_class: m.benignClass,
        class_thresholds: m.classThresholds,
        threshold: m.threshold,
        strong_threshold: m.strongThreshold,
        target_fpr: m.targetFpr,
        training: {
          data_source: training.dataSource,
          rows: training.rows,
          class_counts: training.classCounts,
          date: training.date,
          metrics: training.metrics,
        },
      };
    }),
  };
}

const CSV_COLUMNS: (keyof AlertRow)[] = [
  "id",
  "timestamp",
  "src_ip",
  "src_port",
  "dest_ip",
  "dest_port",
  "proto",
  "community_id",
  "verdict",
  "class",
  "name",
  "score",
  "threshold",
  "model",
  "severity",
  "count",
  "source",
  "sensor",
  "status",
  "status_at",
  "evidence_bytes",
];

/** One CSV cell: quoted when needed; text that a spreadsheet would run as a formula is defused. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return String(value);
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csvStream(rows: Iterable<AlertRow>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = rows[Symbol.iterator]();
  let headerSent = false;
  return new ReadableStream({
    pull(controller) {
      const lines: string[] = [];
      if (!headerSent) {
        lines.push(CSV_COLUMNS.join(","));
        headerSent = true;
      }
      for (let k = 0; k < 2000; k++) {
        const next = iterator.next();
        if (next.done) {
          if (lines.length) controller.enqueue(encoder.encode(lines.join("\n") + "\n"));
          controller.close();
          return;
        }
        lines.push(CSV_COLUMNS.map((c) => csvCell(next.value[c])).join(","));
      }
      controller.enqueue(encoder.encode(lines.join("\n") + "\n"));
    },
  });
}

function jsonStream(rows: Iterable<AlertRow & { eve?: string }>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = rows[Symbol.iterator]();
  let first = true;
  return new ReadableStream({
    pull(controller) {
      const parts: string[] = [];
      for (let k = 0; k < 1000; k++) {
        const next = iterator.next();
        if (next.done) {
          parts.push(first ? "[]\n" : "\n]\n");
          controller.enqueue(encoder.encode(parts.join("")));
          controller.close();
          return;
        }
        const { eve, ...row } = next.value;
        parts.push(
          `${first ? "[\n" : ",\n"}${
            JSON.stringify({ ...row, eve: eve ? JSON.parse(eve) : null })
          }`,
        );
        first = false;
      }
      controller.enqueue(encoder.encode(parts.join("")));
    },
  });
}

function predictionsCsv(table: PredictionTable): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      const lines: string[] = next === 0 ? ["row,verdict,class,score,threshold,label"] : [];
      const to = Math.min(table.rows, next + 5000);
      for (const p of table.slice(next, to)) {
        lines.push(
          [p.row, p.verdict, p.class, p.score, p.threshold, p.label ?? ""].map(csvCell).join(","),
        );
      }
      next = to;
      if (lines.length > 0) controller.enqueue(encoder.encode(lines.join("\n") + "\n"));
      if (next >= table.rows) controller.close();
    },
  });
}
