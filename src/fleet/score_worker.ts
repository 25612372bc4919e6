/**
 * Remote scoring, the worker's side (`ids-sensor score-worker`): joins the
 * queue group on `ids.score.*`, scores each request with local ONNX workers
 * and replies with the scores. Several workers share the requests (NATS
 * gives each request to one member), so throughput grows with workers. A
 * request for other models (fingerprint differs) is answered with an error,
 * never with wrong scores.
 */
import { headers, type Msg, type NatsConnection } from "@nats-io/nats-core";
import {
  createInferencePool,
  denseScores,
  inferenceModelsFromBundle,
  type InferencePool,
  type LoadedBundle,
} from "../inference/mod.ts";
import { connectNats, type NatsSettings, redactNatsUrl } from "./connection.ts";
import { decodeRows, encodeScores, modelsFingerprint, SCORE_HEADERS } from "./score_codec.ts";
import { SCORE_QUEUE } from "./subjects.ts";

/** Options of {@link startScoreWorker}. */
export interface ScoreWorkerOptions {
  nats: NatsSettings;
  bundle: LoadedBundle;
  /** Local inference workers (threads) of this process (default 1). */
  threads?: number;
  log?: (line: string) => void;
}

/** A running score worker. */
export interface ScoreWorker {
  /** Requests answered, rows scored, requests refused. */
  stats(): { requests: number; rows: number; refused: number };
  readonly fingerprint: string;
  /** Stops taking requests, answers the ones taken, disconnects. */
  close(): Promise<void>;
}

/** Connects and joins the queue group. */
export async function startScoreWorker(options: ScoreWorkerOptions): Promise<ScoreWorker> {
  const log = options.log ?? ((line: string) => console.error(line));
  const models = inferenceModelsFromBundle(options.bundle);
  const fingerprint = await modelsFingerprint(models);
  const pool: InferencePool = await createInferencePool(models, {
    workers: options.threads ?? 1,
    maxWaitMs: 0,
  });
  const nc: NatsConnection = await connectNats({
    ...options.nats,
    name: "ids-sensor score-worker",
  });
  const counts = { requests: 0, rows: 0, refused: 0 };
  const inFlight = new Set<Promise<void>>();

  async function handle(msg: Msg): Promise<void> {
    const h = headers();
    try {
      const rows = Number(msg.headers?.get(SCORE_HEADERS.rows));
      const width = Number(msg.headers?.get(SCORE_HEADERS.width));
      const wanted = msg.headers?.get(SCORE_HEADERS.models);
      if (wanted !== fingerprint) {
        throw new Error(`this worker runs models ${fingerprint}, the sensor ${wanted}`);
      }
      if (!(rows > 0) || width !== models.width) {
        throw new Error(
          `bad request: ${rows} rows of width ${width} (models take ${models.width})`,
        );
      }
      const started = performance.now();
      const scores = await pool.infer(decodeRows(msg.data, rows, width), rows);
      h.set(SCORE_HEADERS.workerMs, (performance.now() - started).toFixed(2));
      counts.requests++;
      counts.rows += rows;
      msg.respond(encodeScores(denseScores(scores, width)), { headers: h });
    } catch (error) {
      counts.refused++;
      h.set(SCORE_HEADERS.error, error instanceof Error ? error.message : String(error));
      msg.respond(new Uint8Array(0), { headers: h });
    }
  }

  const subscription = nc.subscribe("ids.score.*", { queue: SCORE_QUEUE });
  const loop = (async () => {
    for await (const msg of subscription) {
      const job = handle(msg);
      inFlight.add(job);
      job.finally(() => inFlight.delete(job));
      // The pool batches what arrives together; flush so a lone request is not kept waiting.
      pool.flush();
    }
  })();
  log(
    `score-worker: scoring for queue group "${SCORE_QUEUE}" at ${
      redactNatsUrl(options.nats.url)
    } (models ${fingerprint})`,
  );
  return {
    fingerprint,
    stats: () => ({ ...counts }),
    async close() {
      await subscription.drain().catch(() => {});
      await loop.catch(() => {});
      await Promise.allSettled([...inFlight]);
      await nc.close().catch(() => {});
      await pool.close();
    },
  };
}
