/**
 * End to end: `ids-sensor train --csv` on a CIC-style CSV with the sensor's
 * feature columns writes a bundle that loadBundle accepts for the sensor's
 * feature set and whose models run under onnxruntime-web.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildCli } from "../src/cli/mod.ts";
import { FEATURE_SET } from "../src/features/schema.ts";
import { loadBundle } from "../src/inference/bundle.ts";
import { runOnnxModel } from "../src/train/onnx/mod.ts";
import { syntheticDataset } from "./support/train_synthetic_data.ts";

Deno.test("train --csv writes a bundle that fits the sensor and runs", async () => {
  const columns = FEATURE_SET.columns.map((c) => c.name);
  const d = syntheticDataset(1200, columns.length, 3, 5);
  const header = [" Flow ID", " Source IP", ...columns.map((c) => ` ${c}`), " Label"].join(",");
  const lines = [header];
  for (let i = 0; i < d.rows; i++) {
    const values = Array.from(d.x.subarray(i * d.cols, (i + 1) * d.cols), String);
    if (i === 0) values[3] = "Infinity";
    lines.push([`f${i}`, "10.0.0.1", ...values, d.classNames[d.y[i]]].join(","));
  }
  const dir = await Deno.makeTempDir();
  try {
    const csv = join(dir, "flows.csv");
    await Deno.writeTextFile(csv, lines.join("\n") + "\n");
    const out = join(dir, "bundle");
    await buildCli().exitOverride().parseAsync(
      ["train", "--csv", csv, "--out", out, "--epochs", "2", "--quiet", "--target-fpr", "0.05"],
      { from: "user" },
    );
    const bundle = await loadBundle(out, {
      featureSetName: FEATURE_SET.name,
      featureSetVersion: FEATURE_SET.version,
      columns,
    });
    assert.deepEqual(bundle.json.models.map((m) => m.role), ["classifier", "anomaly"]);
    assert.deepEqual(bundle.json.training?.metrics?.loaderIssues, { "infinite value": 1 });
    const classifier = bundle.json.models[0];
    const anomaly = bundle.json.models[1];
    if (classifier.role !== "classifier" || anomaly.role !== "anomaly") throw new Error("roles");
    assert.deepEqual([...classifier.classNames].sort(), ["BENIGN", "attack1", "attack2"]);
    assert.equal(classifier.benignClass, "BENIGN");
    assert.equal(anomaly.targetFpr, 0.05);
    assert.equal(anomaly.components.length, 2);
    // The strong threshold is recorded with how it was calibrated (here: too few rows for 0.005).
    assert.ok(anomaly.strongThreshold !== undefined && anomaly.strongThreshold > anomaly.threshold);
    const strong = anomaly.training?.metrics?.strongThreshold as {
      threshold: number;
      method: string;
      targetFpr: number;
      rule: string;
    };
    assert.equal(strong.threshold, anomaly.strongThreshold);
    assert.equal(strong.targetFpr, 0.005);
    assert.equal(strong.method, "max-margin");
    assert.match(strong.rule, /too small/);
    const rows = 50;
    const x = d.x.slice(0, rows * d.cols);
    const probabilities = await runOnnxModel(bundle.onnx[0], classifier.inputName, x, rows, d.cols);
    const p = probabilities[classifier.outputs.probabilities].data as Float32Array;
    for (let i = 0; i < rows; i++) {
      const sum = p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2];
      assert.ok(Math.abs(sum - 1) < 1e-5);
    }
    const scores = await runOnnxModel(bundle.onnx[1], anomaly.inputName, x, rows, d.cols);
    assert.equal((scores[anomaly.outputs.score].data as Float32Array).length, rows);
    const agreement = classifier.training?.onnxAgreement as { maxAbsDiffProbabilities: number };
    assert.ok(agreement.maxAbsDiffProbabilities < 1e-5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --base-bundle --packet-models --tune on a labelled capture records the search in the bundle", async () => {
  const lab = new URL("./fixtures/lab/", import.meta.url).pathname;
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "bundle");
    await buildCli().exitOverride().parseAsync([
      "train",
      "--base-bundle",
      new URL("../models/default", import.meta.url).pathname,
      "--capture",
      join(lab, "mixed/capture.pcap"),
      "--labels",
      join(lab, "mixed/labels.csv"),
      "--benign-pcap",
      join(lab, "benign/capture.pcap"),
      "--packet-models",
      "iforest",
      "--tune",
      "2",
      "--packet-holdout",
      "syn-scan",
      "--out",
      out,
      "--quiet",
    ], { from: "user" });
    const bundle = await loadBundle(out);
    const [member] = bundle.json.packetMembers;
    const tuning = member.training?.tuning as {
      searchTypes: string[];
      heldOutType: string;
      trials: { params: Record<string, number> }[];
      chosen: { params: Record<string, number>; heldOut: { type: string; packets: number } };
    };
    assert.deepEqual(tuning.searchTypes, ["syn-flood"]);
    assert.equal(tuning.heldOutType, "syn-scan");
    assert.equal(tuning.trials.length, 2);
    assert.equal(tuning.chosen.heldOut.type, "syn-scan");
    assert.ok(tuning.chosen.heldOut.packets > 0);
    // The member was trained with the chosen parameters.
    for (const [k, v] of Object.entries(tuning.chosen.params)) {
      assert.equal(member.training?.hyperparameters?.[k], v);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
