/**
 * evaluate(): crafted labels and verdicts in, figures checked by hand. The
 * inference path itself is exercised by eval_cli_test.ts and open_set_test.ts.
 */
import assert from "node:assert/strict";
import {
  episodeOf,
  evaluate,
  formatEvalText,
  type LabelledRows,
  rocCurve,
  type ScoredRows,
  UNKNOWN_COLUMN,
} from "./mod.ts";
import { VERDICT_BENIGN, VERDICT_KNOWN, VERDICT_UNKNOWN } from "../inference/mod.ts";
import { rocAuc } from "../train/mod.ts";

const B = VERDICT_BENIGN;
const K = VERDICT_KNOWN;
const U = VERDICT_UNKNOWN;

/** Model classes: benign, syn-scan (lower case, unlike the labels); labels add slowloris. */
function crafted() {
  // label names as the labeller writes them; the model spells BENIGN in lower case.
  const labelNames = ["BENIGN", "SYN-SCAN", "slowloris"];
  // rows: 4 benign, 3 syn-scan, 3 slowloris (absent from the model)
  const y = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
  const verdict = Uint8Array.from([B, B, B, U, K, K, U, U, U, B]);
  const classIndex = Int16Array.from([0, 0, 0, -1, 1, 1, -1, -1, -1, 0]);
  const anomaly = Float32Array.from([0.1, 0.2, 0.3, 2.0, 0.5, 0.6, 3.0, 4.0, 5.0, 0.4]);
  const seconds = (s: number) => (1000 + s) * 1e6;
  const input: LabelledRows = {
    source: "crafted",
    kind: "capture",
    x: new Float32Array(10),
    rows: 10,
    cols: 1,
    y,
    labelNames,
    benignLabel: 0,
    timeline: {
      startMicros: Float64Array.from([0, 1, 2, 3, 10, 11, 12, 20, 21, 22], seconds),
      endMicros: Float64Array.from([1, 2, 3, 4, 11.5, 12.5, 13, 26, 23, 30], seconds),
      // syn-scan window 0; slowloris rows split over windows 1 and 2
      episode: Int32Array.from([-1, -1, -1, -1, 0, 0, 0, 1, 1, 2]),
      windows: [
        { attacker: "10.0.0.66", start: 1010, end: 1015, attack: "SYN-SCAN" },
        { attacker: "10.0.0.66", start: 1020, end: 1025, attack: "slowloris" },
        { attacker: "10.0.0.67", start: 1021, end: 1031, attack: "slowloris" },
      ],
    },
  };
  const scored: ScoredRows = {
    decisions: {
      rows: 10,
      verdict,
      classIndex,
      score: new Float32Array(10),
      threshold: new Float32Array(10),
    },
    anomalyScore: anomaly,
    config: {
      classNames: ["benign", "syn-scan"],
      benignClass: 0,
      classThresholds: [0.5, 0.5],
      anomalyThreshold: 1,
    },
  };
  return { input, scored };
}

Deno.test("evaluate: case-insensitive class mapping and the open-set multi-class view", () => {
  const { input, scored } = crafted();
  const { summary: s } = evaluate(input, scored, "model");
  assert.deepEqual(s.multiClassNames, ["benign", "syn-scan", "slowloris", UNKNOWN_COLUMN]);
  // true benign: 3 benign verdicts, 1 unknown (a false positive, never credited)
  assert.deepEqual(s.multiClass.confusion[0], [3, 0, 0, 1]);
  // syn-scan is known to the model: the unknown verdict is not credited
  assert.deepEqual(s.multiClass.confusion[1], [0, 2, 0, 1]);
  // slowloris is not: unknown verdicts count as detections of it
  assert.deepEqual(s.multiClass.confusion[2], [1, 0, 2, 0]);
  assert.deepEqual(s.multiClass.confusion[3], [0, 0, 0, 0]);
  const slowloris = s.multiClass.perClass[2];
  assert.equal(slowloris.recall, 2 / 3);
  assert.equal(slowloris.precision, 1);
  const synScan = s.multiClass.perClass[1];
  assert.equal(synScan.recall, 2 / 3);
  assert.equal(s.multiClass.accuracy, 7 / 10);
  assert.deepEqual(s.byLabel.map((b) => b.modelClass), ["benign", "syn-scan", null]);
  assert.deepEqual(s.verdicts, { benign: 4, known: 2, unknown: 4 });
});

