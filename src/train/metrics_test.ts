import assert from "node:assert/strict";
import { argmaxRows, classificationReport, formatReport, rocAuc } from "./metrics.ts";

Deno.test("classification report: confusion, per-class, binary view", () => {
  const truth = [0, 0, 0, 0, 1, 1, 2, 2];
  const predicted = [0, 0, 0, 1, 1, 2, 2, 2];
  const r = classificationReport(truth, predicted, ["benign", "dos", "scan"], 0);
  assert.deepEqual(r.confusion, [[3, 1, 0], [0, 1, 1], [0, 0, 2]]);
  assert.equal(r.accuracy, 6 / 8);
  assert.deepEqual(r.perClass.map((m) => [m.precision, m.recall]), [[1, 0.75], [0.5, 0.5], [
    2 / 3,
    1,
  ]]);
  assert.equal(r.binary!.falsePositiveRate, 0.25);
  assert.equal(r.binary!.detectionRate, 1);
  assert.equal(r.binary!.accuracy, 7 / 8);
  assert.match(formatReport(r), /benign FPR 0\.2500/);
});

Deno.test("ROC-AUC: perfect, inverted, ties count half, undefined for one class", () => {
  assert.equal(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.ok(Number.isNaN(rocAuc([1, 2], [1, 1])));
});

Deno.test("argmaxRows picks the most probable class", () => {
  assert.deepEqual(
    Array.from(argmaxRows(Float32Array.from([0.2, 0.7, 0.1, 0.5, 0.1, 0.4]), 2, 3)),
    [1, 0],
  );
});
