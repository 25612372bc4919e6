/** Alert sinks: console, JSONL file, SQLite; all buffered, all flushed on close. */
export type { AlertSink, TrafficMinute } from "./sink.ts";
export { type ConsoleSinkOptions, createConsoleSink, formatAlertLine } from "./console.ts";
export { createJsonlSink, type JsonlSinkOptions, readJsonlAlerts } from "./jsonl.ts";
export { createSqliteSink, type SqliteSinkOptions } from "./sqlite.ts";
export { closeOnSignals } from "./shutdown.ts";
