/**
 * `deno task bench:fleet`: remote scoring throughput with 1, 2 and 4 score
 * workers (`ids-sensor score-worker` processes on a real nats-server), with
 * local inference in the same run as the reference. Rows are real feature
 * rows (a lab capture's flows through the flow meter), repeated to --rows.
 * Reports medians of --runs runs and ratios to local scoring.
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
import { createRemotePool } from "../src/fleet/mod.ts";
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

/** Scores every row through `pool`, `inFlight` batches at a time; rows per second. */
async function measure(pool: InferencePool): Promise<number> {
  const started = performance.now();
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
  return totalRows / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const nats = await startNatsServer();
const results: { config: string; rowsPerSecond: number[] }[] = [];
try {
  const local = await createInferencePool(models);
  const remote = await createRemotePool(models, {
    nats: { url: nats.url },
    sensor: "bench",
    log: () => {},
  });
  const configs = [{
    config: "local (1 inference worker, no NATS)",
    rowsPerSecond: [] as number[],
  }];
  for (const n of workerCounts) {
    configs.push({ config: `remote, ${n} score worker${n === 1 ? "" : "s"}`, rowsPerSecond: [] });
  }
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
  // Warm-up of the local pool too.
  await local.infer(rows.subarray(0, 64 * width), 64);
  for (const [index, n] of [0, ...workerCounts].entries()) {
    if (n > 0) await startWorkers(n);
    for (let run = 0; run < runs; run++) {
      // The local reference runs in every round, so load changes hit both.
      if (index === 0) configs[0].rowsPerSecond.push(await measure(local));
      else {
        configs[index].rowsPerSecond.push(await measure(remote));
        configs[0].rowsPerSecond.push(await measure(local));
      }
    }
  }
  for (const w of workers) w.kill("SIGTERM");
  await Promise.all(workers.map((w) => w.status));
  await remote.close();
  await local.close();
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
  console.log("| configuration | rows/s (median) | vs local |");
  console.log("| --- | ---: | ---: |");
  for (const r of results) {
    const m = median(r.rowsPerSecond);
    console.log(
      `| ${r.config} | ${Math.round(m).toLocaleString("en")} | ${(m / reference).toFixed(2)} |`,
    );
  }
}
