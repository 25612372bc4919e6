import assert from "node:assert/strict";
import { AlertAggregator, type EmittedAlert } from "./aggregator.ts";
import { type FlowEvidence, nameAlert, nameFromEvidence } from "./naming.ts";
import { type Alert, AlertSchema } from "./schema.ts";
import { flowRecordAt } from "../features/mod.ts";
import type { FlowBatch } from "../features/flow_batch.ts";
import {
  type Decisions,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../inference/decision.ts";
import type { ModelScores } from "../inference/model_spec.ts";
import { addFlow, emptyBatch, type TestFlow } from "../../tests/support/flow_batches.ts";

const COLUMNS = [
  "Flow Duration",
  "Total Length of Fwd Packets",
  "Total Length of Bwd Packets",
  "Flow Packets/s",
];
const CLASSES = ["BENIGN", "probe", "r2l", "DoS Hulk"];
const T0 = Date.UTC(2026, 0, 2, 3, 4, 0) * 1000; // a window boundary (60 s multiple)
const S = 1e6;

function aggregator(extra: Partial<ConstructorParameters<typeof AlertAggregator>[0]> = {}) {
  return new AlertAggregator({
    featureNames: COLUMNS,
    classNames: CLASSES,
    modelNames: { classifier: "forest", anomaly: "autoencoder" },
    describeFlow: flowRecordAt,
    ...extra,
  });
}

/** A batch of flows with one verdict/class for all of them. */
function scored(flows: TestFlow[], verdict: number, classIndex: number, score = 0.9) {
  const batch: FlowBatch = emptyBatch(flows.length, COLUMNS.length);
  for (const f of flows) addFlow(batch, f);
  const n = batch.count;
  const decisions: Decisions = {
    rows: n,
    verdict: new Uint8Array(n).fill(verdict),
    classIndex: new Int16Array(n).fill(classIndex),
    score: new Float32Array(n).fill(score),
    threshold: new Float32Array(n).fill(0.5),
  };
  const scores: ModelScores = { rows: n, outputs: [] };
  return { batch, decisions, scores };
}

function run(agg: AlertAggregator, s: ReturnType<typeof scored>): EmittedAlert[] {
  return agg.add(s.batch, s.decisions, s.scores);
}

function only(emitted: EmittedAlert[]): Alert {
  assert.equal(emitted.length, 1, `expected one alert, got ${emitted.length}`);
  const parsed = AlertSchema.safeParse(JSON.parse(JSON.stringify(emitted[0].alert)));
  assert(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues));
  return emitted[0].alert;
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

Deno.test("a SYN flood of 1000 flows is one alert with counts, totals and first/last seen", () => {
  const agg = aggregator();
  const flows = range(1000).map((k): TestFlow => ({
    src: "10.0.0.1",
    dst: "10.0.0.2",
    srcPort: 10000 + k,
    dstPort: 80,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000 + 500,
    state: "S0",
    fwdPackets: 2,
    bwdPackets: 0,
    features: { 1: 0, 2: 0 },
  }));
  assert.deepEqual(run(agg, scored(flows, VERDICT_UNKNOWN, -1, 3.5)), []);
  assert.equal(agg.openAlerts, 1);
  const a = only(agg.flush());
  assert.equal(a.event_type, "alert");
  assert.equal(a.src_ip, "10.0.0.1");
  assert.equal(a.dest_ip, "10.0.0.2");
  assert.equal(a.dest_port, 80);
  assert.equal(a.proto, "TCP");
  assert.match(a.community_id, /^1:/);
  assert.equal(a.alert.count, 1000);
  assert.equal(a.alert.verdict, "unknown");
  assert.equal(a.alert.class, "unknown");
  assert.equal(a.alert.name, "SYN flood");
  assert.equal(a.alert.severity, 1);
  assert.equal(a.alert.model, "autoencoder");
  assert.equal(a.alert.score, 3.5);
  assert.equal(a.flow.pkts_toserver, 2000);
  assert.equal(a.flow.pkts_toclient, 0);
  assert.equal(a.flow.state, "S0");
  assert.equal(a.flow.start, new Date(T0 / 1000).toISOString());
  assert.equal(a.flow.end, new Date((T0 + 999 * 1000 + 500) / 1000).toISOString());
});

Deno.test("one alert per (source, target, class) per window; the window closes as time advances", () => {
  const agg = aggregator({ windowSeconds: 60 });
  const flow = (src: string, t: number, bytes: number): TestFlow => ({
    src,
    dst: "10.0.0.9",
    srcPort: 40000,
    dstPort: 443,
    startMicros: t,
    endMicros: t + S,
    fwdPackets: 10,
    bwdPackets: 8,
    features: { 1: bytes, 2: 2 * bytes },
  });
  assert.deepEqual(
    run(
      agg,
      scored([flow("10.0.0.1", T0, 100), flow("10.0.0.1", T0 + 5 * S, 50)], VERDICT_KNOWN, 3),
    ),
    [],
  );
  assert.deepEqual(run(agg, scored([flow("10.0.0.1", T0 + 6 * S, 1)], VERDICT_KNOWN, 1)), []);
  assert.deepEqual(run(agg, scored([flow("10.0.0.7", T0 + 7 * S, 1)], VERDICT_KNOWN, 3)), []);
  assert.deepEqual(run(agg, scored([flow("10.0.0.1", T0 + 8 * S, 1)], VERDICT_BENIGN, 0)), []);
  assert.equal(agg.openAlerts, 3, "two classes from one source, one from another; benign ignored");
  // A flow 70 s later moves the watermark past the first window.
  const emitted = run(agg, scored([flow("10.0.0.1", T0 + 70 * S, 7)], VERDICT_KNOWN, 3));
  assert.equal(emitted.length, 3);
  const hulk = emitted.map((e) => e.alert).find((a) =>
    a.src_ip === "10.0.0.1" && a.alert.class === "DoS Hulk"
  )!;
  assert.equal(hulk.alert.count, 2);
  assert.equal(hulk.alert.name, "HTTP flood (Hulk)");
  assert.equal(hulk.alert.model, "forest");
  assert.equal(hulk.flow.bytes_toserver, 150);
  assert.equal(hulk.flow.bytes_toclient, 300);
  assert.equal(hulk.flow.pkts_toserver, 20);
  assert.equal(hulk.alert.window.start, new Date(T0 / 1000).toISOString());
  assert.equal(hulk.alert.window.seconds, 60);
  for (const e of emitted) assert(AlertSchema.safeParse(e.alert).success);
  // The late flow opened a new window for its key.
  assert.equal(agg.openAlerts, 1);
  assert.equal(only(agg.flush()).alert.count, 1);
  assert.equal(agg.openAlerts, 0);
});

Deno.test("advance() closes windows on a quiet link (wall clock)", () => {
  const agg = aggregator({ windowSeconds: 10 });
  run(
    agg,
    scored(
      [{
        src: "10.1.1.1",
        dst: "10.1.1.2",
        srcPort: 1,
        dstPort: 2,
        startMicros: T0,
        endMicros: T0,
        fwdPackets: 1,
        bwdPackets: 0,
      }],
      VERDICT_UNKNOWN,
      -1,
    ),
  );
  assert.deepEqual(agg.advance(T0 + 5 * S), []);
  assert.equal(agg.advance(T0 + 10 * S).length, 1);
});

Deno.test("naming from flows: port scan needs the per-source port count across flows", () => {
  const agg = aggregator();
  const flows = range(100).map((k): TestFlow => ({
    src: "192.0.2.5",
    dst: "192.0.2.80",
    srcPort: 55555,
    dstPort: 1 + k,
    startMicros: T0 + k * 100,
    endMicros: T0 + k * 100 + 50,
    state: k % 2 ? "REJ" : "S0",
    fwdPackets: 1,
    bwdPackets: k % 2,
  }));
  // Split over several batches: the counter must aggregate across them.
  for (let b = 0; b < 100; b += 25) run(agg, scored(flows.slice(b, b + 25), VERDICT_KNOWN, 1));
  const a = only(agg.flush());
  assert.equal(a.alert.class, "probe");
  assert.equal(a.alert.name, "SYN port scan");
  assert.equal(a.alert.distinct_dest_ports, 100);
  assert.equal(a.alert.severity, 2);
});

Deno.test("naming from flows: UDP scan, SSH brute force, slowloris", () => {
  const udp = aggregator();
  run(
    udp,
    scored(
      range(30).map((k) => ({
        src: "10.2.0.1",
        dst: "10.2.0.2",
        srcPort: 5000,
        dstPort: 100 + k,
        protocol: 17,
        startMicros: T0,
        endMicros: T0 + 10,
        fwdPackets: 1,
        bwdPackets: 0,
      })),
      VERDICT_UNKNOWN,
      -1,
    ),
  );
  assert.equal(only(udp.flush()).alert.name, "UDP scan");

  const ssh = aggregator();
  run(
    ssh,
    scored(
      range(20).map((k) => ({
        src: "10.3.0.1",
        dst: "10.3.0.2",
        srcPort: 40000 + k,
        dstPort: 22,
        startMicros: T0 + k * 3 * S,
        endMicros: T0 + k * 3 * S + 2 * S,
        fwdPackets: 12,
        bwdPackets: 10,
        features: { 1: 900, 2: 1500 },
      })),
      VERDICT_KNOWN,
      2,
    ),
  );
  const bf = only(ssh.flush());
  assert.equal(bf.alert.class, "r2l");
  assert.equal(bf.alert.name, "SSH brute force");

  const slow = aggregator();
  run(
    slow,
    scored(
      range(10).map((k) => ({
        src: "10.4.0.1",
        dst: "10.4.0.2",
        srcPort: 41000 + k,
        dstPort: 80,
        startMicros: T0,
        endMicros: T0 + 100 * S,
        fwdPackets: 12,
        bwdPackets: 6,
        features: { 1: 400, 2: 0 },
      })),
      VERDICT_UNKNOWN,
      -1,
    ),
  );
  assert.equal(only(slow.flush()).alert.name, "slowloris");
});

Deno.test("naming: specific classes in plain words, generic classes and anomalies from evidence", () => {
  const quiet: FlowEvidence = {
    protocol: 6,
    flows: 1,
    noReplyFlows: 0,
    fwdPackets: 5,
    bwdPackets: 5,
    fwdBytes: 300,
    bwdBytes: 2000,
    durationMicros: 2 * S,
    distinctDestPorts: 1,
    destPort: 443,
  };
  assert.equal(nameAlert("DoS Hulk", quiet).name, "HTTP flood (Hulk)");
  assert.equal(nameAlert("SSH-Patator", quiet).name, "SSH brute force");
  assert.equal(nameAlert("neptune", quiet).name, "SYN flood");
  assert.equal(nameAlert("Web Attack \u2013 Sql Injection", quiet).name, "SQL injection");
  assert.equal(nameAlert("dos", quiet).name, "denial of service");
  assert.equal(nameAlert("unknown", quiet).name, "unknown anomaly");
  assert.equal(nameAlert("Weird Thing", quiet).name, "Weird Thing");
  assert.equal(nameFromEvidence(quiet), null);
  // One unanswered flow with a fixed source port and many SYNs is a flood too.
  assert.equal(
    nameFromEvidence({ ...quiet, noReplyFlows: 1, fwdPackets: 5000, bwdPackets: 0 })?.name,
    "SYN flood",
  );
  assert.equal(
    nameFromEvidence({ ...quiet, protocol: 1, fwdPackets: 5000, bwdPackets: 0 })?.name,
    "ICMP flood",
  );
  assert.equal(
    nameFromEvidence({ ...quiet, protocol: 17, fwdPackets: 5000, bwdPackets: 0 })?.name,
    "UDP flood",
  );
});

Deno.test("top_features: largest standardised deviations from the bundle baseline", () => {
  const agg = aggregator({
    topFeatures: 2,
    baseline: {
      columns: COLUMNS,
      center: Float32Array.from([10, 100, 100, 5]),
      scale: Float32Array.from([1, 10, 10, 1]),
      logColumns: new Uint8Array(4),
    },
  });
  run(
    agg,
    scored(
      [{
        src: "10.5.0.1",
        dst: "10.5.0.2",
        srcPort: 1,
        dstPort: 2,
        startMicros: T0,
        endMicros: T0,
        fwdPackets: 1,
        bwdPackets: 1,
        features: { 0: 11, 1: 600, 2: 100, 3: -15 },
      }],
      VERDICT_KNOWN,
      3,
    ),
  );
  const a = only(agg.flush());
  assert.deepEqual(a.alert.top_features, [
    { name: "Total Length of Fwd Packets", value: 600, baseline: 100, zscore: 50 },
    { name: "Flow Packets/s", value: -15, baseline: 5, zscore: -20 },
  ]);
});

Deno.test("the EVE schema rejects malformed alerts", () => {
  const agg = aggregator();
  run(
    agg,
    scored(
      [{
        src: "10.6.0.1",
        dst: "10.6.0.2",
        srcPort: 1,
        dstPort: 2,
        startMicros: T0,
        endMicros: T0,
        fwdPackets: 1,
        bwdPackets: 1,
      }],
      VERDICT_KNOWN,
      3,
    ),
  );
  const good = only(agg.flush());
  assert(!AlertSchema.safeParse({ ...good, timestamp: "yesterday" }).success);
  assert(!AlertSchema.safeParse({ ...good, event_type: "flow" }).success);
  assert(!AlertSchema.safeParse({ ...good, alert: { ...good.alert, severity: 4 } }).success);
  assert(!AlertSchema.safeParse({ ...good, alert: { ...good.alert, verdict: "benign" } }).success);
});

// --- The unknown rule: anomaly-only unknown groups need several flows or one strong score.

const RULE = { minFlows: 3, strongThreshold: 2 };

/** `n` flows from `src` to 10.0.0.9 in the first window, each with `score`. */
function pairFlows(src: string, n: number): TestFlow[] {
  return range(n).map((k): TestFlow => ({
    src,
    dst: "10.0.0.9",
    srcPort: 40000 + k,
    dstPort: 443,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000 + 500,
    fwdPackets: 3,
    bwdPackets: 2,
  }));
}

Deno.test("unknown rule: one weak anomaly-only flow is not alerted, and is counted", () => {
  const agg = aggregator({ unknownRule: RULE });
  run(agg, scored(pairFlows("10.0.0.21", 1), VERDICT_UNKNOWN, -1, 1.1));
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 1 });
});

