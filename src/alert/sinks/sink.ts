/**
 * The sink contract: where alerts and per-minute traffic statistics go. Sinks
 * buffer; `flush` makes everything written so far durable and `close` flushes
 * and releases the sink, so a SIGINT/SIGTERM handler that awaits `close` loses
 * nothing.
 */
import type { Alert } from "../schema.ts";

/** Traffic of one minute (by flow end time), as the detector counts it. */
export interface TrafficMinute {
  /** Start of the minute, milliseconds since the epoch. */
  minuteMs: number;
  flows: number;
  packets: number;
  bytes: number;
  benignFlows: number;
  knownFlows: number;
  unknownFlows: number;
  /** Alert lines emitted whose timestamp falls in this minute. */
  alerts: number;
}

/** A destination for alerts. */
export interface AlertSink {
  /** Short name for messages ("console", "jsonl", "sqlite"). */
  readonly name: string;
  /** Queues alerts; may write when its buffer is full. */
  write(alerts: readonly Alert[]): void | Promise<void>;
  /** Queues traffic statistics; sinks that keep none ignore them. */
  writeTraffic?(minutes: readonly TrafficMinute[]): void | Promise<void>;
  /** Writes everything queued. */
  flush(): Promise<void>;
  /** Flushes and releases files and handles; later writes throw. */
  close(): Promise<void>;
}