Deno.test("evaluate: binary view, false-positive rate, anomaly ROC-AUC from metrics.ts", () => {
  const { input, scored } = crafted();
  const { summary: s } = evaluate(input, scored, "model");
  assert.equal(s.benignRows, 4);
  assert.equal(s.attackRows, 6);
  // benign: 1 of 4 flagged; attacks: 5 of 6 flagged
  assert.equal(s.benignFalsePositiveRate, 1 / 4);
  assert.equal(s.detectionRate, 5 / 6);
  assert.equal(s.binaryAccuracy, (3 + 5) / 10);
  assert.deepEqual(s.binary.confusion, [[3, 1], [1, 5]]);
  const isAttack = Array.from(input.y, (c) => c !== 0);
  assert.equal(s.anomaly!.rocAuc, rocAuc(scored.anomalyScore!, isAttack));
  // above threshold 1: benign row 3; attack rows 6, 7, 8
  assert.equal(s.anomaly!.benignAboveThreshold, 1 / 4);
  assert.equal(s.anomaly!.attackAboveThreshold, 3 / 6);
});

Deno.test("evaluate: per-episode alerting, flagged counts and detection delay", () => {
  const { input, scored } = crafted();
  const { summary: s } = evaluate(input, scored, "model");
  const [scan, slow1, slow2] = s.episodes!;
  assert.equal(scan.flows, 3);
  assert.equal(scan.flagged, 3);
  assert.equal(scan.knownVerdicts, 2);
  assert.equal(scan.unknownVerdicts, 1);
  assert.ok(scan.alerted);
  // flagged flows end at 1011.5, 1012.5, 1013: the first ends 1.5 s after 1010
  assert.ok(Math.abs(scan.detectionDelaySeconds! - 1.5) < 1e-6);
  // window 1: both flows unknown; the earlier-ending one ends at 1023, 3 s after 1020
  assert.equal(slow1.flagged, 2);
  assert.ok(Math.abs(slow1.detectionDelaySeconds! - 3) < 1e-6);
  // window 2: its only flow got a benign verdict
  assert.equal(slow2.flows, 1);
  assert.equal(slow2.alerted, false);
  assert.equal(slow2.detectionDelaySeconds, null);
  const text = formatEvalText(s);
  assert.match(text, /NOT alerted/);
  assert.match(text, /slowloris \(not in model\)/);
});

Deno.test("evaluate: an anomaly-only bundle (no classifier) still gets a benign column", () => {
  const { input, scored } = crafted();
  const verdict = scored.decisions.verdict.map((v) => (v === K ? U : v));
  const { summary: s } = evaluate(input, {
    decisions: { ...scored.decisions, verdict, classIndex: new Int16Array(10).fill(-1) },
    anomalyScore: scored.anomalyScore,
    config: { classNames: [], benignClass: -1, classThresholds: [], anomalyThreshold: 1 },
  }, "model");
  assert.deepEqual(s.multiClassNames, ["BENIGN", "SYN-SCAN", "slowloris", UNKNOWN_COLUMN]);
  assert.equal(s.model.benignClass, null);
  // every attack label is absent from the model, so every unknown verdict on one is credited
  assert.deepEqual(s.multiClass.confusion[1], [0, 3, 0, 0]);
  assert.equal(s.detectionRate, 5 / 6);
});

