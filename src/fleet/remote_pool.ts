/**
 * Remote scoring, the sensor's side (`--remote-scoring`): an InferencePool
 * that sends each batch of feature rows to the score workers' queue group
 * (core NATS request/reply; one worker answers each request) instead of
 * local ONNX workers. Decisions, host evidence and alerts stay in the
 * sensor, so results come back as the sensor's own alerts. A request that
 * fails (no worker, timeout, NATS away) is sent again until its fallback
 * deadline; past it the rows are scored here by a local inference worker
 * (started on first need), counted, logged, and later batches go local
 * for the same span before score workers are tried again. No row is lost
 * and detection never waits for ever.
 */
import { headers, type NatsConnection } from "@nats-io/nats-core";
import {
  createInferencePool,
  denseScores,
  type InferenceModels,
  type InferencePool,
  type InferencePoolStats,
  type ModelScores,
} from "../inference/mod.ts";
import { connectNats, type NatsSettings, redactNatsUrl } from "./connection.ts";
import {
  concatScores,
  decodeScores,
  encodeRows,
  modelsFingerprint,
  SCORE_HEADERS,
} from "./score_codec.ts";
import { scoreSubject } from "./subjects.ts";

/** Options of {@link createRemotePool}. */
export interface RemotePoolOptions {
  nats: NatsSettings;
  sensor: string;
  /** How long one request waits for a worker's reply, ms (default 30 000). */
  timeoutMs?: number;
  /**
   * How long a batch may go unanswered (no worker, timeouts, NATS away)
   * before it is scored locally, ms (default {@link DEFAULT_REMOTE_FALLBACK_MS}).
   */
  fallbackAfterMs?: number;
  log?: (line: string) => void;
}

/** Default of {@link RemotePoolOptions.fallbackAfterMs}: 10 s. */
export const DEFAULT_REMOTE_FALLBACK_MS = 10_000;

/** Counters of a remote pool beyond the pool's own stats. */
export interface RemotePoolCounters {
  /** Requests sent again (no worker answered in time, NATS away). */
  readonly retries: number;
  /** Rows scored here because no score worker answered before the fallback deadline. */
  readonly localRows: number;
}

/** A pool whose rows are scored by `ids-sensor score-worker` processes. */
export async function createRemotePool(
  models: InferenceModels,
  options: RemotePoolOptions,
): Promise<InferencePool & RemotePoolCounters> {
  const log = options.log ?? ((line: string) => console.error(line));
  const fingerprint = await modelsFingerprint(models);
  const subject = scoreSubject(options.sensor);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const fallbackAfterMs = options.fallbackAfterMs ?? DEFAULT_REMOTE_FALLBACK_MS;
  const nc: NatsConnection = await connectNats({
    ...options.nats,
    name: `ids-sensor ${options.sensor} scoring`,
  });
  log(
    `fleet: remote scoring through ${redactNatsUrl(options.nats.url)} (models ${fingerprint})`,
  );
  const stats: InferencePoolStats = {
    rows: 0,
    batches: 0,
    batchesBySize: 0,
    batchesByWait: 0,
    batchesByFlush: 0,
    workerMs: 0,
  };
  // One request and its reply must each fit NATS's max_payload (1 MiB by default); the reply
  // can carry per-feature errors (width values a row) beside the scores, so budget twice the width.
  const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
  const rowsPerRequest = Math.max(
    1,
    Math.floor((maxPayload * 0.9 - 4096) / ((2 * models.width + 64) * 4)),
  );
  let retries = 0;
  let localRows = 0;
  let closed = false;
  const pending = new Set<Promise<unknown>>();
  let complained = false;
  // After a fallback, batches go straight to the local pool until then (performance.now()).
  let localUntil = -Infinity;
  let localPool: Promise<InferencePool> | null = null;

  function scoreLocally(data: Uint8Array, rows: number): Promise<ModelScores> {
    localRows += rows;
    localPool ??= createInferencePool(models, { workers: 1, maxWaitMs: 0 });
    // encodeRows made `data` from a fresh Float32Array, so the view is aligned.
    const features = new Float32Array(data.buffer, data.byteOffset, rows * models.width);
    // Dense, as decoded replies are: concatScores joins whole arrays.
    return localPool.then(async (pool) =>
      denseScores(await pool.infer(features, rows), models.width)
    );
  }

  async function score(data: Uint8Array, rows: number): Promise<ModelScores> {
    if (performance.now() < localUntil) return scoreLocally(data, rows);
    const h = headers();
    h.set(SCORE_HEADERS.rows, String(rows));
    h.set(SCORE_HEADERS.width, String(models.width));
    h.set(SCORE_HEADERS.models, fingerprint);
    const deadline = performance.now() + fallbackAfterMs;
    while (true) {
      // Another batch gave up on the workers meanwhile: do not wait out this one's deadline too.
      if (performance.now() < localUntil) return scoreLocally(data, rows);
      const left = deadline - performance.now();
      try {
        const reply = await nc.request(subject, data, {
          timeout: Math.max(1, Math.min(timeoutMs, left)),
          headers: h,
        });
        const error = reply.headers?.get(SCORE_HEADERS.error);
        if (error) throw new Error(`score worker refused the rows: ${error}`);
        stats.workerMs += Number(reply.headers?.get(SCORE_HEADERS.workerMs) ?? 0);
        if (complained) log("fleet: score workers answer again");
        complained = false;
        return decodeScores(reply.data);
      } catch (error) {
        if (closed || !transient(error)) throw error;
        if (performance.now() >= deadline) {
          if (!complained || performance.now() >= localUntil) {
            log(
              `fleet: no score worker answered within ${fallbackAfterMs / 1000} s ` +
                `(${describe(error)}); scoring here for the next ${fallbackAfterMs / 1000} s`,
            );
          }
          complained = true;
          localUntil = performance.now() + fallbackAfterMs;
          return scoreLocally(data, rows);
        }
        retries++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, left)));
      }
    }
  }

  return {
    width: models.width,
    stats,
    get retries() {
      return retries;
    },
    get localRows() {
      return localRows;
    },
    infer(features, rows) {
      if (closed) return Promise.reject(new Error("remote pool is closed"));
      stats.rows += rows;
      stats.batches++;
      stats.batchesByFlush++;
      const parts: Promise<ModelScores>[] = [];
      for (let from = 0; from < rows; from += rowsPerRequest) {
        const n = Math.min(rowsPerRequest, rows - from);
        const slice = features.subarray(from * models.width, (from + n) * models.width);
        parts.push(score(encodeRows(slice, n, models.width), n));
      }
      const job = Promise.all(parts).then(concatScores);
      pending.add(job);
      job.finally(() => pending.delete(job)).catch(() => {});
      return job;
    },
    flush() {},
    async close() {
      await Promise.allSettled([...pending]);
      closed = true;
      await nc.close().catch(() => {});
      if (localPool) await (await localPool).close();
      if (localRows > 0) {
        log(
          `fleet: ${localRows} of ${stats.rows} rows scored here: no score worker answered ` +
            `within ${fallbackAfterMs / 1000} s`,
        );
      }
    },
  };
}

/** Worth sending again: nobody answered (yet), or the connection is being re-made. */
function transient(error: unknown): boolean {
  const name = error instanceof Error ? error.name : "";
  return ["TimeoutError", "RequestError", "NoResponders", "ConnectionError"].includes(name);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
