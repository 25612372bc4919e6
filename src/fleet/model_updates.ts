/**
 * Fleet model updates through JetStream's object store and KV: `publish-model`
 * puts every file of a bundle folder into the object store bucket
 * `ids-models` (chunked by the store, so any size; each object's SHA-256 is
 * checked on the way back), then announces the bundle by writing its
 * manifest to key `model` of the KV bucket `ids-fleet`. Sensors with
 * `--model-updates` watch that key (a sensor that starts later gets the
 * current manifest first), fetch the files, check sizes and digests, and
 * hand the folder over to be validated and swapped in. A bundle that fails
 * any check or does not load is refused and reported; the running model
 * stays.
 */
import { basename, join } from "node:path";
import { StorageType } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { NatsConnection, QueuedIterator } from "@nats-io/nats-core";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { z } from "zod";
import { connectNats, type NatsSettings } from "./connection.ts";
import { FLEET_KV_BUCKET, MODEL_KEY, MODELS_BUCKET } from "./subjects.ts";

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A file of a bundle folder: a plain name, never a path. */
const FileName = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).refine((n) => n !== ".." && n !== ".");

/** The announcement of a bundle (KV `ids-fleet`, key `model`): what to fetch and check. */
export const ModelManifestSchema = z.object({
  v: z.literal(2),
  /** Free name for messages ("default-2026-12-02"); defaults to the folder name. */
  name: z.string().min(1).max(200),
  /** SHA-256 (hex) over the files, in name order: name, NUL, bytes. Names the objects' folder. */
  sha256: z.string().regex(SHA256_HEX),
  published_at: z.string(),
  /** Each file: its object is `<sha256>/<name>` in the `ids-models` object store. */
  files: z.array(z.object({
    name: FileName,
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(SHA256_HEX),
  })).min(1),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;

/** A bundle folder read for publishing: its manifest and its files' bytes. */
export interface PackedModelBundle {
  manifest: ModelManifest;
  files: Map<string, Uint8Array>;
}

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/** SHA-256 over the files in name order (name, NUL, bytes): the bundle's identity. */
function bundleDigest(files: Map<string, Uint8Array>): Promise<string> {
  const names = [...files.keys()].sort();
  const encoder = new TextEncoder();
  const parts = names.flatMap((n) => [encoder.encode(n), new Uint8Array([0]), files.get(n)!]);
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return sha256(all);
}

const objectName = (manifest: ModelManifest, file: string) => `${manifest.sha256}/${file}`;

/** Reads the files of bundle folder `dir` (not its subfolders) and describes them. */
export async function packModelBundle(dir: string, name?: string): Promise<PackedModelBundle> {
  const files = new Map<string, Uint8Array>();
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    if (!FileName.safeParse(entry.name).success) {
      throw new Error(`${dir}/${entry.name}: file names in a bundle are letters, digits, . _ -`);
    }
    files.set(entry.name, await Deno.readFile(join(dir, entry.name)));
  }
  if (!files.has("bundle.json")) throw new Error(`${dir} has no bundle.json`);
  const described = await Promise.all(
    [...files].sort(([a], [b]) => a < b ? -1 : 1).map(async ([file, bytes]) => ({
      name: file,
      size: bytes.length,
      sha256: await sha256(bytes),
    })),
  );
  return {
    manifest: {
      v: 2,
      name: name ?? basename(dir.replace(/\/+$/, "")),
      sha256: await bundleDigest(files),
      published_at: new Date().toISOString(),
      files: described,
    },
    files,
  };
}

/** Opens (creating when missing, the same way on every side) the bundle store and the KV. */
async function openModelBuckets(nc: NatsConnection): Promise<{ store: ObjectStore; kv: KV }> {
  const store = await new Objm(nc).create(MODELS_BUCKET, {
    description: "ids-sensor model bundles (objects <bundle sha256>/<file>)",
    storage: StorageType.File,
  });
  // History 5: the last few announcements stay readable (which bundle was in force when).
  const kv = await new Kvm(nc).create(FLEET_KV_BUCKET, { history: 5, storage: StorageType.File });
  return { store, kv };
}

/**
 * Puts the bundle's files into the object store, then announces it (KV
 * `model`). Objects of bundles older than the one it replaces are removed.
 */
export async function publishModelBundle(
  nats: NatsSettings,
  bundle: PackedModelBundle,
): Promise<{ revision: number; bytes: number; chunks: number }> {
  const manifest = ModelManifestSchema.parse(bundle.manifest);
  const nc = await connectNats({ ...nats, name: "ids-sensor publish-model" }, {
    waitOnFirstConnect: false,
    maxReconnectAttempts: 0,
  });
  try {
    const { store, kv } = await openModelBuckets(nc);
    let bytes = 0;
    let chunks = 0;
    for (const file of manifest.files) {
      const info = await store.putBlob(
        { name: objectName(manifest, file.name) },
        bundle.files.get(file.name)!,
      );
      bytes += info.size;
      chunks += info.chunks;
    }
    const previous = await currentManifest(kv);
    const revision = await kv.put(MODEL_KEY, JSON.stringify(manifest));
    // Keep the current bundle and the one it replaces (a sensor may be fetching it right now).
    const keep = new Set([manifest.sha256, previous?.sha256]);
    for (const object of await store.list()) {
      if (!keep.has(object.name.split("/")[0])) await store.delete(object.name);
    }
    return { revision, bytes, chunks };
  } finally {
    await nc.close();
  }
}

async function currentManifest(kv: KV): Promise<ModelManifest | null> {
  const entry = await kv.get(MODEL_KEY);
  if (!entry || entry.operation !== "PUT") return null;
  const parsed = ModelManifestSchema.safeParse(safeJson(entry.string()));
  return parsed.success ? parsed.data : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A fetched bundle that does not match its manifest (an object missing, a
 * size or a digest wrong): refused for good. Any other fetch error (NATS gone
 * mid-fetch, a timeout) is transient, and the bundle is fetched again.
 */
export class BundleContentError extends Error {
  override name = "BundleContentError";
}

/**
 * Fetches the files a manifest names into `root/<sha256>/` (written beside,
 * then renamed, so a folder there is always whole) after checking every
 * size, every file's SHA-256 and the bundle's; returns the folder.
 */
export async function fetchModelBundle(
  store: ObjectStore,
  manifest: ModelManifest,
  root: string,
): Promise<string> {
  const files = new Map<string, Uint8Array>();
  for (const file of manifest.files) {
    const name = objectName(manifest, file.name);
    // getBlob checks the object's own digest (the store's SHA-256) while reading the chunks.
    const bytes = await store.getBlob(name);
    if (bytes === null) {
      throw new BundleContentError(`object ${name} is missing from ${MODELS_BUCKET}`);
    }
    if (bytes.length !== file.size) {
      throw new BundleContentError(
        `${file.name}: ${bytes.length} bytes, the manifest says ${file.size}`,
      );
    }
    const digest = await sha256(bytes);
    if (digest !== file.sha256) {
      throw new BundleContentError(
        `${file.name}: checksum mismatch (manifest ${file.sha256}, file ${digest})`,
      );
    }
    files.set(file.name, bytes);
  }
  const digest = await bundleDigest(files);
  if (digest !== manifest.sha256) {
    throw new BundleContentError(
      `checksum mismatch (manifest says ${manifest.sha256}, files give ${digest})`,
    );
  }
  const dir = join(root, manifest.sha256);
  try {
    await Deno.stat(join(dir, "bundle.json"));
    return dir; // fetched before (the folder is only ever renamed into place whole)
  } catch { /* not yet */ }
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  const partial = await Deno.makeTempDir({ dir: root, prefix: `.${manifest.sha256}-` });
  for (const [name, bytes] of files) await Deno.writeFile(join(partial, name), bytes);
  await Deno.rename(partial, dir);
  return dir;
}

/** Options of {@link watchModelUpdates}. */
export interface ModelWatchOptions {
  nats: NatsSettings;
  /** Where received bundles are unpacked (one folder per bundle). */
  root: string;
  /** Validates and applies a fetched bundle; throws to refuse it. */
  apply(dir: string, manifest: ModelManifest): Promise<void>;
  /** Called with the outcome of every bundle announced. */
  report(outcome: ModelUpdateOutcome): void;
  log?: (line: string) => void;
}

/** What happened to one announced bundle. */
export interface ModelUpdateOutcome {
  name: string;
  sha256: string;
  state: "applied" | "refused";
  error?: string;
  time: string;
}

/**
 * Watches KV `ids-fleet` key `model` (the current announcement first, then
 * every new one) and fetches, checks and applies each bundle; reconnects
 * while NATS is away. Returns a stop function.
 */
export function watchModelUpdates(options: ModelWatchOptions): { close(): Promise<void> } {
  const log = options.log ?? ((line: string) => console.error(line));
  let closed = false;
  let connection: NatsConnection | null = null;
  let watch: QueuedIterator<KvEntry> | null = null;
  // The bundle last handled: a watch restarted after a reconnect sees it again.
  let handled = "";
  // The bundle whose fetch failed for a transient reason (logged once, retried).
  let retrying = "";
  async function handle(entry: KvEntry): Promise<void> {
    if (entry.operation !== "PUT") return;
    const time = new Date().toISOString();
    const parsed = ModelManifestSchema.safeParse(safeJson(entry.string()));
    if (!parsed.success) {
      const error = `the model announcement is malformed: ${parsed.error.message}`;
      log(`fleet: model bundle refused: ${error}`);
      options.report({ name: "?", sha256: "?", state: "refused", error, time });
      return;
    }
    const manifest = parsed.data;
    if (manifest.sha256 === handled) return;
    const refuse = (error: unknown) => {
      const text = error instanceof Error ? error.message : String(error);
      log(`fleet: model bundle ${manifest.name} refused: ${text}`);
      options.report({
        name: manifest.name,
        sha256: manifest.sha256,
        state: "refused",
        error: text,
        time,
      });
    };
    let dir: string;
    try {
      const { store } = await openModelBuckets(connection!);
      dir = await fetchModelBundle(store, manifest, options.root);
    } catch (error) {
      if (!(error instanceof BundleContentError)) {
        // Transient (NATS went away mid-fetch): not marked handled, so the watch the loop
        // below restarts sees this announcement again and the fetch is retried.
        if (retrying !== manifest.sha256) {
          log(`fleet: fetching model bundle ${manifest.name} failed, will retry: ${error}`);
        }
        retrying = manifest.sha256;
        throw error;
      }
      handled = manifest.sha256;
      return refuse(error);
    }
    retrying = "";
    handled = manifest.sha256;
    try {
      await options.apply(dir, manifest);
      options.report({ name: manifest.name, sha256: manifest.sha256, state: "applied", time });
    } catch (error) {
      refuse(error);
    }
  }
  const running = (async () => {
    while (!closed) {
      try {
        connection ??= await connectNats({ ...options.nats, name: "ids-sensor model updates" }, {
          waitOnFirstConnect: false,
        });
        const { kv } = await openModelBuckets(connection);
        watch = await kv.watch({ key: MODEL_KEY });
        if (closed) watch.stop();
        for await (const entry of watch) await handle(entry);
      } catch (error) {
        watch?.stop(); // a failed fetch leaves the loop above: stop its watch before a new one
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
      watch?.stop();
      await connection?.close().catch(() => {});
      await Promise.race([running, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}
