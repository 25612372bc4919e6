/**
 * A bounded, ordered, persistent queue of JSON records on disk, for
 * whatever must wait for a peer that is away (the fleet publisher's buffer
 * while NATS is unreachable, a notification target's spool). Records are
 * kept in segments: one file per append (JSON lines, named by a sequence
 * number, written to a temporary name then renamed, so a crash never leaves
 * half a segment). Bounded by bytes and by records: when full, the oldest
 * segments go first and their records are counted as dropped; the count
 * survives restarts. A segment damaged or removed by hand is skipped and
 * its records counted as dropped too.
 */
import { join } from "node:path";

/** One segment: the records of one append, oldest first. */
export interface QueueSegment<T> {
  seq: number;
  records: T[];
}

/** Bounds of {@link openDiskQueue}; past either, the oldest segments are dropped. */
export interface DiskQueueOptions {
  /** Most bytes kept on disk (default: no bound; at least 1 KiB). */
  maxBytes?: number;
  /** Most records kept (default: no bound). */
  maxRecords?: number;
}

/** An ordered, bounded, persistent queue of record batches. */
export interface DiskQueue<T> {
  readonly dir: string;
  /** Records waiting, counting appends still being written. */
  readonly size: number;
  /** Bytes on disk. */
  readonly bytes: number;
  /** Records discarded because the queue was full or their segment was damaged, ever. */
  readonly dropped: number;
  /** Adds records at the end, as one segment. */
  append(records: readonly T[]): Promise<void>;
  /** Puts records at the front, as one segment (they were older than everything here). */
  prepend(records: readonly T[]): Promise<void>;
  /** The oldest segment, or null when empty. */
  peek(): Promise<QueueSegment<T> | null>;
  /** Removes segment `seq` (delivered), or replaces it with the records still to deliver. */
  settle(seq: number, remaining?: readonly T[]): Promise<void>;
}

const NAME = /^(\d{16})\.jsonl$/;
const DROPPED_FILE = "dropped.count";
// Sequence numbers start mid-range so that prepend always has room below the head.
const START = 1e15;

/**
 * Records waiting in queue folder `dir`, read without opening it (nothing
 * is changed); 0 when there is no such folder.
 */
export async function countQueued(dir: string): Promise<number> {
  let count = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !NAME.test(entry.name)) continue;
      const text = await Deno.readTextFile(join(dir, entry.name)).catch(() => "");
      count += text.split("\n").filter(Boolean).length;
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return count;
}

/** Opens (creating) the queue folder `dir` and indexes what an earlier run left there. */
export async function openDiskQueue<T>(
  dir: string,
  options: DiskQueueOptions = {},
): Promise<DiskQueue<T>> {
  const maxBytes = options.maxBytes ?? Infinity;
  const maxRecords = options.maxRecords ?? Infinity;
  if (!(maxBytes >= 1024)) throw new RangeError("a disk queue needs at least 1 KiB");
  if (!(maxRecords >= 1)) throw new RangeError("a disk queue needs room for at least 1 record");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = (seq: number) => join(dir, `${String(seq).padStart(16, "0")}.jsonl`);
  // seq -> bytes and records of that segment; seqs in order.
  const segments = new Map<number, { bytes: number; records: number }>();
  const seqs: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = entry.isFile ? NAME.exec(entry.name) : null;
    if (match) seqs.push(Number(match[1]));
    else if (entry.name.endsWith(".tmp")) await Deno.remove(join(dir, entry.name));
  }
  seqs.sort((a, b) => a - b);
  const encoder = new TextEncoder();
  let size = 0;
  let bytes = 0;
  for (const seq of seqs) {
    const text = await Deno.readTextFile(path(seq));
    const records = text.split("\n").filter(Boolean).length;
    const length = encoder.encode(text).length;
    segments.set(seq, { bytes: length, records });
    size += records;
    bytes += length;
  }
  let dropped = 0;
  try {
    dropped = Number(await Deno.readTextFile(join(dir, DROPPED_FILE))) || 0;
  } catch { /* first run */ }
  let pending = 0;

  let chain: Promise<unknown> = Promise.resolve();
  const serial = <R>(step: () => Promise<R>): Promise<R> => {
    const next = chain.then(step);
    chain = next.catch(() => {});
    return next;
  };

  async function write(seq: number, records: readonly T[]) {
    const data = encoder.encode(records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const tmp = `${path(seq)}.tmp`;
    await Deno.writeFile(tmp, data, { mode: 0o600 });
    await Deno.rename(tmp, path(seq));
    segments.set(seq, { bytes: data.length, records: records.length });
    size += records.length;
    bytes += data.length;
  }
  async function removeSegment(seq: number) {
    const info = segments.get(seq);
    if (!info) return;
    await Deno.remove(path(seq)).catch(() => {});
    segments.delete(seq);
    seqs.splice(seqs.indexOf(seq), 1);
    size -= info.records;
    bytes -= info.bytes;
  }
  async function countDropped(records: number) {
    if (records === 0) return;
    dropped += records;
    await Deno.writeTextFile(join(dir, DROPPED_FILE), String(dropped));
  }
  async function trim() {
    let removed = 0;
    // Oldest first; the newest segment always stays (one batch past the bound is kept).
    while ((bytes > maxBytes || size > maxRecords) && seqs.length > 1) {
      const seq = seqs[0];
      removed += segments.get(seq)?.records ?? 0;
      await removeSegment(seq);
    }
    await countDropped(removed);
  }
  function add(records: readonly T[], at: "front" | "back"): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    pending += records.length;
    return serial(async () => {
      try {
        let seq: number;
        if (at === "back") {
          seq = seqs.length ? seqs[seqs.length - 1] + 1 : START;
          seqs.push(seq);
        } else {
          seq = seqs.length ? seqs[0] - 1 : START;
          seqs.unshift(seq);
        }
        await write(seq, records);
        await trim();
      } finally {
        pending -= records.length;
      }
    });
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
    append: (records) => add(records, "back"),
    prepend: (records) => add(records, "front"),
    peek() {
      return serial(async () => {
        while (seqs.length > 0) {
          const seq = seqs[0];
          const expected = segments.get(seq)?.records ?? 0;
          let text: string;
          try {
            text = await Deno.readTextFile(path(seq));
          } catch (error) {
            if (!(error instanceof Deno.errors.NotFound)) throw error;
            // Removed by hand: count its records, go on with the next.
            await removeSegment(seq);
            await countDropped(expected);
            continue;
          }
          const records: T[] = [];
          for (const line of text.split("\n")) {
            if (!line) continue;
            try {
              records.push(JSON.parse(line) as T);
            } catch { /* a damaged line: counted below */ }
          }
          if (records.length === 0) {
            await removeSegment(seq);
            await countDropped(expected);
            continue;
          }
          if (records.length < expected) {
            // Damaged lines: counted once, the segment rewritten with the good ones.
            const info = segments.get(seq)!;
            size -= info.records;
            bytes -= info.bytes;
            await write(seq, records);
            await countDropped(expected - records.length);
          }
          return { seq, records };
        }
        return null;
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
        size -= info.records;
        bytes -= info.bytes;
        await write(seq, remaining);
      });
    },
  };
}
