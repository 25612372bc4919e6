/**
 * `deno task bench:fleet`: remote scoring throughput with 1, 2 and 4 score
 * workers (`ids-sensor score-worker` processes on a real nats-server), with
 * local inference in the same run as the reference. Rows are real feature
 * rows (a lab capture's flows through the flow meter), repeated to --rows.
 * Reports medians of --runs runs and ratios to local scoring, with two
 * controls that say why the figures are what they are: local inference with
 * 2 workers (what a second core gives this machine at all), and the ONNX
 * time the inference workers report per 1,000 rows (when it grows with the
 * worker count, the workers are slowing each other down: too few cores),
 * and the transport alone (a responder in this process that answers every
 * request with real scores computed beforehand, so no scoring at all: the
 * most remote scoring could do through NATS here).
 *
 *   deno task bench:fleet [--rows N] [--batch N] [--runs N] [--workers 1,2,4] [--json]
 */
import { Command } from "@commander-js/extra-typings";
import { readCaptureFile } from "../src/capture/mod.ts";
import { loadSensorBundle } from "../src/engine/mod.ts";
import { meterFlows } from "../src/features/mod.ts";
import {
  createInferencePool,
  inferenceModelsFromBundle,
  type InferencePool,
} from "../src/inference/mod.ts";
import {
  connectNats,
  createRemotePool,
  encodeScores,
  SCORE_HEADERS,
  SCORE_QUEUE,
} from "../src/fleet/mod.ts";
import type { ModelScores } from "../src/inference/mod.ts";
import { natsServerMissing, startNatsServer } from "../tests/support/nats_server.ts";

const options = new Command()
  .name("bench:fleet")
  .option("--rows <n>", "feature rows scored per run", "200000")
  .option("--batch <n>", "rows per request (the detector's flow batch)", "4096")
  .option("--in-flight <n>", "requests in flight (the detector's maxInFlight)", "8")
  .option("--runs <n>", "runs per configuration (median reported)", "3")
  .option("--workers <list>", "worker counts to measure", "1,2,4")
  .option(
    "--capture <file>",
    "capture whose flows give the rows",
    "tests/fixtures/lab/mixed/capture.pcap",
  )
  .option("--json", "print one JSON object")
  .parse(Deno.args, { from: "user" })
  .opts();

const missing = natsServerMissing();
if (missing) {
  console.error(`bench:fleet skipped: ${missing}`);
  Deno.exit(0);
}
const totalRows = Number(options.rows);
const batchRows = Number(options.batch);
const inFlight = Number(options.inFlight);
const runs = Number(options.runs);
const workerCounts = options.workers.split(",").map(Number);

const bundle = await loadSensorBundle(new URL("../models/default", import.meta.url).pathname);
const models = inferenceModelsFromBundle(bundle);
const width = models.width;

// Real rows: the capture's flows, tiled into one buffer.
const seen: Float32Array[] = [];
let seenRows = 0;
for await (const flows of meterFlows(readCaptureFile(options.capture))) {
  seen.push(flows.features.slice(0, flows.count * width));
  seenRows += flows.count;
}
const rows = new Float32Array(totalRows * width);
for (let at = 0; at < totalRows * width;) {
  for (const part of seen) {
    const n = Math.min(part.length, rows.length - at);
    rows.set(part.subarray(0, n), at);
    at += n;
    if (at >= rows.length) break;
  }
}

/** Scores every row through `pool`, `inFlight` batches at a time; rows/s and ONNX ms per 1k rows. */
async function measure(pool: InferencePool): Promise<{ rowsPerSecond: number; onnxMs: number }> {
  const started = performance.now();
  const workerMsBefore = pool.stats.workerMs;
  const pending: Promise<unknown>[] = [];
  for (let from = 0; from < totalRows; from += batchRows) {
    const n = Math.min(batchRows, totalRows - from);
    pending.push(pool.infer(rows.subarray(from * width, (from + n) * width), n));
    if (pending.length >= inFlight) {
      pool.flush();
      await pending.shift();
    }
  }
  pool.flush();
  await Promise.all(pending);
  return {
    rowsPerSecond: totalRows / ((performance.now() - started) / 1000),
    onnxMs: (pool.stats.workerMs - workerMsBefore) / (totalRows / 1000),
  };
}

