/**
 * The on-disk spool of one notification target: messages a target did not
 * take, kept in order until it comes back. One file per message, named by a
 * sequence number (written to a temporary name, then renamed, so a crash
 * never leaves half a message). Bounded: when full, the oldest messages go
 * first and are counted, and the count survives restarts.
 */
import { join } from "node:path";
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

const NAME = /^(\d{16})\.json$/;
const DROPPED_FILE = "dropped.count";

/** Opens (creating) the spool folder `dir` and indexes what a previous run left there. */
export async function openSpool(dir: string, options: SpoolOptions = {}): Promise<Spool> {
  const maxMessages = options.maxMessages ?? 10_000;
  if (!(maxMessages >= 1)) throw new RangeError(`spool maxMessages must be >= 1`);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const seqs: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? NAME.exec(entry.name) : null;
    if (match) seqs.push(Number(match[1]));
    else if (entry.name.endsWith(".tmp")) await Deno.remove(join(dir, entry.name));
  }
  seqs.sort((a, b) => a - b);
  let dropped = 0;
  try {
    dropped = Number(await Deno.readTextFile(join(dir, DROPPED_FILE))) || 0;
  } catch { /* first run */ }
  // Sequence numbers start mid-range so that prepend always has room below the head.
  const START = 1e15;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = chain.then(step);
    chain = next.catch(() => {});
    return next;
  };
  const path = (seq: number) => join(dir, `${String(seq).padStart(16, "0")}.json`);
  async function writeMessage(seq: number, message: NotifyMessage) {
    const tmp = `${path(seq)}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(message));
    await Deno.rename(tmp, path(seq));
  }
  async function trim() {
    let removed = 0;
    while (seqs.length > maxMessages) {
      const seq = seqs.shift()!;
      await Deno.remove(path(seq)).catch(() => {});
      removed++;
    }
    if (removed > 0) {
      dropped += removed;
      await Deno.writeTextFile(join(dir, DROPPED_FILE), String(dropped));
    }
  }
  return {
    dir,
    get size() {
      return seqs.length;
    },
    get dropped() {
      return dropped;
    },
    append(messages) {
      return serial(async () => {
        for (const message of messages) {
          const seq = seqs.length ? seqs[seqs.length - 1] + 1 : START;
          await writeMessage(seq, message);
          seqs.push(seq);
        }
        await trim();
      });
    },
    prepend(message) {
      return serial(async () => {
        const seq = seqs.length ? seqs[0] - 1 : START;
        await writeMessage(seq, message);
        seqs.unshift(seq);
        await trim();
      });
    },
    peek() {
      return serial(async () => {
        while (seqs.length > 0) {
          try {
            return JSON.parse(await Deno.readTextFile(path(seqs[0]))) as NotifyMessage;
          } catch (error) {
            // A file someone removed or damaged by hand: count it, go on with the next.
            if (!(error instanceof Deno.errors.NotFound || error instanceof SyntaxError)) {
              throw error;
            }
            seqs.shift();
            dropped++;
          }
        }
        return null;
      });
    },
    shift() {
      return serial(async () => {
        const seq = seqs.shift();
        if (seq !== undefined) await Deno.remove(path(seq)).catch(() => {});
      });
    },
  };
}