Deno.test("episodeOf follows the labeller: attacker on either side, longest overlap", () => {
  const windows = [
    { attacker: "10.0.0.66", start: 10, end: 20, attack: "a" },
    { attacker: "10.0.0.66", start: 18, end: 40, attack: "a" },
    { attacker: "10.0.0.66", start: 0, end: 100, attack: "b" },
  ];
  // 15..25: 5 s in window 0, 7 s in window 1
  assert.equal(episodeOf(windows, "a", "10.0.0.10", "10.0.0.66", 15e6, 25e6), 1);
  assert.equal(episodeOf(windows, "a", "10.0.0.66", "10.0.0.10", 11e6, 12e6), 0);
  assert.equal(episodeOf(windows, "b", "10.0.0.66", "10.0.0.10", 11e6, 12e6), 2);
  assert.equal(episodeOf(windows, "a", "10.0.0.1", "10.0.0.2", 11e6, 12e6), -1);
  assert.equal(episodeOf(windows, "a", "10.0.0.66", "10.0.0.2", 50e6, 60e6), -1);
});

Deno.test("rocCurve: monotone from (0,0) to (1,1), ties move together, thinned", () => {
  const scores = [0.9, 0.8, 0.8, 0.3, 0.2, 0.1];
  const positive = [1, 1, 0, 1, 0, 0];
  const curve = rocCurve(scores, positive);
  assert.deepEqual(
    curve.map((p) => [p.falsePositiveRate, p.truePositiveRate]),
    [[0, 0], [0, 1 / 3], [1 / 3, 2 / 3], [1 / 3, 1], [2 / 3, 1], [1, 1]],
  );
  assert.deepEqual(rocCurve([1, 2], [1, 1]), []);
  const many = Array.from({ length: 5000 }, (_, i) => i);
  const labels = many.map((i) => (i * 7919) % 3 === 0);
  const thin = rocCurve(many, labels, 100);
  assert.ok(thin.length <= 220, `thinned to ${thin.length}`);
  assert.deepEqual([thin[0].falsePositiveRate, thin[0].truePositiveRate], [0, 0]);
  const last = thin[thin.length - 1];
  assert.deepEqual([last.falsePositiveRate, last.truePositiveRate], [1, 1]);
  for (let i = 1; i < thin.length; i++) {
    assert.ok(thin[i].falsePositiveRate >= thin[i - 1].falsePositiveRate);
    assert.ok(thin[i].truePositiveRate >= thin[i - 1].truePositiveRate);
  }
});

Deno.test("evaluate: class gate counts (gated verdicts, genuine claims rejected), null without a gate", () => {
  const { input, scored } = crafted();
  assert.equal(evaluate(input, scored, "model").summary.classGate, null);
  // Row 6 (a SYN-SCAN flow) and row 7 (slowloris) became unknown through the gate, both claimed as syn-scan.
  const nearestClass = Int16Array.from([-1, -1, -1, -1, -1, -1, 1, 1, -1, -1]);
  const gatedScored: ScoredRows = {
    ...scored,
    decisions: { ...scored.decisions, nearestClass },
    config: { ...scored.config, classGate: { column: [-1, 0], thresholds: [0, 1] } },
  };
  const { summary: s } = evaluate(input, gatedScored, "model");
  // Genuine claims: rows 4 and 5 (known as syn-scan) and row 6 (gated from syn-scan).
  assert.deepEqual(s.classGate, {
    gatedToUnknown: 2,
    genuineClaims: 3,
    genuineRejected: 1,
    genuineRejectionRate: 1 / 3,
  });
  const slowloris = s.byLabel.find((b) => b.label === "slowloris")!;
  assert.equal(slowloris.gatedUnknown, 1);
  assert.deepEqual(slowloris.nearestAs, { "syn-scan": 1 });
  assert.match(formatEvalText(s), /class gate \(open set\): 2 verdicts turned .* rejected 1\/3/);
  assert.match(formatEvalText(s), /1 by the class gate; claimed as syn-scan 1/);
});