Deno.test("unknown rule: a window close counts a suppressed group of two weak flows", () => {
  const agg = aggregator({ unknownRule: RULE });
  run(agg, scored(pairFlows("10.0.0.21", 2), VERDICT_UNKNOWN, -1, 1.9));
  assert.deepEqual(agg.advance(T0 + 61 * S), []);
  assert.equal(agg.openAlerts, 0);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 2 });
});

Deno.test("unknown rule: three weak anomaly-only flows of a pair are one alert", () => {
  const agg = aggregator({ unknownRule: RULE });
  run(agg, scored(pairFlows("10.0.0.66", 3), VERDICT_UNKNOWN, -1, 1.1));
  const alert = only(agg.flush());
  assert.equal(alert.alert.verdict, "unknown");
  assert.equal(alert.alert.count, 3);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 0, flows: 0 });
});

Deno.test("unknown rule: one flow at the strong threshold is alerted", () => {
  const agg = aggregator({ unknownRule: RULE });
  run(agg, scored(pairFlows("10.0.0.66", 1), VERDICT_UNKNOWN, -1, 2));
  const alert = only(agg.flush());
  assert.equal(alert.alert.count, 1);
  assert.equal(alert.alert.score, 2);
});

Deno.test("unknown rule: known verdicts are unaffected", () => {
  const agg = aggregator({ unknownRule: RULE });
  run(agg, scored(pairFlows("10.0.0.66", 1), VERDICT_KNOWN, 1, 0.6));
  assert.equal(only(agg.flush()).alert.verdict, "known");
  assert.deepEqual(agg.suppressedUnknowns, { groups: 0, flows: 0 });
});

Deno.test("unknown rule: a gated unknown (the class gate's, from a confident classifier) is unaffected", () => {
  const agg = aggregator({ unknownRule: RULE });
  const s = scored(pairFlows("10.0.0.66", 1), VERDICT_UNKNOWN, -1, 1.1);
  s.decisions.nearestClass = new Int16Array(1).fill(3);
  run(agg, s);
  const alert = only(agg.flush());
  assert.equal(alert.alert.verdict, "unknown");
  assert.equal(alert.alert.nearest_class, "DoS Hulk");
  assert.deepEqual(agg.suppressedUnknowns, { groups: 0, flows: 0 });
});

Deno.test("unknown rule: off without a strong threshold (older bundles) or without a rule", () => {
  for (const unknownRule of [undefined, { minFlows: 3 }]) {
    const agg = aggregator({ unknownRule });
    run(agg, scored(pairFlows("10.0.0.21", 1), VERDICT_UNKNOWN, -1, 1.1));
    assert.equal(only(agg.flush()).alert.count, 1);
  }
});
