import assert from "node:assert/strict";
import { join } from "node:path";
import { createJsonlSink, readJsonlAlerts } from "../alert/mod.ts";
import type { FlowBatch } from "../features/mod.ts";
import { OnnxGraphBuilder } from "../train/onnx/mod.ts";
import { addFlow, emptyBatch, type TestFlow } from "../../tests/support/flow_batches.ts";
import { makeBundle } from "../../tests/support/inference_models.ts";
import { createSwappableDetector, packetMembersChange } from "./swappable_detector.ts";

const COLUMNS = ["Flow Duration", "Flow Packets/s"];
const T0 = Date.UTC(2026, 0, 2, 3, 4, 0) * 1000;

/** Benign logit 5, attack logit = `weight` x Flow Packets/s (weight 0: nothing is an attack). */
function rateClassifier(weight = 1): Uint8Array {
  const g = new OnnxGraphBuilder("rate");
  g.addInput("input", "float32", ["N", 2]);
  g.addFloatInitializer("w", [0, 0, 0, weight], [2, 2]);
  g.addFloatInitializer("b", [5, 0], [2]);
  const [m] = g.addNode("MatMul", ["input", "w"]);
  const [l] = g.addNode("Add", [m, "b"]);
  g.addNode("Softmax", [l], { outputs: ["probabilities"], attributes: { axis: 1 } });
  g.addOutput("probabilities", "float32", ["N", 2]);
  return g.build();
}

function bundleNamed(attackClass: string, onnx = rateClassifier()) {
  return makeBundle({
    columns: COLUMNS,
    classifier: {
      onnx,
      classNames: ["BENIGN", attackClass],
      benignClass: "BENIGN",
      thresholds: [0.5, 0.9],
    },
  });
}

/** 400 flows over 40 s: every other one from the attacker (rate 20 -> attack). */
function batches(): FlowBatch[] {
  const out: FlowBatch[] = [];
  for (let b = 0; b < 20; b++) {
    const batch = emptyBatch(20, COLUMNS.length);
    for (let i = 0; i < 20; i++) {
      const k = b * 20 + i;
      const attack = k % 2 === 0;
      const flow: TestFlow = {
        src: attack ? "10.0.0.66" : `10.0.1.${k % 200}`,
        dst: "10.0.0.10",
        srcPort: 30000 + k,
        dstPort: 80,
        startMicros: T0 + k * 100_000,
        endMicros: T0 + k * 100_000 + 1000,
        fwdPackets: 2,
        bwdPackets: 1,
        features: { 0: 1000, 1: attack ? 20 : 0 },
      };
      addFlow(batch, flow);
    }
    out.push(batch);
  }
  return out;
}

Deno.test("swap between two batches: every flow scored once, later batches by the new bundle", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const sink = await createJsonlSink(join(dir, "alerts.jsonl"));
    let alerts = 0;
    const detector = await createSwappableDetector({
      bundle: bundleNamed("DoS Hulk"),
      sinks: [sink],
      windowSeconds: 10,
      pool: { maxBatchRows: 64, maxWaitMs: 5 },
      onAlert: () => alerts++,
    });
    const all = batches();
    for (const [i, batch] of all.entries()) {
      if (i === 10) {
        // A bundle whose model cannot load is refused; the running one stays.
        await assert.rejects(() => detector.swap(bundleNamed("X", new Uint8Array([1, 2, 3]))));
        // The new bundle calls nothing an attack: its batches come out benign.
        await detector.swap(bundleNamed("DoS Hulk", rateClassifier(0)));
      }
      await detector.push(batch);
    }
    await detector.drain();
    const stats = detector.stats();
    await detector.close();
    assert.equal(stats.flows, 400);
    assert.equal(stats.batches, 20);
    assert.equal(stats.inference.rows, 400);
    // Ten batches of ten attack flows before the swap were known; none after it.
    assert.equal(stats.known, 100);
    assert.equal(stats.benign + stats.unknown, 300);
    // Alerts of the old detector were emitted (its drain) into the shared, still open sink.
    assert.equal(stats.alerts, alerts);
    assert.equal((await readJsonlAlerts(join(dir, "alerts.jsonl"))).length, alerts);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("packetMembersChange: a bundle whose packet members differ is refused by swap", async () => {
  const running = bundleNamed("DoS Hulk");
  const member = {
    name: "kitnet",
    family: "kitnet",
    level: "packet" as const,
    featureSet: { name: "afterimage", version: "1", schemaHash: "0".repeat(64), width: 4 },
    file: "kitnet.onnx",
    inputName: "input",
    outputs: { score: "score" },
    threshold: 1,
    targetFpr: 0.001,
    minPackets: 3,
  };
  const withMember = (onnx: Uint8Array) => {
    const b = bundleNamed("DoS Hulk");
    return { ...b, json: { ...b.json, packetMembers: [member] }, packetOnnx: [onnx] };
  };
  // Same flow models, same (no) packet members: nothing to refuse.
  assert.equal(packetMembersChange(running, bundleNamed("DoS Hulk", rateClassifier(0))), null);
  // Adding, removing or retraining a packet member is a change.
  const added = packetMembersChange(running, withMember(new Uint8Array([1])));
  assert.match(added ?? "", /packet members \(kitnet\) differ from the running ones \(none\)/);
  assert.match(added ?? "", /restart the sensor/);
  assert.notEqual(packetMembersChange(withMember(new Uint8Array([1])), running), null);
  assert.notEqual(
    packetMembersChange(withMember(new Uint8Array([1])), withMember(new Uint8Array([2]))),
    null,
  );
  assert.equal(
    packetMembersChange(withMember(new Uint8Array([1])), withMember(new Uint8Array([1]))),
    null,
  );

  const dir = await Deno.makeTempDir();
  try {
    const detector = await createSwappableDetector({
      bundle: running,
      sinks: [await createJsonlSink(join(dir, "alerts.jsonl"))],
      windowSeconds: 10,
      pool: { maxBatchRows: 64, maxWaitMs: 5 },
    });
    await assert.rejects(
      () => detector.swap(withMember(new Uint8Array([1]))),
      /restart the sensor to change packet members/,
    );
    // The running bundle stays.
    assert.equal(detector.bundle, running);
    await detector.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
