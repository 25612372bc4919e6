/**
 * Fleet model updates: a bundle folder packed into one JetStream message on
 * `ids.models.bundle` (stream IDS_MODELS keeps the latest only), and the
 * sensors' watcher that unpacks each new bundle into its state folder and
 * hands it over to be validated and swapped in. A bundle that fails its
 * checksum, its schema or loading is refused and reported; the running
 * model stays.
 */
import { Buffer } from "node:buffer";
import { basename, join } from "node:path";
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { z } from "zod";
import { connectNats, type NatsSettings } from "./connection.ts";
import { ensureFleetStreams } from "./streams.ts";
import { MODEL_SUBJECT, MODELS_STREAM } from "./subjects.ts";

/** A bundle as published: every file of the folder, base64, and their SHA-256. */
export const ModelBundleMessageSchema = z.object({
  v: z.literal(1),
  /** Free name for messages ("default-2026-12-02"); defaults to the folder name. */
  name: z.string().min(1).max(200),
  /** SHA-256 (hex) over the files, in name order: name, NUL, bytes. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  published_at: z.string(),
  /** File name (no folders) -> base64 bytes. */
  files: z.record(
    z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).refine((n) => n !== ".." && n !== "."),
    z.string(),
  ),
});
export type ModelBundleMessage = z.infer<typeof ModelBundleMessageSchema>;

async function digestFiles(files: [string, Uint8Array][]): Promise<string> {
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (const [name, bytes] of [...files].sort(([a], [b]) => a < b ? -1 : 1)) {
    parts.push(encoder.encode(name), new Uint8Array([0]), bytes);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Packs the files of bundle folder `dir` (not its subfolders) into a message. */
export async function packModelBundle(dir: string, name?: string): Promise<ModelBundleMessage> {
  const files: [string, Uint8Array][] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) files.push([entry.name, await Deno.readFile(join(dir, entry.name))]);
  }
  if (!files.some(([n]) => n === "bundle.json")) throw new Error(`${dir} has no bundle.json`);
  return {
    v: 1,
    name: name ?? basename(dir.replace(/\/+$/, "")),
    sha256: await digestFiles(files),
    published_at: new Date().toISOString(),
    files: Object.fromEntries(files.map(([n, b]) => [n, Buffer.from(b).toString("base64")])),
  };
}

/** Publishes a packed bundle for the fleet; returns its stream sequence. */
export async function publishModelBundle(
  nats: NatsSettings,
  message: ModelBundleMessage,
): Promise<{ seq: number; bytes: number }> {
  const nc = await connectNats(nats, { waitOnFirstConnect: false, maxReconnectAttempts: 0 });
  try {
    await ensureFleetStreams(await jetstreamManager(nc));
    const data = new TextEncoder().encode(JSON.stringify(message));
    const limit = nc.info?.max_payload ?? 1024 * 1024;
    if (data.length > limit) {
      throw new Error(
        `the packed bundle is ${data.length} bytes, more than this NATS server's max_payload ` +
          `(${limit}); raise max_payload in nats-server.conf`,
      );
    }
    const ack = await jetstream(nc).publish(MODEL_SUBJECT, data, { msgID: message.sha256 });
    return { seq: ack.seq, bytes: data.length };
  } finally {
    await nc.close();
  }
}

/** Unpacks a message into `root/<sha256>/` after checking it; returns the folder. */
export async function unpackModelBundle(data: Uint8Array, root: string): Promise<{
  dir: string;
  message: ModelBundleMessage;
}> {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw new Error("the model message is not JSON");
  }
  const parsed = ModelBundleMessageSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`the model message is malformed: ${parsed.error.message}`);
  const message = parsed.data;
  const files = Object.entries(message.files).map(([n, b64]) =>
    [n, new Uint8Array(Buffer.from(b64, "base64"))] as [string, Uint8Array]
  );
  const sha = await digestFiles(files);
  if (sha !== message.sha256) {
    throw new Error(`checksum mismatch (message says ${message.sha256}, files give ${sha})`);
  }
  const dir = join(root, message.sha256);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [name, bytes] of files) await Deno.writeFile(join(dir, name), bytes);
  return { dir, message };
}

/** Options of {@link watchModelUpdates}. */
export interface ModelWatchOptions {
  nats: NatsSettings;
  /** Where received bundles are unpacked (one folder per bundle). */
  root: string;
  /** Validates and applies an unpacked bundle; throws to refuse it. */
  apply(dir: string, message: ModelBundleMessage): Promise<void>;
  /** Called with the outcome of every bundle received. */
  report(outcome: ModelUpdateOutcome): void;
  log?: (line: string) => void;
}

/** What happened to one received bundle. */
export interface ModelUpdateOutcome {
  name: string;
  sha256: string;
  state: "applied" | "refused";
  error?: string;
  time: string;
}

/**
 * Follows `ids.models.bundle` from the latest message on (the bundle in force
 * when the sensor starts is applied too); returns a stop function.
 */
export function watchModelUpdates(options: ModelWatchOptions): { close(): Promise<void> } {
  const log = options.log ?? ((line: string) => console.error(line));
  let closed = false;
  let connection: NatsConnection | null = null;
  let stopConsuming: (() => void) | null = null;
  const running = (async () => {
    while (!closed) {
      try {
        connection ??= await connectNats({ ...options.nats, name: "ids-sensor model updates" }, {
          waitOnFirstConnect: false,
        });
        await ensureFleetStreams(await jetstreamManager(connection));
        const consumer = await jetstream(connection).consumers.get(MODELS_STREAM, {
          // One subject as a string: a list needs nats-server 2.10 (Debian 12 ships 2.9).
          filter_subjects: MODEL_SUBJECT,
          deliver_policy: DeliverPolicy.LastPerSubject,
        });
        const messages = await consumer.consume();
        stopConsuming = () => void messages.stop();
        if (closed) messages.stop();
        for await (const m of messages) {
          const time = new Date().toISOString();
          let name = "?";
          let sha256 = "?";
          try {
            const { dir, message } = await unpackModelBundle(m.data, options.root);
            name = message.name;
            sha256 = message.sha256;
            await options.apply(dir, message);
            options.report({ name, sha256, state: "applied", time });
          } catch (error) {
            const text = error instanceof Error ? error.message : String(error);
            log(`fleet: model bundle ${name} refused: ${text}`);
            options.report({ name, sha256, state: "refused", error: text, time });
          }
        }
      } catch (error) {
        if (closed) return;
        log(
          `fleet: model updates waiting for NATS (${
            error instanceof Error ? error.message : error
          })`,
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    async close() {
      closed = true;
      stopConsuming?.();
      await connection?.close().catch(() => {});
      await Promise.race([running, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
