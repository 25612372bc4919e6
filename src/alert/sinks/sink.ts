/**
 * The sink contract: where alerts and per-minute traffic statistics go. Sinks
 * buffer; `flush` makes everything written so far durable and `close` flushes
 * and releases the sink, so a SIGINT/SIGTERM handler that awaits `close` loses
 * nothing.
 */
import type { Alert } from "../schema.ts";
import type { StoredTrafficMinute as TrafficMinute } from "../../store/mod.ts";

/** Traffic of one minute (by flow end time): the store's record, one definition for both. */
export type { TrafficMinute };

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
