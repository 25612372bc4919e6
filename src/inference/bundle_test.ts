import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BundleError,
  type BundleJsonInput,
  featureSchemaHash,
  featureSetMismatch,
  fileSha256,
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

/** The packet-level `packet` set as a sensor would report it (a small stand-in list of columns). */
const PACKET_COLUMNS = ["Protocol", "Frame Length", "TTL"];
const PACKET_SETS = [{ name: "packet", version: 1, columns: PACKET_COLUMNS }];

function packetMember(overrides: Record<string, unknown> = {}) {
  return {
    name: "lof@packet",
    family: "lof",
    level: "packet",
    featureSet: {
      name: "packet",
      version: 1,
      schemaHash: featureSchemaHash(PACKET_COLUMNS),
      width: PACKET_COLUMNS.length,
    },
    file: "lof_packet.onnx",
    inputName: "input",
    outputs: { score: "score" },
    threshold: 1.5,
    targetFpr: 0.001,
    minPackets: 3,
    ...overrides,
  };
}

Deno.test("a packet member round-trips with its ONNX file and fits the sensor's packet sets", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await loadBundle(FIXTURE_DIR);
    const json = structuredClone(source.json) as BundleJsonInput;
    json.packetMembers = [packetMember()] as BundleJsonInput["packetMembers"];
    const memberOnnx = new Uint8Array([8, 7, 6, 5]);
    await writeBundle(dir, json, source.onnx, [memberOnnx]);
    const again = await loadBundle(dir, { ...EXPECTED, packetSets: PACKET_SETS });
    assert.equal(again.json.packetMembers.length, 1);
    assert.equal(again.json.packetMembers[0].featureSet.version, "1");
    assert.deepEqual(again.packetOnnx, [memberOnnx]);
    // A bundle without packet members loads as before, with none.
    assert.deepEqual((await loadBundle(FIXTURE_DIR, EXPECTED)).json.packetMembers, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a packet member's weights file round-trips, is sha-256 checked on load and must be given to write", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const source = await loadBundle(FIXTURE_DIR);
    const weights = new TextEncoder().encode('{"featureCount":3}');
    const json = structuredClone(source.json) as BundleJsonInput;
    json.packetMembers = [packetMember({
      name: "kitnet@packet",
      family: "kitnet",
      weights: { file: "kitnet_packet.json", format: "kitnet-json", sha256: fileSha256(weights) },
    })] as BundleJsonInput["packetMembers"];
    const memberOnnx = new Uint8Array([8, 7, 6, 5]);
    await assert.rejects(
      writeBundle(dir, json, source.onnx, [memberOnnx]),
      /kitnet@packet: bundle.json names weights, none given/,
    );
    await writeBundle(dir, json, source.onnx, [memberOnnx], [weights]);
    const again = await loadBundle(dir);
    assert.deepEqual(again.packetWeights, [weights]);
    await Deno.writeTextFile(join(dir, "kitnet_packet.json"), '{"featureCount":4}');
    await assert.rejects(
      loadBundle(dir),
      /kitnet_packet.json has sha-256 [0-9a-f]{64}, bundle.json says/,
    );
    await Deno.remove(join(dir, "kitnet_packet.json"));
    await assert.rejects(loadBundle(dir), /packet member kitnet@packet: cannot read/);
    // A member without weights loads with none (its ONNX graph is scored).
    json.packetMembers = [packetMember()] as BundleJsonInput["packetMembers"];
    await writeBundle(dir, json, source.onnx, [memberOnnx]);
    assert.deepEqual((await loadBundle(dir)).packetWeights, [null]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a packet member whose feature set differs from the sensor's is refused, naming why", async () => {
  const good = JSON.parse(await Deno.readTextFile(join(FIXTURE_DIR, "bundle.json")));
  const withMember = (overrides: Record<string, unknown>) =>
    parseBundleJson(JSON.stringify({ ...good, packetMembers: [packetMember(overrides)] }));
  const sensor = { ...EXPECTED, packetSets: PACKET_SETS };
  assert.equal(featureSetMismatch(withMember({}), sensor), null);
  const renamed = {
    ...packetMember().featureSet,
    schemaHash: featureSchemaHash(["Protocol", "Frame Length", "Hop Limit"]),
  };
  assert.match(
    featureSetMismatch(withMember({ featureSet: renamed }), sensor) ?? "",
    /packet member lof@packet: feature set packet v1 schema hash: bundle has [0-9a-f]{12}\.\.\., sensor has [0-9a-f]{12}\.\.\. \(same name and version, different columns\)/,
  );
  assert.match(
    featureSetMismatch(
      withMember({ featureSet: { ...packetMember().featureSet, version: 2 } }),
      sensor,
    ) ?? "",
    /feature set packet version: bundle has 2, sensor has 1/,
  );
  assert.match(
    featureSetMismatch(
      withMember({ featureSet: { ...packetMember().featureSet, width: 4 } }),
      sensor,
    ) ?? "",
    /feature set packet width: bundle has 4, sensor has 3/,
  );
  assert.match(
    featureSetMismatch(withMember({}), EXPECTED) ?? "",
    /feature set 'packet' is not one this sensor computes \(none\)/,
  );
  // Level and feature set must agree; sequence members carry their window.
  assert.throws(
    () => withMember({ level: "sequence", windowPackets: 16 }),
    /a sequence-level member reads packet-sequence, not feature set 'packet'/,
  );
  assert.throws(
    () =>
      withMember({
        level: "sequence",
        featureSet: { ...packetMember().featureSet, name: "packet-sequence" },
      }),
    /windowPackets is required for sequence-level members/,
  );
  assert.throws(() => withMember({ name: good.models[0].name }), /is used twice/);
  assert.throws(() => withMember({ minPackets: 0 }), /packetMembers\.0\.minPackets/);
  const dir = await Deno.makeTempDir();
  try {
    const source = await loadBundle(FIXTURE_DIR);
    const json = structuredClone(source.json) as BundleJsonInput;
    json.packetMembers = [
      packetMember({ featureSet: renamed }),
    ] as BundleJsonInput["packetMembers"];
    await writeBundle(dir, json, source.onnx, [new Uint8Array(4)]);
    await assert.rejects(
      loadBundle(dir, sensor),
      (e: Error) =>
        e instanceof BundleError &&
        /does not fit this sensor: packet member lof@packet: feature set packet v1 schema hash/
          .test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
