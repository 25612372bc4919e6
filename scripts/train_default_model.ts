/**
 * Trains the bundled default model (models/default) from a dataset recorded
 * by the range (scripts/lab/record_dataset.ts). Every capture is metered and
 * labelled again with the current flow meter, so the model always matches the
 * sensor's feature code, then `ids-sensor train --csv` does the rest.
 *
 *   sudo deno run -A scripts/lab/record_dataset.ts --out /var/tmp/ids-sensor-dataset
 *   deno run -A scripts/train_default_model.ts --dataset /var/tmp/ids-sensor-dataset \
 *     --out models/default [--tune 12] [--seed 1]
 */
import { Command } from "@commander-js/extra-typings";
import {
  createFlowLabeller,
  labelCapture,
  labelledFlowCsvHeader,
  labelledFlowCsvLines,
  parseAttackWindows,
} from "../src/label/mod.ts";

interface DatasetIndex {
  runs: { dir: string; scenario: string; seed: number }[];
}

const options = new Command()
  .name("train_default_model")
  .option("--dataset <dir>", "dataset folder with index.json", "/var/tmp/ids-sensor-dataset")
  .option("--out <dir>", "bundle folder to write", "models/default")
  .option("--tune <n>", "TPE trials for the classifier's hyperparameters", "12")
  .option("--epochs <n>", "autoencoder epochs", "20")
  .option("--target-fpr <f>", "anomaly false-positive rate on held-out benign flows", "0.01")
  .option("--seed <n>", "random seed", "1")
  .parse(Deno.args, { from: "user" })
  .opts();

const index = JSON.parse(await Deno.readTextFile(`${options.dataset}/index.json`)) as DatasetIndex;
if (index.runs.length === 0) throw new Error(`${options.dataset}/index.json lists no runs`);
const csvPath = await Deno.makeTempFile({ prefix: "ids-default-model-", suffix: ".csv" });
try {
  const file = await Deno.open(csvPath, { write: true, truncate: true });
  const writer = file.writable.getWriter();
  const encoder = new TextEncoder();
  await writer.write(encoder.encode(labelledFlowCsvHeader() + "\n"));
  const totals: Record<string, number> = {};
  for (const run of index.runs) {
    const windows = parseAttackWindows(await Deno.readTextFile(`${run.dir}/labels.csv`));
    const summary = await labelCapture(
      `${run.dir}/capture.pcap`,
      createFlowLabeller(windows),
      async (batch, labels) => {
        await writer.write(encoder.encode(labelledFlowCsvLines(batch, labels)));
      },
    );
    for (const [label, n] of Object.entries(summary.byLabel)) {
      totals[label] = (totals[label] ?? 0) + n;
    }
    console.error(`[default-model] ${run.dir}: ${summary.flows} flows`);
  }
  await writer.close();
  console.error(`[default-model] ${JSON.stringify(totals)}`);
  const train = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "train",
      "--csv",
      csvPath,
      "--out",
      options.out,
      "--tune",
      options.tune,
      "--epochs",
      options.epochs,
      "--target-fpr",
      options.targetFpr,
      "--seed",
      options.seed,
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!train.success) Deno.exit(train.code);
} finally {
  await Deno.remove(csvPath);
}
