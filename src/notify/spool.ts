/**
 * The on-disk spool of one notification target: messages a target did not
 * take, kept in order until it comes back, bounded by a message count
 * (oldest dropped and counted, across restarts). A disk queue
 * (src/disk_queue) with one message per segment, so the bound and the
 * drops are exact per message.
 */
import { join } from "node:path";
import { countQueued, openDiskQueue } from "../disk_queue/mod.ts";
import type { NotifyMessage } from "./message.ts";

/** Options of a spool. */
export interface SpoolOptions {
  /** Most messages kept (default 10 000). */
  maxMessages?: number;
}

/** An ordered, bounded, persistent queue of messages. */
export interface Spool {
  readonly dir: string;
  /** Messages waiting. */
  readonly size: number;
  /** Messages discarded (oldest first) because the spool was full, ever. */
  readonly dropped: number;
  /** Adds messages at the end (newest). */
  append(messages: readonly NotifyMessage[]): Promise<void>;
  /** Puts a message back at the front (it was the oldest and its send failed). */
  prepend(message: NotifyMessage): Promise<void>;
  /** The oldest message, or null. */
  peek(): Promise<NotifyMessage | null>;
  /** Removes the oldest message (after it was delivered). */
  shift(): Promise<void>;
}

/** Spool files before the shared disk queue: one JSON object per `<seq>.json`. */
const LEGACY_NAME = /^(\d{16})\.json$/;

/** Opens (creating) the spool folder `dir` and indexes what a previous run left there. */
export async function openSpool(dir: string, options: SpoolOptions = {}): Promise<Spool> {
  const maxMessages = options.maxMessages ?? 10_000;
  if (!(maxMessages >= 1)) throw new RangeError(`spool maxMessages must be >= 1`);
  // A spool written by an older version: each file is one JSON line already; rename it in.
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && LEGACY_NAME.test(entry.name)) {
        await Deno.rename(join(dir, entry.name), join(dir, `${entry.name}l`));
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const queue = await openDiskQueue<NotifyMessage>(dir, { maxRecords: maxMessages });
  return {
    dir,
    get size() {
      return queue.size;
    },
    get dropped() {
      return queue.dropped;
    },
    async append(messages) {
      for (const message of messages) await queue.append([message]);
    },
    prepend: (message) => queue.prepend([message]),
    async peek() {
      return (await queue.peek())?.records[0] ?? null;
    },
    async shift() {
      const head = await queue.peek();
      if (head) await queue.settle(head.seq, head.records.slice(1));
    },
  };
}

/** Messages waiting in spool folder `dir`, without opening it (nothing is changed). */
export async function countSpooled(dir: string): Promise<number> {
  let legacy = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && LEGACY_NAME.test(entry.name)) legacy++;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return legacy + await countQueued(dir);
}
