import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { AlertSchema } from "../alert/mod.ts";
import { createJsonlSink, createSqliteSink, readJsonlAlerts } from "../alert/sinks/mod.ts";
import type { FlowBatch } from "../features/mod.ts";
import { createDetector } from "./detector.ts";
import { OnnxGraphBuilder } from "../train/onnx/mod.ts";
import { addFlow, emptyBatch, type TestFlow } from "../../tests/support/flow_batches.ts";
import { makeBundle } from "../../tests/support/inference_models.ts";

const COLUMNS = [
  "Flow Duration",
  "Total Length of Fwd Packets",
  "Total Length of Bwd Packets",
  "Flow Packets/s",
];
const T0 = Date.UTC(2026, 0, 2, 3, 4, 0) * 1000;

/** Benign logit 5; "DoS Hulk" logit = Flow Packets/s; "PortScan" logit 0. */
function rateClassifier(): Uint8Array {
  const g = new OnnxGraphBuilder("rate");
  g.addInput("input", "float32", ["N", 4]);
  g.addFloatInitializer("w", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], [4, 3]);
  g.addFloatInitializer("b", [5, 0, 0], [3]);
  const [m] = g.addNode("MatMul", ["input", "w"]);
  const [l] = g.addNode("Add", [m, "b"]);
  g.addNode("Softmax", [l], { outputs: ["probabilities"], attributes: { axis: 1 } });
  g.addOutput("probabilities", "float32", ["N", 3]);
  return g.build();
}

/** score = mean(x^2), feature_errors = x^2: an autoencoder that reconstructs zeros. */
function energyModel(): Uint8Array {
  const g = new OnnxGraphBuilder("energy");
  g.addInput("input", "float32", ["N", 4]);
  g.addNode("Mul", ["input", "input"], { outputs: ["feature_errors"] });
  g.addNode("ReduceMean", ["feature_errors"], {
    outputs: ["score"],
    attributes: { axes: { ints: [1] }, keepdims: 0 },
  });
  g.addOutput("score", "float32", ["N"]);
  g.addOutput("feature_errors", "float32", ["N", 4]);
  return g.build();
}

function flows(): TestFlow[] {
  const out: TestFlow[] = [];
  for (let k = 0; k < 300; k++) {
    out.push({
      src: `10.9.${k % 7}.${k % 200}`,
      dst: "10.0.0.53",
      srcPort: 30000 + k,
      dstPort: 53,
      protocol: 17,
      startMicros: T0 + k * 10_000,
      endMicros: T0 + k * 10_000 + 1000,
      fwdPackets: 1,
      bwdPackets: 1,
      features: { 0: 1, 1: 2, 2: 3, 3: 1 },
    });
  }
  for (let k = 0; k < 200; k++) {
    out.push({
      src: "10.0.0.1",
      dst: "10.0.0.2",
      srcPort: 40000 + k,
      dstPort: 80,
      startMicros: T0 + k * 20_000,
      endMicros: T0 + k * 20_000 + 5000,
      fwdPackets: 5,
      bwdPackets: 4,
      features: { 1: 400, 2: 9000, 3: 20 },
    });
  }
  for (let k = 0; k < 50; k++) {
    out.push({
      src: "10.0.0.3",
      dst: "10.0.0.4",
      srcPort: 50000 + k,
      dstPort: 8000 + k,
      startMicros: T0 + k * 30_000,
      endMicros: T0 + k * 30_000 + 100,
      state: "S0",
      fwdPackets: 1,
      bwdPackets: 0,
      features: { 0: 100 },
    });
  }
  // Interleave the three populations so batches mix verdicts.
  return out.sort((a, b) => a.endMicros - b.endMicros);
}

async function* batches(all: TestFlow[], size: number): AsyncGenerator<FlowBatch> {
  for (let i = 0; i < all.length; i += size) {
    const b = emptyBatch(size, COLUMNS.length);
    for (const f of all.slice(i, i + size)) addFlow(b, f);
    yield b;
  }
}

