/**
 * `ids-sensor eval` end to end: a small bundle trained here on the mixed lab
 * fixture, evaluated on the syn-scan fixture through the CLI (capture path
 * and CSV path), with the JSON checked for internal consistency and against
 * the labeller's own counts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FEATURE_SET } from "../src/features/mod.ts";
import { datasetFromCapture } from "../src/train/capture_dataset.ts";
import { classCounts } from "../src/train/dataset.ts";
import { DEFAULT_TRAIN_OPTIONS, trainBundle } from "../src/train/pipeline.ts";
import type { EvalSummary } from "../src/eval/mod.ts";

const LAB = new URL("./fixtures/lab/", import.meta.url).pathname;
const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** A small bundle from the mixed fixture (syn-scan, syn-flood, benign): seconds to train. */
async function trainSmallBundle(dir: string): Promise<void> {
  const scenario = join(LAB, "mixed");
  const d = await datasetFromCapture(
    join(scenario, "capture.pcap"),
    await Deno.readTextFile(join(scenario, "labels.csv")),
  );
  await trainBundle(d, {
    ...DEFAULT_TRAIN_OPTIONS,
    outDir: dir,
    featureSet: { name: FEATURE_SET.name, version: FEATURE_SET.version },
    dataSource: "tests/fixtures/lab/mixed",
    targetFpr: 0.05,
    epochs: 3,
    gbdt: { rounds: 15, maxDepth: 4 },
  });
}

function checkConsistency(s: EvalSummary): void {
  const total = s.multiClass.confusion.flat().reduce((a, b) => a + b, 0);
  assert.equal(total, s.rows);
  assert.equal(s.verdicts.benign + s.verdicts.known + s.verdicts.unknown, s.rows);
  assert.equal(s.benignRows + s.attackRows, s.rows);
  const binaryTotal = s.binary.confusion.flat().reduce((a, b) => a + b, 0);
  assert.equal(binaryTotal, s.rows);
  for (const b of s.byLabel) assert.equal(b.benign + b.known + b.unknown, b.rows);
}

Deno.test("eval CLI: capture and CSV paths agree; JSON consistent with the labeller", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "eval_cli_" });
  try {
    const model = join(tmp, "bundle");
    await trainSmallBundle(model);
    const scenario = join(LAB, "syn-scan");
    const capture = join(scenario, "capture.pcap");
    const labels = join(scenario, "labels.csv");
    const truth = classCounts(await datasetFromCapture(capture, await Deno.readTextFile(labels)));

    const run = await cli([
      "eval",
      "--capture",
      capture,
      "--labels",
      labels,
      "--model",
      model,
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const s = JSON.parse(run.stdout) as EvalSummary;
    checkConsistency(s);
    assert.equal(s.rows, Object.values(truth).reduce((a, b) => a + b, 0));
    assert.deepEqual(
      Object.fromEntries(s.byLabel.map((b) => [b.label, b.rows])),
      truth,
    );
    assert.equal(s.byLabel.find((b) => b.label === "syn-scan")!.modelClass, "syn-scan");
    // One window in labels.csv; its flows are exactly the syn-scan flows.
    assert.equal(s.episodes!.length, 1);
    const episode = s.episodes![0];
    assert.equal(episode.flows, truth["syn-scan"]);
    assert.equal(episode.alerted, episode.flagged > 0);
    // The model was trained on another capture's syn-scan: it must alert on this one.
    assert.ok(episode.alerted, "syn-scan episode not alerted by a model trained on syn-scan");
    assert.ok(episode.detectionDelaySeconds! >= 0);
    assert.ok(s.anomaly !== null && s.anomaly.rocAuc !== null);

    // The same flows as a labelled CSV (ids-sensor label) through --csv give the same verdicts.
    const csv = join(tmp, "flows.csv");
    const label = await cli(["label", capture, "--labels", labels, "--out", csv]);
    assert.equal(label.code, 0, label.stderr);
    const viaCsv = await cli(["eval", "--csv", csv, "--format", "cic", "--model", model, "--json"]);
    assert.equal(viaCsv.code, 0, viaCsv.stderr);
    const c = JSON.parse(viaCsv.stdout) as EvalSummary;
    checkConsistency(c);
    assert.equal(c.episodes, null);
    assert.deepEqual(c.verdicts, s.verdicts);
    assert.deepEqual(c.multiClass.confusion, s.multiClass.confusion);

    // Text output names every section; --threshold 1 leaves only probability-1 known verdicts.
    const text = await cli([
      "eval",
      "--capture",
      capture,
      "--labels",
      labels,
      "--model",
      model,
      "--threshold",
      "1",
    ]);
    assert.equal(text.code, 0, text.stderr);
    for (const part of ["binary view", "confusion matrix", "ROC-AUC", "attack episodes"]) {
      assert.ok(text.stdout.includes(part), `text output lacks "${part}"`);
    }
    assert.match(text.stdout, /class threshold 1/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("eval CLI: bad invocations fail with a clear message and a sysexits code", async () => {
  const both = await cli(["eval", "--capture", "x.pcap", "--csv", "y.csv", "--model", "m"]);
  assert.equal(both.code, 64);
  assert.match(both.stderr, /exactly one of --capture/);
  const noLabels = await cli(["eval", "--capture", "x.pcap", "--model", "m"]);
  assert.equal(noLabels.code, 64);
  assert.match(noLabels.stderr, /--capture needs --labels/);
  const badThreshold = await cli([
    "eval",
    "--csv",
    "y.csv",
    "--model",
    "m",
    "--threshold",
    "1.5",
  ]);
  assert.equal(badThreshold.code, 64);
  assert.match(badThreshold.stderr, /--threshold must be a probability in \(0, 1\], got "1.5"/);
  const noCsv = await cli(["eval", "--csv", "/nonexistent/y.csv"]);
  assert.equal(noCsv.code, 66);
  assert.match(noCsv.stderr, /CSV file \/nonexistent\/y.csv does not exist/);
  const noBundle = await cli([
    "eval",
    "--capture",
    `${LAB}syn-scan/capture.pcap`,
    "--labels",
    `${LAB}syn-scan/labels.csv`,
    "--model",
    "/nonexistent/bundle",
  ]);
  assert.equal(noBundle.code, 65);
  assert.match(noBundle.stderr, /cannot read .*bundle\.json/);
});
