import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BundleError,
  type BundleJsonInput,
  featureSetMismatch,
  loadBundle,
  parseBundleJson,
  replaceNonFinite,
  writeBundle,
} from "./bundle.ts";
import { findLeaf, runOnnxModel } from "../train/onnx/mod.ts";
import { FIXTURE_TREES } from "../../tests/fixtures/models/make_sklearn_like_forest.ts";

const FIXTURE_DIR =
  new URL("../../tests/fixtures/models/sklearn_like_forest", import.meta.url).pathname;
const COLUMNS = ["Destination Port", "Flow Duration", "Total Fwd Packets", "Flow Bytes/s"];
const EXPECTED = { featureSetName: "fixture-flow-4", featureSetVersion: "1", columns: COLUMNS };

Deno.test("a skl2onnx-layout forest described by bundle.json loads and runs", async () => {
  const bundle = await loadBundle(FIXTURE_DIR, EXPECTED);
  const model = bundle.json.models[0];
  assert.equal(model.role, "classifier");
  if (model.role !== "classifier") return;
  assert.deepEqual(model.classNames, ["BENIGN", "DoS", "PortScan"]);
  const rows = Float32Array.from([
    ...[80, 10, 2, 5e6],
    ...[22, 0.2, 1, 100],
    ...[443, 3e6, 40, 2e3],
    ...[8080, 0, 1, Infinity],
  ]);
  assert.equal(replaceNonFinite(bundle.json.preprocessing, rows), 1);
  const out = await runOnnxModel(bundle.onnx[0], model.inputName, rows, 4, 4);
  const probabilities = out[model.outputs.probabilities].data as Float32Array;
  for (let r = 0; r < 4; r++) {
    const expected = [0, 0, 0];
    for (const tree of FIXTURE_TREES) {
      const leaf = findLeaf(tree, rows, r * 4);
      for (let k = 0; k < 3; k++) expected[k] += tree.value[leaf * 3 + k];
    }
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      sum += probabilities[r * 3 + k];
      assert.ok(Math.abs(probabilities[r * 3 + k] - expected[k]) < 1e-6, `row ${r} class ${k}`);
    }
    assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} sums to ${sum}`);
  }
});

Deno.test("loadBundle names the first differing column, the width, name and version", async () => {
  const swapped = [...COLUMNS];
  swapped[2] = "Total Backward Packets";
  await assert.rejects(
    loadBundle(FIXTURE_DIR, { ...EXPECTED, columns: swapped }),
    /columns differ: first differing column is #2: bundle 'Total Fwd Packets', sensor 'Total Backward Packets'/,
  );
  await assert.rejects(
    loadBundle(FIXTURE_DIR, { ...EXPECTED, columns: [...COLUMNS, "Extra"] }),
    /input width: bundle has 4, sensor has 5 \(first differing column is #4: bundle \(none\), sensor 'Extra'\)/,
  );
  await assert.rejects(
    loadBundle(FIXTURE_DIR, { ...EXPECTED, featureSetVersion: 2 }),
    /version: bundle has 1, sensor has 2/,
  );
  await assert.rejects(
    loadBundle(FIXTURE_DIR, { ...EXPECTED, featureSetName: "cic-flow" }),
    (e: Error) => e instanceof BundleError && /name: bundle has 'fixture-flow-4'/.test(e.message),
  );
});

Deno.test("bundle.json validation catches inconsistent descriptions", async () => {
  const text = await Deno.readTextFile(join(FIXTURE_DIR, "bundle.json"));
  const good = JSON.parse(text);
  const bad = structuredClone(good);
  bad.input.width = 3;
  assert.throws(
    () => parseBundleJson(JSON.stringify(bad)),
    /input width 3 but the feature set lists 4/,
  );
  const badClass = structuredClone(good);
  badClass.models[0].benignClass = "normal";
  assert.throws(() => parseBundleJson(JSON.stringify(badClass)), /benignClass 'normal'/);
  const missing = structuredClone(good);
  delete missing.models[0].inputName;
  assert.throws(() => parseBundleJson(JSON.stringify(missing)), /models\.0\.inputName/);
  assert.match(featureSetMismatch(parseBundleJson(text), EXPECTED) ?? "fits", /fits/);
});

Deno.test("classGate is optional and checked against the classifier's classes", async () => {
  const good = JSON.parse(await Deno.readTextFile(join(FIXTURE_DIR, "bundle.json")));
  // The fixture (an external model) has none: no gate, nothing required.
  assert.equal(parseBundleJson(JSON.stringify(good)).models.length, 1);
  const withGate = structuredClone(good);
  withGate.models.push({
    role: "anomaly",
    name: "gate-carrier",
    file: "anomaly.onnx",
    inputName: "input",
    outputs: { score: "score" },
    threshold: 1,
    targetFpr: 0.01,
    classGate: {
      output: "class_distance",
      classNames: ["DoS", "PortScan"],
      thresholds: [1.5, 2.5],
      targetRejection: 0.01,
    },
  });
  const parsed = parseBundleJson(JSON.stringify(withGate));
  const anomaly = parsed.models[1];
  assert.ok(anomaly.role === "anomaly" && anomaly.classGate?.output === "class_distance");
  const short = structuredClone(withGate);
  short.models[1].classGate.thresholds = [1.5];
  assert.throws(
    () => parseBundleJson(JSON.stringify(short)),
    /classGate has 1 thresholds for 2 classes/,
  );
  const stranger = structuredClone(withGate);
  stranger.models[1].classGate.classNames = ["DoS", "slowloris"];
  assert.throws(
    () => parseBundleJson(JSON.stringify(stranger)),
    /classGate class 'slowloris' is not a classifier class/,
  );
});

Deno.test("strongThreshold is optional, round-trips, and may not be below threshold", async () => {
  const good = JSON.parse(await Deno.readTextFile(join(FIXTURE_DIR, "bundle.json")));
  const anomaly = {
    role: "anomaly",
    name: "anomaly",
    file: "anomaly.onnx",
    inputName: "input",
    outputs: { score: "score" },
    threshold: 1.1,
    targetFpr: 0.01,
  };
  const without = structuredClone(good);
  without.models.push(anomaly);
  const a = parseBundleJson(JSON.stringify(without)).models[1];
  assert.ok(a.role === "anomaly" && a.strongThreshold === undefined);
  const withStrong = structuredClone(without);
  withStrong.models[1].strongThreshold = 3.05;
  const parsed = parseBundleJson(JSON.stringify(withStrong));
  const b = parseBundleJson(JSON.stringify(parsed)).models[1];
  assert.ok(b.role === "anomaly" && b.strongThreshold === 3.05);
  const below = structuredClone(without);
  below.models[1].strongThreshold = 1;
  assert.throws(
    () => parseBundleJson(JSON.stringify(below)),
    /strongThreshold 1 is below threshold 1.1/,
  );
});

Deno.test("writeBundle round-trips through loadBundle", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await loadBundle(FIXTURE_DIR);
    const json = structuredClone(source.json) as BundleJsonInput;
    json.models[0].file = "forest.onnx";
    await writeBundle(dir, json, source.onnx);
    const again = await loadBundle(dir, EXPECTED);
    assert.deepEqual(again.onnx[0], source.onnx[0]);
    assert.equal(again.json.models[0].file, "forest.onnx");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
