/**
 * End to end through the CLI: `train --models` writes a bundle with the
 * classifier and the ensemble; `eval --compare` prints one table; unknown
 * family names and misplaced flags are refused with a clear message.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildCli } from "../src/cli/mod.ts";
import { FEATURE_SET } from "../src/features/schema.ts";
import { loadBundle } from "../src/inference/bundle.ts";
import { syntheticDataset } from "./support/train_synthetic_data.ts";

async function writeCsv(dir: string): Promise<string> {
  const columns = FEATURE_SET.columns.map((c) => c.name);
  const d = syntheticDataset(900, columns.length, 3, 11);
  const lines = [[...columns.map((c) => ` ${c}`), " Label"].join(",")];
  for (let i = 0; i < d.rows; i++) {
    lines.push(
      [...Array.from(d.x.subarray(i * d.cols, (i + 1) * d.cols), String), d.classNames[d.y[i]]]
        .join(","),
    );
  }
  const csv = join(dir, "flows.csv");
  await Deno.writeTextFile(csv, lines.join("\n") + "\n");
  return csv;
}

const cli = (args: string[]) => buildCli().exitOverride().parseAsync(args, { from: "user" });

Deno.test("train --models and eval --compare through the CLI", async () => {
  const dir = await Deno.makeTempDir();
  const printed: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => printed.push(a.join(" "));
  try {
    const csv = await writeCsv(dir);
    const out = join(dir, "bundle");
    await cli([
      "train",
      "--csv",
      csv,
      "--out",
      out,
      "--models",
      "gbdt,dense-ae",
      "--voting",
      "any",
      "--quiet",
    ]);
    const bundle = await loadBundle(out, {
      featureSetName: FEATURE_SET.name,
      featureSetVersion: FEATURE_SET.version,
      columns: FEATURE_SET.columns.map((c) => c.name),
    });
    const anomaly = bundle.json.models[1];
    assert.equal(anomaly.role === "anomaly" && anomaly.ensemble?.mode, "any");
    await cli([
      "eval",
      "--compare",
      "--csv",
      csv,
      "--models",
      "gbdt,iforest",
      "--folds",
      "2",
      "--leave-out",
      "attack2",
      "--voting",
      "weighted",
      "--quiet",
    ]);
    const table = printed.join("\n");
    assert.match(table, /\| gbdt \|/);
    assert.match(table, /\| ensemble:weighted \|/);
    assert.match(table, /unseen attack2/);
  } finally {
    console.log = log;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unknown families, unknown left-out types and --compare without --csv are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const csv = await writeCsv(dir);
    await assert.rejects(
      cli(["train", "--csv", csv, "--out", join(dir, "b"), "--models", "gbdt,svm", "--quiet"]),
      /unknown model family "svm"/,
    );
    await assert.rejects(
      cli(["eval", "--compare", "--csv", csv, "--leave-out", "nope", "--quiet"]),
      /no rows of attack type "nope"/,
    );
    await assert.rejects(cli(["eval", "--compare", "--quiet"]), /--compare needs --csv/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
