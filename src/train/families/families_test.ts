import assert from "node:assert/strict";
import {
  createInferencePool,
  inferenceModelsFromBundle,
  loadBundle,
  modelNames,
} from "../../inference/mod.ts";
import type { Dataset } from "../dataset.ts";
import { Random } from "../random.ts";
import { FamilyError, parseFamilyList, trainFamilyBundle } from "./mod.ts";

Deno.test("parseFamilyList: known families in order; unknown, unbuilt and repeated names are refused", () => {
  assert.deepEqual(parseFamilyList("gbdt, cnn,lstm-ae").map((f) => f.name), [
    "gbdt",
    "cnn",
    "lstm-ae",
  ]);
  assert.throws(
    () => parseFamilyList("gbdt,svm"),
    (e: Error) => e instanceof FamilyError && /unknown model family "svm"/.test(e.message),
  );
  assert.deepEqual(parseFamilyList("kitnet,lof").map((f) => f.name), ["kitnet", "lof"]);
  assert.throws(() => parseFamilyList("cnn,cnn"), /twice/);
  assert.throws(() => parseFamilyList(" , "), /empty/);
});

function dataset(rows: number): Dataset {
  const rng = new Random(7);
  const cols = 10;
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    y[r] = r % 3 === 0 ? 1 : 0;
    for (let c = 0; c < cols; c++) {
      x[r * cols + c] = Math.exp(rng.normal() + (y[r] && c < 3 ? 2 : 0));
    }
  }
  return {
    x,
    y,
    rows,
    cols,
    columnNames: Array.from({ length: cols }, (_, i) => `f${i}`),
    classNames: ["benign", "attack"],
    benignClass: 0,
  };
}

Deno.test("train --models: a bundle with the classifier and the ensemble, loadable, graphs agreeing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "family_bundle_" });
  try {
    const summary = await trainFamilyBundle(dataset(1200), {
      families: parseFamilyList("gbdt,dense-ae,iforest"),
      outDir: `${dir}/bundle`,
      featureSet: { name: "synthetic", version: 1 },
      dataSource: "synthetic",
      seed: 1,
      targetFpr: 0.05,
      tune: 0,
      voting: "weighted",
      proportion: 0.5,
      evaluationFraction: 0.2,
      validationFraction: 0.25,
    });
    for (const m of summary.members) {
      assert.ok(m.onnxMaxAbsDiff < 1e-4, `${m.family} ${m.onnxMaxAbsDiff}`);
    }
    assert.ok(
      summary.ensemble!.onnxAlertMismatches <= 2,
      `${summary.ensemble!.onnxAlertMismatches}`,
    );
    assert.ok(
      summary.ensemble!.detectionRate > 0.5,
      `detection ${summary.ensemble!.detectionRate}`,
    );
    const bundle = await loadBundle(`${dir}/bundle`);
    assert.deepEqual(bundle.json.models.map((m) => m.role), ["classifier", "anomaly"]);
    const anomaly = bundle.json.models[1];
    assert.equal(anomaly.role === "anomaly" && anomaly.ensemble?.members.length, 3);
    assert.deepEqual(modelNames(bundle).voters, ["gbdt", "dense-ae", "iforest"]);
    // The inference worker returns each row's votes beside the ensemble's score.
    const pool = await createInferencePool(inferenceModelsFromBundle(bundle));
    try {
      const rows = dataset(50);
      const pending = pool.infer(rows.x, rows.rows);
      pool.flush();
      const scores = await pending;
      const ensemble = scores.outputs.find((o) => o.role === "anomaly")!;
      assert.equal(ensemble.voteColumns, 3);
      assert.equal(ensemble.votes!.length, 50 * 3);
      assert.ok(ensemble.votes!.every((v) => v === 0 || v === 1));
    } finally {
      await pool.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("eval --compare: every family and ensemble mode measured, the left-out type never trained on", async () => {
  const d = dataset(900);
  // Two attack types of the one attack class: "a" and "b" (every other attack row).
  let k = 0;
  const attackType = Array.from(d.y, (c) => (c === 1 ? (k++ % 2 ? "b" : "a") : "benign"));
  const { compareFamilies, formatComparison } = await import("./mod.ts");
  const result = await compareFamilies(d, {
    families: parseFamilyList("gbdt,iforest"),
    folds: 2,
    leaveOut: ["b"],
    attackType,
    targetFpr: 0.05,
    validationFraction: 0.25,
    tune: 0,
    ensembleModes: ["any", "weighted"],
    weightings: ["leave-type-out", "validation"],
    innerTypes: 2,
    proportion: 0.5,
    seed: 1,
    speedRows: 100,
  });
  assert.deepEqual(result.rows.map((r) => r.name), [
    "gbdt",
    "iforest",
    "ensemble:any",
    "ensemble:weighted",
    "ensemble:any/val",
    "ensemble:weighted/val",
  ]);
  // Nested: the weights of each fold are learned by holding out "a", never the evaluation's "b".
  assert.deepEqual(result.innerHeldOut, [["a"], ["a"]]);
  for (const row of result.rows) {
    assert.equal(row.leftOutDetected, row.leftOut.b >= 0.5 ? 1 : 0);
  }
  for (const row of result.rows) {
    assert.ok(row.leftOut.b >= 0 && row.leftOut.b <= 1);
    assert.ok(row.benignFpr < 0.2, `${row.name} FPR ${row.benignFpr}`);
  }
  assert.ok(result.rows[0].f1 && result.rows[0].f1.benign > 0.8);
  assert.match(formatComparison(result), /\| unseen b \|/);
});
