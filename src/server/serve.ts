/**
 * Starts the console: opens the store, the live feed and the job runner,
 * builds the Hono app and serves it with `Deno.serve` (TLS when a
 * certificate and key are given). Used by `ids-sensor serve` and by
 * `ids-sensor detect --ui`.
 */
import { tmpdir } from "node:os";
import { openStore } from "../store/mod.ts";
import { createConsoleApp } from "./app.ts";
import { JobRunner } from "./jobs.ts";
import { LiveFeed, type LiveFeedOptions } from "./live_feed.ts";
import { loadOrCreateToken } from "./token.ts";

/** Options of {@link startConsole}. */
export interface ConsoleOptions {
  /** The SQLite store (created if missing). */
  dbPath: string;
  /** `ADDR:PORT`, `[v6]:PORT` or `:PORT` (default 127.0.0.1:8080; port 0 picks a free one). */
  listen?: string;
  /** Token file (default `<db>.token`); created with a new token when missing. */
  tokenFile?: string;
  /** PEM certificate and key files: serve HTTPS. */
  certFile?: string;
  keyFile?: string;
  modelDir: string;
  nslModelDir?: string;
  /** Largest upload, bytes. */
  maxUploadBytes?: number;
  /** Delete alerts and traffic older than this many days (checked hourly). */
  retainDays?: number;
  /** Where uploads wait for their job (default a new folder under the system temp dir). */
  uploadDir?: string;
  feed?: LiveFeedOptions;
  /** A sensor's Prometheus handler (src/metrics), mounted at /metrics. */
  metricsHandler?: (request: Request) => Response | Promise<Response>;
  /** Printed lines (default console.error). */
  log?: (line: string) => void;
}

/** A running console. */
export interface RunningConsole {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  token: string;
  tokenFile: string;
  /** Stops serving, ends event streams, waits for jobs, closes the store. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Parses `ADDR:PORT` (`[::1]:8080`, `0.0.0.0:80`, `:8080`). */
export function parseListen(text: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new Error(
      `--listen must be ADDR:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "${text}"`,
    );
  }
  return { hostname: match[1] ?? (match[2] || "127.0.0.1"), port };
}

/** Opens everything and starts serving; prints the URL (and a new token, once). */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const log = options.log ?? ((line: string) => console.error(line));
  const { hostname, port } = parseListen(options.listen ?? "127.0.0.1:8080");
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new Error("TLS needs both --tls-cert and --tls-key");
  }
  const cert = options.certFile ? await Deno.readTextFile(options.certFile) : undefined;
  const key = options.keyFile ? await Deno.readTextFile(options.keyFile) : undefined;
  let store;
  try {
    store = openStore(options.dbPath);
  } catch (error) {
    throw new Error(`cannot open the store ${options.dbPath}: ${(error as Error).message}`);
  }
  const tokenPath = options.tokenFile ?? `${options.dbPath}.token`;
  let token;
  try {
    token = await loadOrCreateToken(tokenPath);
  } catch (error) {
    store.close();
    throw new Error(`token file ${tokenPath}: ${(error as Error).message}`);
  }
  const ownUploadDir = options.uploadDir === undefined;
  const uploadDir = options.uploadDir ??
    await Deno.makeTempDir({ dir: tmpdir(), prefix: "ids-console-uploads-" });
  const jobs = new JobRunner({
    dbPath: options.dbPath,
    uploadDir,
    modelDir: options.modelDir,
    nslModelDir: options.nslModelDir,
    store,
  });
  const startedAt = new Date();
  const feed = new LiveFeed(store, {
    ...options.feed,
    extraStatus: () => ({ jobs: jobs.counts() }),
  });
  feed.start();
  const app = createConsoleApp({
    store,
    feed,
    jobs,
    token: token.token,
    modelDir: options.modelDir,
    maxUploadBytes: options.maxUploadBytes,
    secure: Boolean(cert),
    startedAt,
    metricsHandler: options.metricsHandler,
  });
  let retention: ReturnType<typeof setInterval> | undefined;
  if (options.retainDays !== undefined) {
    const prune = () => {
      try {
        const n = store.prune(options.retainDays!);
        if (n > 0) {
          log(
            `ids-sensor serve: retention: deleted ${n} alerts older than ${options.retainDays} days`,
          );
        }
      } catch (error) {
        log(`ids-sensor serve: retention failed: ${(error as Error).message}`);
      }
    };
    prune();
    retention = setInterval(prune, 3600_000);
  }
  const ready = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname,
    port,
    cert,
    key,
    onListen: (addr) => ready.resolve(addr as Deno.NetAddr),
    onError: (error) => {
      log(`ids-sensor serve: ${(error as Error).stack ?? error}`);
      return new Response("internal error", { status: 500 });
    },
  }, app.fetch);
  const addr = await ready.promise;
  const scheme = cert ? "https" : "http";
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `${scheme}://${host}:${addr.port}`;
  log(`ids-sensor serve: console on ${url} (store ${options.dbPath})`);
  if (token.created) {
    // Printed this once; afterwards it is only in the 0600 file.
    log(`ids-sensor serve: new token written to ${token.path} (mode 600): ${token.token}`);
    log(`ids-sensor serve: open ${url}/login#token=${token.token}`);
  } else {
    log(`ids-sensor serve: token in ${token.path}`);
  }
  let stopping: Promise<void> | null = null;
  return {
    url,
    port: addr.port,
    token: token.token,
    tokenFile: token.path,
    finished: server.finished,
    shutdown() {
      stopping ??= (async () => {
        clearInterval(retention);
        feed.close();
        await server.shutdown();
        await jobs.idle();
        store.close();
        if (ownUploadDir) await Deno.remove(uploadDir, { recursive: true }).catch(() => {});
      })();
      return stopping;
    },
  };
}
