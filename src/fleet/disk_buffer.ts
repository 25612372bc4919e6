/**
 * The publisher's on-disk buffer: messages NATS did not take yet, in order,
 * surviving a restart of the sensor, bounded by bytes (oldest dropped and
 * counted). A disk queue (src/disk_queue) of messages, one segment per batch.
 */
import { type DiskQueue, openDiskQueue } from "../disk_queue/mod.ts";

/** One message waiting for NATS. */
export interface BufferedMessage {
  subject: string;
  /** JetStream de-duplication id (Nats-Msg-Id). */
  id: string;
  /** The JSON payload. */
  data: string;
}

/** Options of {@link openDiskBuffer}. */
export interface DiskBufferOptions {
  /** Most bytes kept on disk (default 256 MiB). */
  maxBytes?: number;
}

/** An ordered, bounded, persistent queue of message batches. */
export type DiskBuffer = DiskQueue<BufferedMessage>;

/** Opens (creating) the buffer folder `dir` and indexes what an earlier run left there. */
export function openDiskBuffer(dir: string, options: DiskBufferOptions = {}): Promise<DiskBuffer> {
  return openDiskQueue<BufferedMessage>(dir, { maxBytes: options.maxBytes ?? 256 * 1024 * 1024 });
}
