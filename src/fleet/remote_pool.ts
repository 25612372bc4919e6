/**
 * Remote scoring, the sensor's side (`--remote-scoring`): an InferencePool
 * that sends each batch of feature rows to the score workers' queue group
 * (core NATS request/reply; one worker answers each request) instead of
 * local ONNX workers. Decisions, host evidence and alerts stay in the
 * sensor, so results come back as the sensor's own alerts. A request that
 * fails (no worker, timeout, NATS away) is sent again; detection waits
 * rather than losing rows.
 */
import { headers, type NatsConnection } from "@nats-io/nats-core";
import type {
  InferenceModels,
  InferencePool,
  InferencePoolStats,
  ModelScores,
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
  log?: (line: string) => void;
}

/** A pool whose rows are scored by `ids-sensor score-worker` processes. */
export async function createRemotePool(
  models: InferenceModels,
  options: RemotePoolOptions,
): Promise<InferencePool & { readonly retries: number }> {
  const log = options.log ?? ((line: string) => console.error(line));
  const fingerprint = await modelsFingerprint(models);
  const subject = scoreSubject(options.sensor);
  const timeoutMs = options.timeoutMs ?? 30_000;
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
  let closed = false;
  const pending = new Set<Promise<unknown>>();
  let complained = false;

  async function score(data: Uint8Array, rows: number): Promise<ModelScores> {
    const h = headers();
    h.set(SCORE_HEADERS.rows, String(rows));
    h.set(SCORE_HEADERS.width, String(models.width));
    h.set(SCORE_HEADERS.models, fingerprint);
    while (true) {
      try {
        const reply = await nc.request(subject, data, { timeout: timeoutMs, headers: h });
        const error = reply.headers?.get(SCORE_HEADERS.error);
        if (error) throw new Error(`score worker refused the rows: ${error}`);
        stats.workerMs += Number(reply.headers?.get(SCORE_HEADERS.workerMs) ?? 0);
        complained = false;
        return decodeScores(reply.data);
      } catch (error) {
        if (closed || !transient(error)) throw error;
        retries++;
        if (!complained) {
          log(`fleet: no score worker answered (${describe(error)}); retrying`);
          complained = true;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  return {
    width: models.width,
    stats,
    get retries() {
      return retries;
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
