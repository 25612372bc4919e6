import assert from "node:assert/strict";
import {
  decide,
  type DecisionConfig,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../src/inference/decision.ts";
import type { ModelScores } from "../src/inference/model_spec.ts";

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
