import { ok as assert } from "node:assert/strict";
import { fitLof, KitNetScorer, lofScores, trainKitNet } from "../packet_models/mod.ts";
import { fitRobustScaling } from "./anomaly/mod.ts";
import { runOnnxModel } from "./onnx/mod.ts";
import { kitNetToOnnx, lofToOnnx, PACKET_MODEL_SCORE } from "./packet_onnx.ts";
import { Random } from "./random.ts";

/** Heavy-tailed rows with correlated column pairs, like traffic statistics. */
function rows(n: number, cols: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const x = new Float32Array(n * cols);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < cols; c += 2) {
      const base = Math.exp(rng.normal() * 1.5);
      x[r * cols + c] = base;
      if (c + 1 < cols) x[r * cols + c + 1] = base * 3 + rng.next();
    }
  }
  return x;
}

Deno.test("KitNET's ONNX graph agrees with the TypeScript scorer", async () => {
  const cols = 12, n = 2000;
  const x = rows(n, cols, 3);
  const model = trainKitNet(x, n, cols, { featureMapRows: 500, maxAutoencoderSize: 4 });
  const test = rows(300, cols, 4);
  test[5] = 1e4; // one far outlier
  const mine = new KitNetScorer(model).scoreRows(test, 300);
  const out = await runOnnxModel(kitNetToOnnx(model, "input"), "input", test, 300, cols);
  const theirs = out[PACKET_MODEL_SCORE].data as Float32Array;
  assert(theirs.length === 300);
  for (let i = 0; i < 300; i++) {
    assert(
      Math.abs(mine[i] - theirs[i]) <= 1e-4 + 1e-3 * Math.abs(theirs[i]),
      `row ${i}: TypeScript ${mine[i]}, ONNX ${theirs[i]}`,
    );
  }
});

Deno.test("LOF's ONNX graph agrees with the TypeScript scorer", async () => {
  const cols = 6, n = 800;
  const x = rows(n, cols, 5);
  const s = fitRobustScaling(x, n, cols);
  const model = fitLof(x, n, cols, {
    logColumns: Array.from(s.logColumns),
    center: Array.from(s.center),
    scale: Array.from(s.scale),
  }, { k: 10, referenceRows: 400 });
  const test = rows(200, cols, 6);
  test[0] = 1e5;
  const mine = lofScores(model, test, 200);
  const out = await runOnnxModel(lofToOnnx(model, "input"), "input", test, 200, cols);
  const theirs = out[PACKET_MODEL_SCORE].data as Float32Array;
  // float32 distances by expansion can swap near-tied neighbours: nearly every row agrees closely.
  let close = 0;
  for (let i = 0; i < 200; i++) if (Math.abs(mine[i] - theirs[i]) <= 1e-3 * mine[i]) close++;
  assert(close >= 196, `${close} of 200 rows agree within 0.1%`);
  assert(theirs[0] > 3 && mine[0] > 3, `outlier: TypeScript ${mine[0]}, ONNX ${theirs[0]}`);
});

Deno.test("train --models gbdt,kitnet,lof: members in the ensemble, bundle loads, graphs agree", async () => {
  const { parseFamilyList, trainFamilyBundle } = await import("./families/mod.ts");
  const { loadBundle } = await import("../inference/mod.ts");
  const n = 1200, cols = 8;
  const rng = new Random(7);
  const x = new Float32Array(n * cols);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    y[r] = r % 3 === 0 ? 1 : 0;
    for (let c = 0; c < cols; c++) {
      x[r * cols + c] = Math.exp(rng.normal() + (y[r] && c < 3 ? 2 : 0));
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "packet_families_" });
  try {
    const summary = await trainFamilyBundle({
      x,
      y,
      rows: n,
      cols,
      columnNames: Array.from({ length: cols }, (_, i) => `f${i}`),
      classNames: ["benign", "attack"],
      benignClass: 0,
    }, {
      families: parseFamilyList("gbdt,kitnet,lof"),
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
      assert(m.onnxMaxAbsDiff < 1e-3, `${m.family}: ONNX differs by ${m.onnxMaxAbsDiff}`);
    }
    const bundle = await loadBundle(`${dir}/bundle`);
    const anomaly = bundle.json.models[1];
    assert(anomaly.role === "anomaly" && anomaly.ensemble?.members.length === 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