/** The scores of the first `n` rows of `scores`. */
function firstRows(scores: ModelScores, n: number, width: number): ModelScores {
  return {
    rows: n,
    outputs: scores.outputs.map((o) => ({
      ...o,
      values: o.values.slice(0, n * o.columns),
      featureErrors: o.featureErrors?.slice(0, n * width),
      classDistance: o.classDistance?.slice(0, n * (o.classDistanceColumns ?? 0)),
    })),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nats = await startNatsServer();
interface Result {
  config: string;
  rowsPerSecond: number[];
  /** ONNX milliseconds per 1,000 rows, as the inference workers report them. */
  onnxMsPer1k: number[];
}
const results: Result[] = [];
try {
  const local = await createInferencePool(models);
  const local2 = await createInferencePool(models, { workers: 2 });
  const remote = await createRemotePool(models, {
    nats: { url: nats.url },
    sensor: "bench",
    log: () => {},
  });
  const configs: Result[] = [
    { config: "local (1 inference worker, no NATS)", rowsPerSecond: [], onnxMsPer1k: [] },
    { config: "local, 2 inference workers (control)", rowsPerSecond: [], onnxMsPer1k: [] },
    { config: "NATS transport only (no scoring)", rowsPerSecond: [], onnxMsPer1k: [] },
  ];
  for (const n of workerCounts) {
    configs.push({
      config: `remote, ${n} score worker${n === 1 ? "" : "s"}`,
      rowsPerSecond: [],
      onnxMsPer1k: [],
    });
  }
  const record = (result: Result, m: { rowsPerSecond: number; onnxMs: number }) => {
    result.rowsPerSecond.push(m.rowsPerSecond);
    result.onnxMsPer1k.push(m.onnxMs);
  };
  let workers: Deno.ChildProcess[] = [];
  const startWorkers = async (n: number) => {
    for (const w of workers) w.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.status));
    workers = [];
    for (let i = 0; i < n; i++) {
      workers.push(new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../main.ts", import.meta.url).pathname,
          "score-worker",
          "--nats",
          nats.url,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn());
    }
    // Ready when a request is answered by each: warm up with a few batches.
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 4 * n; i++) await remote.infer(rows.subarray(0, 64 * width), 64);
  };
  // Warm-up of the local pools too.
  await local.infer(rows.subarray(0, 64 * width), 64);
  for (let i = 0; i < 4; i++) await local2.infer(rows.subarray(0, 64 * width), 64);
  for (let run = 0; run < runs; run++) {
    record(configs[1], await measure(local2));
    record(configs[0], await measure(local));
  }
  // Transport only: answer each request with precomputed scores of that many rows.
  {
    const precomputed = await local.infer(rows.subarray(0, batchRows * width), batchRows);
    const replies = new Map<number, Uint8Array>();
    const nc = await connectNats({ url: nats.url, name: "bench echo" });
    const echo = nc.subscribe("ids.score.*", { queue: SCORE_QUEUE });
    (async () => {
      for await (const msg of echo) {
        const n = Number(msg.headers?.get(SCORE_HEADERS.rows));
        if (!replies.has(n)) replies.set(n, encodeScores(firstRows(precomputed, n, width)));
        msg.respond(replies.get(n)!);
      }
    })();
    await nc.flush();
    for (let run = 0; run < runs; run++) {
      record(configs[2], await measure(remote));
      record(configs[0], await measure(local));
    }
    await echo.drain();
    await nc.close();
  }
  for (const [k, n] of workerCounts.entries()) {
    await startWorkers(n);
    for (let run = 0; run < runs; run++) {
      // The local reference runs in every round, so load changes hit both.
      record(configs[k + 3], await measure(remote));
      record(configs[0], await measure(local));
    }
  }
  for (const w of workers) w.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.status));
  await remote.close();
  await local.close();
  await local2.close();
  results.push(...configs);
} finally {
  await nats.stop();
}

const reference = median(results[0].rowsPerSecond);
if (options.json) {
  console.log(JSON.stringify({ rows: totalRows, batch: batchRows, inFlight, runs, results }));
} else {
  console.log(
    `remote scoring: ${totalRows} rows in batches of ${batchRows}, ${inFlight} in flight, ` +
      `median of ${runs} runs (local reference: median of every round)`,
  );
  // Remote rows leave the ONNX column empty: a score worker's time per request includes its queue.
  console.log("| configuration | rows/s (median) | vs local | ONNX ms per 1k rows (median) |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const r of results) {
    const m = median(r.rowsPerSecond);
    console.log(
      `| ${r.config} | ${Math.round(m).toLocaleString("en")} | ${(m / reference).toFixed(2)} | ` +
        `${r.config.startsWith("local") ? median(r.onnxMsPer1k).toFixed(1) : "-"} |`,
    );
  }
}