Deno.test("detector: flow batches -> verdicts -> aggregated alerts in JSONL and SQLite", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bundle = makeBundle({
      columns: COLUMNS,
      classifier: {
        onnx: rateClassifier(),
        classNames: ["BENIGN", "DoS Hulk", "PortScan"],
        benignClass: "BENIGN",
        thresholds: [0.5, 0.9, 0.9],
      },
      anomaly: { onnx: energyModel(), threshold: 1000, featureErrors: true },
    });
    const jsonl = await createJsonlSink(join(dir, "alerts.jsonl"));
    const sqlite = createSqliteSink(join(dir, "ids.db"));
    const seen: string[] = [];
    const detector = await createDetector({
      bundle,
      sinks: [jsonl, sqlite],
      pool: { maxBatchRows: 64, maxWaitMs: 5 },
      onAlert: (a) => seen.push(a.alert.name),
    });
    const stats = await detector.run(batches(flows(), 37));
    await detector.close();

    assert.equal(stats.flows, 550);
    assert.equal(stats.benign, 300);
    assert.equal(stats.known, 200);
    assert.equal(stats.unknown, 50);
    assert.equal(stats.batches, 15);
    assert.equal(stats.inference.rows, 550);
    // Two groups, each a first line when its evidence was enough and a closing line with totals.
    assert.equal(stats.alerts, 4);
    assert.equal(stats.alertVolume.groups, 2);
    assert.equal(stats.decisionLatencyMs.count, 15);
    assert.equal(stats.alertLatencyMs.count, 4);

    const alerts = (await readJsonlAlerts(join(dir, "alerts.jsonl"))).map((a) =>
      AlertSchema.parse(a)
    );
    assert.equal(alerts.length, 4);
    const final = alerts.filter((a) => a.alert.stage === "final");
    // The classifier's DoS Hulk claims come with a rate (200 flows at 50/s): named by the class.
    const hulk = final.find((a) => a.alert.class === "DoS Hulk")!;
    assert.equal(hulk.alert.verdict, "known");
    assert.equal(hulk.alert.name, "HTTP flood (Hulk)");
    assert.equal(hulk.alert.count, 200);
    assert.equal(hulk.alert.packets, 1800);
    assert.equal(hulk.flow.pkts_toserver, 5, "the flow that completed the evidence");
    assert.equal(hulk.alert.model, "test-classifier");
    // 50 unanswered SYNs to 50 ports: the host evidence names a scan; the anomaly votes fold in.
    const scan = final.find((a) => a.alert.class === "tcp-syn-scan")!;
    assert.equal(scan.src_ip, "10.0.0.3");
    assert.equal(scan.alert.count, 50);
    assert.equal(scan.alert.name, "TCP SYN scan");
    assert.equal(scan.alert.distinct_dest_ports, 50);
    assert.equal(scan.alert.evidence?.model_flagged, 50);
    assert.equal(scan.alert.top_features[0].name, "Flow Duration");
    assert.equal(scan.alert.top_features[0].reconstruction_error, 10000);
    assert.deepEqual([...new Set(seen)].sort(), ["HTTP flood (Hulk)", "TCP SYN scan"]);

    const db = new DatabaseSync(join(dir, "ids.db"));
    try {
      const t = db.prepare(
        "SELECT SUM(flows) AS flows, SUM(packets) AS packets, SUM(benign_flows) AS benign, " +
          "SUM(known_flows) AS known, SUM(unknown_flows) AS unknown, SUM(alerts) AS alerts FROM traffic_minutes",
      ).get();
      assert.deepEqual({ ...t }, {
        flows: 550,
        packets: 300 * 2 + 200 * 9 + 50,
        benign: 300,
        known: 200,
        unknown: 50,
        alerts: 4,
      });
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM alerts").get() as { n: number }).n, 4);
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detector: --threshold override turns the Hulk flows benign; the scan stays a behaviour", async () => {
  const bundle = makeBundle({
    columns: COLUMNS,
    classifier: {
      onnx: rateClassifier(),
      classNames: ["BENIGN", "DoS Hulk", "PortScan"],
      benignClass: "BENIGN",
    },
  });
  const detector = await createDetector({ bundle, sinks: [], thresholds: { threshold: 1.01 } });
  try {
    const stats = await detector.run(batches(flows(), 550));
    assert.equal(stats.known, 0);
    assert.equal(stats.unknown, 0, "no anomaly model, no unknown verdicts");
    assert.equal(stats.benign, 550);
    // Every verdict benign, yet 50 unanswered SYNs to 50 ports are a scan to the host evidence.
    assert.equal(stats.alerts, 1);
    assert.equal(stats.alertVolume.groups, 1);
  } finally {
    await detector.close();
  }
});

Deno.test("detector: a batch of the wrong width is refused with a message", async () => {
  const bundle = makeBundle({
    columns: COLUMNS,
    anomaly: { onnx: energyModel(), threshold: 1 },
  });
  const detector = await createDetector({ bundle, sinks: [] });
  try {
    await assert.rejects(
      () => detector.push(emptyBatchWith(1, 5)),
      /5 feature columns, the bundle expects 4/,
    );
  } finally {
    await detector.close();
  }
});

function emptyBatchWith(count: number, width: number): FlowBatch {
  const b = emptyBatch(count, width);
  b.count = count;
  return b;
}
