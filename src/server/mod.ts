/**
 * The operator console: a Hono application on `Deno.serve` with the
 * dashboard, the REST API under `/api/v1` (OpenAPI 3.1 at
 * `/api/v1/openapi.json`), server-sent events and upload jobs, over the
 * SQLite store a sensor writes.
 *
 * ```ts
 * import { startConsole } from "./mod.ts";
 * const console = await startConsole({ dbPath: "ids.sqlite", modelDir: "models/default" });
 * // ... later
 * await console.shutdown();
 * ```
 */
export { type ConsoleOptions, parseListen, type RunningConsole, startConsole } from "./serve.ts";
export { type ConsoleAppOptions, COOKIE_NAME, createConsoleApp, csvCell } from "./app.ts";
export { LiveFeed, type LiveFeedOptions, sseEvent } from "./live_feed.ts";
export {
  captureFormatOf,
  type Job,
  JobRunner,
  type JobRunnerOptions,
  type JobState,
  type Prediction,
  PredictionTable,
  safeName,
  UploadError,
} from "./jobs.ts";
export { type ConsoleToken, loadOrCreateToken, sameToken } from "./token.ts";
export { type Problem, ProblemError, problemResponse } from "./problem.ts";
export { DASHBOARD_FILES } from "./assets.ts";
export {
  type InterfaceCounters,
  openSensorLink,
  type SensorLink,
  type SensorLinkOptions,
} from "./sensor_link.ts";
