/**
 * JSONL sink: one EVE-style JSON object per line, appended to a file. Lines
 * are buffered and written in one call: on the next tick after `write` (so a
 * live alert reaches the file at once, and the lines of one burst still go
 * out together), by count, or on `flush`.
 */
import type { AlertSink } from "./sink.ts";

/** Options of the JSONL sink. */
export interface JsonlSinkOptions {
  /** Buffered lines that trigger a write (default 1000). */
  maxBufferedLines?: number;
  /** Truncate instead of appending (default false: append, like eve.json). */
  truncate?: boolean;
}

/** Opens (creating if needed) `path` and returns a sink appending to it. */
export async function createJsonlSink(
  path: string,
  options: JsonlSinkOptions = {},
): Promise<AlertSink> {
  const file = await Deno.open(path, {
    create: true,
    write: true,
    append: !options.truncate,
    truncate: options.truncate ?? false,
  });
  const maxLines = options.maxBufferedLines ?? 1000;
  const encoder = new TextEncoder();
  let lines: string[] = [];
  let closed = false;
  // Writes are chained so two flushes never interleave their bytes.
  let pending: Promise<void> = Promise.resolve();
  let soon: ReturnType<typeof setTimeout> | undefined;

  function writeOut(): Promise<void> {
    clearTimeout(soon);
    soon = undefined;
    if (lines.length === 0) return pending;
    const bytes = encoder.encode(lines.join("\n") + "\n");
    lines = [];
    pending = pending.then(async () => {
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    });
    return pending;
  }

  return {
    name: "jsonl",
    write(alerts) {
      if (closed) throw new Error(`jsonl sink ${path} is closed`);
      for (const a of alerts) lines.push(JSON.stringify(a));
      if (lines.length >= maxLines) return writeOut();
      // A failed write rejects `pending`, which the next flush or close reports.
      soon ??= setTimeout(() => writeOut().catch(() => {}), 0);
    },
    async flush() {
      await writeOut();
    },
    async close() {
      if (closed) return;
      closed = true;
      await writeOut();
      await file.syncData();
      file.close();
    },
  };
}

/** Reads a JSONL alert file back (for tests and tools); blank lines are skipped. */
export async function readJsonlAlerts(path: string): Promise<unknown[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}
