/**
 * The publisher's on-disk buffer: messages NATS did not take yet, in order,
 * surviving a restart of the sensor. Messages are kept in segments (one file
 * per batch, JSON lines, written to a temporary name then renamed, so a crash
 * never leaves half a segment). Bounded by bytes: when full, the oldest
 * segments go first and their messages are counted as dropped (the count
 * survives restarts).
 */
import { join } from "node:path";

/** One message waiting for NATS. */
export interface BufferedMessage {
  subject: string;
  /** JetStream de-duplication id (Nats-Msg-Id). */
  id: string;
  /** The JSON payload. */
  data: string;
}

/** One segment: a batch of messages written together. */
export interface BufferSegment {
  seq: number;
  messages: BufferedMessage[];
}

/** Options of {@link openDiskBuffer}. */
export interface DiskBufferOptions {
  /** Most bytes kept on disk (default 256 MiB). */
  maxBytes?: number;
}

/** An ordered, bounded, persistent queue of message batches. */
export interface DiskBuffer {
  readonly dir: string;
  /** Messages waiting, counting appends still being written. */
  readonly size: number;
  /** Bytes on disk. */
  readonly bytes: number;
  /** Messages discarded (oldest first) because the buffer was full, ever. */
  readonly dropped: number;
  /** Adds messages at the end. */
  append(messages: readonly BufferedMessage[]): Promise<void>;
  /** Puts messages at the front (they were older than everything here). */
  prepend(messages: readonly BufferedMessage[]): Promise<void>;
  /** The oldest segment, or null when empty. */
  peek(): Promise<BufferSegment | null>;
  /** Removes segment `seq` (published), or replaces it with the messages still to send. */
  settle(seq: number, remaining?: readonly BufferedMessage[]): Promise<void>;
}

const NAME = /^(\d{16})\.jsonl$/;
const DROPPED_FILE = "dropped.count";
// Sequence numbers start mid-range so that prepend always has room below the head.
const START = 1e15;

/** Opens (creating) the buffer folder `dir` and indexes what an earlier run left there. */
export async function openDiskBuffer(
  dir: string,
  options: DiskBufferOptions = {},
): Promise<DiskBuffer> {
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  if (!(maxBytes >= 1024)) throw new RangeError("the disk buffer needs at least 1 KiB");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (seq: number) => join(dir, `${String(seq).padStart(16, "0")}.jsonl`);
  // seq -> bytes and messages of that segment, in order.
  const segments = new Map<number, { bytes: number; messages: number }>();
  const seqs: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? NAME.exec(entry.name) : null;
    if (match) seqs.push(Number(match[1]));
    else if (entry.name.endsWith(".tmp")) await Deno.remove(join(dir, entry.name));
  }
  seqs.sort((a, b) => a - b);
  let size = 0;
  let bytes = 0;
  for (const seq of seqs) {
    const text = await Deno.readTextFile(path(seq));
    const messages = text.split("\n").filter(Boolean).length;
    const length = new TextEncoder().encode(text).length;
    segments.set(seq, { bytes: length, messages });
    size += messages;
    bytes += length;
  }
  let dropped = 0;
  try {
    dropped = Number(await Deno.readTextFile(join(dir, DROPPED_FILE))) || 0;
  } catch { /* first run */ }
  let pending = 0;

  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = chain.then(step);
    chain = next.catch(() => {});
    return next;
  };
  const encoder = new TextEncoder();

  async function write(seq: number, messages: readonly BufferedMessage[]) {
    const data = encoder.encode(messages.map((m) => JSON.stringify(m)).join("\n") + "\n");
    const tmp = `${path(seq)}.tmp`;
    await Deno.writeFile(tmp, data, { mode: 0o600 });
    await Deno.rename(tmp, path(seq));
    segments.set(seq, { bytes: data.length, messages: messages.length });
    size += messages.length;
    bytes += data.length;
  }
  async function removeSegment(seq: number) {
    const info = segments.get(seq);
    if (!info) return;
    await Deno.remove(path(seq)).catch(() => {});
    segments.delete(seq);
    seqs.splice(seqs.indexOf(seq), 1);
    size -= info.messages;
    bytes -= info.bytes;
  }
  async function trim() {
    let removed = 0;
    // Oldest first; the newest segment always stays (a single batch larger than the bound is kept).
    while (bytes > maxBytes && seqs.length > 1) {
      const seq = seqs[0];
      removed += segments.get(seq)?.messages ?? 0;
      await removeSegment(seq);
    }
    if (removed > 0) {
      dropped += removed;
      await Deno.writeTextFile(join(dir, DROPPED_FILE), String(dropped));
    }
  }
  return {
    dir,
    get size() {
      return size + pending;
    },
    get bytes() {
      return bytes;
    },
    get dropped() {
      return dropped;
    },
    append(messages) {
      if (messages.length === 0) return Promise.resolve();
      pending += messages.length;
      return serial(async () => {
        try {
          const seq = seqs.length ? seqs[seqs.length - 1] + 1 : START;
          seqs.push(seq);
          await write(seq, messages);
          await trim();
        } finally {
          pending -= messages.length;
        }
      });
    },
    prepend(messages) {
      if (messages.length === 0) return Promise.resolve();
      pending += messages.length;
      return serial(async () => {
        try {
          const seq = seqs.length ? seqs[0] - 1 : START;
          seqs.unshift(seq);
          await write(seq, messages);
          await trim();
        } finally {
          pending -= messages.length;
        }
      });
    },
    peek() {
      return serial(async () => {
        const seq = seqs[0];
        if (seq === undefined) return null;
        const text = await Deno.readTextFile(path(seq));
        const messages = text.split("\n").filter(Boolean).map((line) =>
          JSON.parse(line) as BufferedMessage
        );
        return { seq, messages };
      });
    },
    settle(seq, remaining = []) {
      return serial(async () => {
        if (!segments.has(seq)) return;
        if (remaining.length === 0) {
          await removeSegment(seq);
          return;
        }
        const info = segments.get(seq)!;
        size -= info.messages;
        bytes -= info.bytes;
        await write(seq, remaining);
      });
    },
  };
}
