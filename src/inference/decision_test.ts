import assert from "node:assert/strict";
import {
  decide,
  type DecisionConfig,
  leaveUnscoredProtocols,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "./decision.ts";
import type { ModelScores } from "./model_spec.ts";

const CONFIG: DecisionConfig = {
  classNames: ["BENIGN", "DoS Hulk", "PortScan"],
  benignClass: 0,
  classThresholds: [0.5, 0.6, 0.9],
  anomalyThreshold: 1.0,
};

function scores(probabilities: number[][], anomaly?: number[]): ModelScores {
  const rows = probabilities.length;
  const outputs: ModelScores["outputs"] = [{
    name: "clf",
    role: "classifier",
    columns: 3,
    values: Float32Array.from(probabilities.flat()),
  }];
  if (anomaly) {
    outputs.push({ name: "ae", role: "anomaly", columns: 1, values: Float32Array.from(anomaly) });
  }
  return { rows, outputs };
}

Deno.test("known, unknown and benign on crafted scores", () => {
  const d = decide(
    scores(
      [
        [0.1, 0.85, 0.05], // Hulk above its 0.6 threshold -> known
        [0.1, 0.05, 0.85], // PortScan below its 0.9 threshold, anomaly 2.0 -> unknown
        [0.1, 0.05, 0.85], // same probabilities, anomaly 0.5 -> benign
        [0.95, 0.03, 0.02], // benign, anomaly exactly at threshold -> benign (strictly above needed)
        [0.0, 0.6, 0.4], // Hulk exactly at threshold -> known
        [0.02, 0.03, 0.95], // both attacks: PortScan 0.95 >= 0.9 wins over nothing else
      ],
      [0.1, 2.0, 0.5, 1.0, 0.1, 5],
    ),
    CONFIG,
  );
  assert.deepEqual([...d.verdict], [
    VERDICT_KNOWN,
    VERDICT_UNKNOWN,
    VERDICT_BENIGN,
    VERDICT_BENIGN,
    VERDICT_KNOWN,
    VERDICT_KNOWN,
  ]);
  assert.deepEqual([...d.classIndex], [1, -1, 2, 0, 1, 2]);
  assert.equal(d.score[0], Math.fround(0.85));
  assert.equal(d.threshold[0], Math.fround(0.6));
  assert.equal(d.score[1], 2);
  assert.equal(d.threshold[1], 1);
  // Benign rows report the top attack probability against its threshold.
  assert.equal(d.score[2], Math.fround(0.85));
  assert.equal(d.threshold[2], Math.fround(0.9));
});

Deno.test("the most probable confident attack class wins", () => {
  const config = { ...CONFIG, classThresholds: [0.5, 0.3, 0.3] };
  const d = decide(scores([[0.1, 0.35, 0.55], [0.1, 0.5, 0.4]]), config);
  assert.deepEqual([...d.classIndex], [2, 1]);
});

Deno.test("--threshold overrides every class threshold; --anomaly-threshold the anomaly one", () => {
  const input = scores([[0.3, 0.7, 0.0], [0.5, 0.0, 0.5]], [0.0, 3.0]);
  const strict = decide(input, { ...CONFIG, thresholdOverride: 0.8, anomalyThresholdOverride: 4 });
  assert.deepEqual([...strict.verdict], [VERDICT_BENIGN, VERDICT_BENIGN]);
  const lax = decide(input, { ...CONFIG, thresholdOverride: 0.5 });
  assert.deepEqual([...lax.verdict], [VERDICT_KNOWN, VERDICT_KNOWN]);
  assert.deepEqual([...lax.classIndex], [1, 2]);
});

Deno.test("anomaly model alone, classifier alone, and a classifier without a benign class", () => {
  const anomalyOnly: ModelScores = {
    rows: 2,
    outputs: [{ name: "ae", role: "anomaly", columns: 1, values: Float32Array.from([0.5, 1.5]) }],
  };
  const d = decide(anomalyOnly, { ...CONFIG, classNames: [], classThresholds: [] });
  assert.deepEqual([...d.verdict], [VERDICT_BENIGN, VERDICT_UNKNOWN]);
  assert.deepEqual([...d.classIndex], [-1, -1]);

  const noAnomaly = decide(scores([[0.2, 0.5, 0.3]]), CONFIG);
  assert.equal(noAnomaly.verdict[0], VERDICT_BENIGN);

  const allAttacks = decide(scores([[0.7, 0.2, 0.1]]), { ...CONFIG, benignClass: -1 });
  assert.equal(allAttacks.verdict[0], VERDICT_KNOWN);
  assert.equal(allAttacks.classIndex[0], 0);
});

Deno.test("a classifier whose width differs from the class names is refused", () => {
  assert.throws(
    () => decide(scores([[0.2, 0.5, 0.3]]), { ...CONFIG, classNames: ["a", "b"] }),
    /outputs 3 classes, the bundle names 2/,
  );
});

/** Classifier probabilities plus an anomaly model with class distances (columns: DoS Hulk, PortScan). */
function gatedScores(
  probabilities: number[][],
  anomaly: number[],
  distances: number[][],
): ModelScores {
  const base = scores(probabilities, anomaly);
  base.outputs[1].classDistance = Float32Array.from(distances.flat());
  base.outputs[1].classDistanceColumns = 2;
  return base;
}

const GATED: DecisionConfig = {
  ...CONFIG,
  // Gate columns: Hulk -> 0, PortScan -> 1; BENIGN is never gated.
  classGate: { column: [-1, 0, 1], thresholds: [Infinity, 2, 3] },
};

Deno.test("class gate: a confident claim stands only when the flow is close to the claimed class", () => {
  const d = decide(
    gatedScores(
      [
        [0.1, 0.85, 0.05], // Hulk, distance 1.5 <= 2 -> known
        [0.1, 0.85, 0.05], // Hulk, distance 2.5 > 2 -> unknown, nearest Hulk
        [0.1, 0.85, 0.05], // Hulk, distance exactly at its threshold -> known
        [0.1, 0.05, 0.85], // PortScan not confident (0.9), anomaly 0.5 -> benign, gate irrelevant
        [0.1, 0.05, 0.85], // same, anomaly 2.0 -> unknown from the anomaly model, no nearest class
        [0.95, 0.03, 0.02], // benign; far from every class does not matter
      ],
      [0.1, 0.1, 0.1, 0.5, 2.0, 0.1],
      [[1.5, 9], [2.5, 9], [2, 9], [9, 9], [9, 9], [99, 99]],
    ),
    GATED,
  );
  assert.deepEqual([...d.verdict], [
    VERDICT_KNOWN,
    VERDICT_UNKNOWN,
    VERDICT_KNOWN,
    VERDICT_BENIGN,
    VERDICT_UNKNOWN,
    VERDICT_BENIGN,
  ]);
  assert.deepEqual([...d.classIndex], [1, -1, 1, 2, -1, 0]);
  assert.deepEqual([...d.nearestClass!], [-1, 1, -1, -1, -1, -1]);
  // A gated unknown reports the distance against the class's gate threshold.
  assert.equal(d.score[1], 2.5);
  assert.equal(d.threshold[1], 2);
  assert.equal(d.score[4], 2);
  assert.equal(d.threshold[4], 1);
});

Deno.test("class gate: distances of distinct rows are read through the row map", () => {
  // Rows 0, 2, 3 are one input row (distance 1.5: known), rows 1 and 4 another (2.5: unknown).
  const base = gatedScores(
    [[0.1, 0.85, 0.05], [0.1, 0.85, 0.05], [0.1, 0.85, 0.05], [0.1, 0.85, 0.05], [
      0.1,
      0.85,
      0.05,
    ]],
    [0.1, 0.1, 0.1, 0.1, 0.1],
    [[1.5, 9], [2.5, 9]],
  );
  base.outputs[1].detailRowOf = Int32Array.from([0, 1, 0, 0, 1]);
  const d = decide(base, GATED);
  assert.deepEqual([...d.verdict], [
    VERDICT_KNOWN,
    VERDICT_UNKNOWN,
    VERDICT_KNOWN,
    VERDICT_KNOWN,
    VERDICT_UNKNOWN,
  ]);
  assert.deepEqual([...d.score], [0.85, 2.5, 0.85, 0.85, 2.5].map(Math.fround));
});

Deno.test("class gate: a rejected top claim yields to another confident class the gate accepts", () => {
  const config = { ...GATED, classThresholds: [0.5, 0.3, 0.3] };
  const d = decide(
    gatedScores(
      [[0.1, 0.55, 0.35], [0.1, 0.55, 0.35]],
      [0, 0],
      [[5, 1], [5, 4]],
    ),
    config,
  );
  // Row 0: Hulk rejected (5 > 2), PortScan accepted (1 <= 3). Row 1: both rejected; nearest is the more probable.
  assert.deepEqual([...d.verdict], [VERDICT_KNOWN, VERDICT_UNKNOWN]);
  assert.deepEqual([...d.classIndex], [2, -1]);
  assert.deepEqual([...d.nearestClass!], [-1, 1]);
});

Deno.test("class gate: skipped when the anomaly model has no distances or the config has no gate", () => {
  const probabilities = [[0.1, 0.85, 0.05]];
  const noDistances = decide(scores(probabilities, [0.1]), GATED);
  assert.equal(noDistances.verdict[0], VERDICT_KNOWN);
  const noGate = decide(gatedScores(probabilities, [0.1], [[50, 50]]), CONFIG);
  assert.equal(noGate.verdict[0], VERDICT_KNOWN);
  assert.deepEqual([...noGate.nearestClass!], [-1]);
  // NaN distances never pass a gate.
  const nan = decide(gatedScores(probabilities, [0.1], [[NaN, 0]]), GATED);
  assert.equal(nan.verdict[0], VERDICT_UNKNOWN);
  assert.throws(
    () =>
      decide(gatedScores(probabilities, [0.1], [[1, 1]]), {
        ...GATED,
        classGate: { column: [-1, 0, 2], thresholds: [0, 2, 3] },
      }),
    /class gate column 2 for class PortScan, the anomaly model outputs 2 distances/,
  );
});

Deno.test("decide: flows of protocols the features do not describe are never alerted, and counted", () => {
  const decisions = {
    rows: 4,
    verdict: new Uint8Array([VERDICT_KNOWN, VERDICT_UNKNOWN, VERDICT_KNOWN, VERDICT_UNKNOWN]),
    classIndex: new Int16Array([2, -1, 1, -1]),
    score: new Float32Array(4),
    threshold: new Float32Array(4),
  };
  // TCP, IGMP, UDP, GRE
  const unscored = leaveUnscoredProtocols(decisions, new Uint8Array([6, 2, 17, 47]));
  assert.equal(unscored, 2);
  assert.deepEqual([...decisions.verdict], [
    VERDICT_KNOWN,
    VERDICT_BENIGN,
    VERDICT_KNOWN,
    VERDICT_BENIGN,
  ]);
  assert.deepEqual([...decisions.classIndex], [2, -1, 1, -1]);
});
