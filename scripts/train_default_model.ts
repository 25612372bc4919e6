/**
 * Trains the bundled default model (models/default) from a dataset recorded
 * by the range (scripts/lab/record_dataset.ts), plus any extra run folders
 * (`--extra DIR...`, each with capture.pcap and labels.csv). Every capture is metered and
 * labelled again with the current flow meter, so the model always matches the
 * sensor's feature code, then `ids-sensor train --csv` does the rest.
 *
 *   sudo deno run -A scripts/lab/record_dataset.ts --out /var/tmp/ids-sensor-dataset
 *   deno run -A scripts/train_default_model.ts --dataset /var/tmp/ids-sensor-dataset \
 *     --out models/default [--extra DIR...] [--tune 12] [--seed 1]
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
  .option(
    "--extra <dirs...>",
    "more run folders (capture.pcap + labels.csv), e.g. long benign runs",
  )
  .option("--tune <n>", "TPE trials for the classifier's hyperparameters", "12")
  .option("--epochs <n>", "autoencoder epochs", "20")
  .option("--target-fpr <f>", "anomaly false-positive rate on held-out benign flows", "0.01")
  .option("--seed <n>", "random seed", "1")
  .option(
    "--max-per-class <n>",
    "keep at most this many flows of an attack class (a seeded random sample): floods would otherwise outweigh benign traffic 20 to 1",
    "6000",
  )
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
  // Rows grouped by label (the CSV's last column), then capped per class.
  const rowsByLabel = new Map<string, string[]>();
  const runs = [...index.runs.map((r) => r.dir), ...(options.extra ?? [])];
  for (const dir of runs) {
    const run = { dir };
    const windows = parseAttackWindows(await Deno.readTextFile(`${run.dir}/labels.csv`));
    const summary = await labelCapture(
      `${run.dir}/capture.pcap`,
      createFlowLabeller(windows),
      (batch, labels) => {
        for (const line of labelledFlowCsvLines(batch, labels).split("\n")) {
          if (line === "") continue;
          const label = line.slice(line.lastIndexOf(",") + 1);
          if (!rowsByLabel.has(label)) rowsByLabel.set(label, []);
          rowsByLabel.get(label)!.push(line);
        }
      },
    );
    console.error(`[default-model] ${run.dir}: ${summary.flows} flows`);
  }
  const cap = Number(options.maxPerClass);
  let state = Number(options.seed) >>> 0 || 1;
  const random = () => {
    // xorshift32: a seeded shuffle, the same sample on every run.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const kept: Record<string, string> = {};
  for (const [label, rows] of rowsByLabel) {
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    // Benign traffic is never capped: its variety is what the anomaly detector learns.
    const sample = label === "BENIGN" ? rows : rows.slice(0, cap);
    kept[label] = `${sample.length} of ${rows.length}`;
    await writer.write(encoder.encode(sample.join("\n") + "\n"));
  }
  await writer.close();
  console.error(`[default-model] flows kept per class: ${JSON.stringify(kept)}`);
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
