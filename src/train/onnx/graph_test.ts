import assert from "node:assert/strict";
import {
  addScaling,
  addTreeEnsembleClassifier,
  addTreeEnsembleRegressor,
  applyScaling,
  findLeaf,
  type FlatTree,
  OnnxGraphBuilder,
  runOnnxModel,
} from "./mod.ts";

// Root splits on column 1 at 0.5; its right child splits on column 0 at -2.
const tree: FlatTree = {
  feature: Int32Array.from([1, -1, 0, -1, -1]),
  threshold: Float32Array.from([0.5, 0, -2, 0, 0]),
  left: Int32Array.from([1, 0, 3, 0, 0]),
  right: Int32Array.from([2, 0, 4, 0, 0]),
  value: Float32Array.from([0, 0, 0.1, 0.9, 0, 0, 0.7, 0.3, 0.4, 0.6]),
  valueWidth: 2,
};
const rows = Float32Array.from([0, 0.5, -3, 0.6, 5, 7, 0, 0.49999997]);

Deno.test("tree ensemble regressor matches findLeaf", async () => {
  const g = new OnnxGraphBuilder("reg");
  g.addInput("x", "float32", ["N", 2]);
  addTreeEnsembleRegressor(g, "x", [tree, {
    ...tree,
    valueWidth: 1,
    target: 1,
    value: tree.value.map((v) => v * 2),
  }], {
    nTargets: 2,
    output: "y",
    baseValues: [1, -1],
  });
  g.addOutput("y", "float32", ["N", 2]);
  const out = await runOnnxModel(g.build(), "x", rows, 4, 2);
  for (let r = 0; r < 4; r++) {
    const leaf = findLeaf(tree, rows, r * 2);
    // The second tree puts value[leaf * 1] * 2 (its valueWidth is 1) onto target 1.
    const expected = [
      1 + tree.value[leaf * 2],
      -1 + tree.value[leaf * 2 + 1] + tree.value[leaf] * 2,
    ];
    assert.ok(Math.abs(out.y.data[r * 2] as number - expected[0]) < 1e-6, `row ${r} target 0`);
    assert.ok(Math.abs(out.y.data[r * 2 + 1] as number - expected[1]) < 1e-6, `row ${r} target 1`);
  }
});

// onnxruntime decides the label of a two-class TreeEnsembleClassifier by its own binary rule,
// so consumers read `probabilities`; with three classes the label is the arg max.
Deno.test("tree ensemble classifier gives skl2onnx-style label and probabilities", async () => {
  const tree3: FlatTree = {
    ...tree,
    value: Float32Array.from([0, 0, 0, 0.1, 0.2, 0.7, 0, 0, 0, 0.6, 0.3, 0.1, 0.2, 0.5, 0.3]),
    valueWidth: 3,
  };
  const g = new OnnxGraphBuilder("clf");
  g.addInput("float_input", "float32", ["N", 2]);
  addTreeEnsembleClassifier(g, "float_input", [tree3], {
    nClasses: 3,
    labelOutput: "label",
    probabilitiesOutput: "probabilities",
  });
  g.addOutput("label", "int64", ["N"]);
  g.addOutput("probabilities", "float32", ["N", 3]);
  const out = await runOnnxModel(g.build(), "float_input", rows, 4, 2);
  const labels = [];
  for (let r = 0; r < 4; r++) {
    const leaf = findLeaf(tree3, rows, r * 2);
    const p = Array.from(tree3.value.subarray(leaf * 3, leaf * 3 + 3));
    for (let k = 0; k < 3; k++) {
      assert.ok(Math.abs((out.probabilities.data[r * 3 + k] as number) - p[k]) < 1e-6);
    }
    labels.push(p.indexOf(Math.max(...p)));
    assert.equal(Number(out.label.data[r]), labels[r]);
  }
  assert.deepEqual(labels, [2, 0, 1, 2]);
});

Deno.test("in-graph scaling equals applyScaling", async () => {
  const params = { logColumns: [1, 0], center: [0.5, 1], scale: [2, 0.25] };
  const g = new OnnxGraphBuilder("scale");
  g.addInput("x", "float32", ["N", 2]);
  const scaled = addScaling(g, "x", params);
  g.addNode("Identity", [scaled], { outputs: ["z"] });
  g.addOutput("z", "float32", ["N", 2]);
  const out = await runOnnxModel(g.build(), "x", rows, 4, 2);
  const expected = applyScaling(params, rows, 4);
  for (let i = 0; i < 8; i++) {
    assert.ok(Math.abs((out.z.data[i] as number) - expected[i]) < 1e-5, `value ${i}`);
  }
});

Deno.test("graph builder rejects undefined inputs and missing outputs", () => {
  const g = new OnnxGraphBuilder("bad");
  g.addInput("x", "float32", ["N", 2]);
  assert.throws(() => g.addNode("Relu", ["nope"]), /undefined value 'nope'/);
  g.addOutput("y", "float32", ["N", 2]);
  assert.throws(() => g.build(), /output 'y' is never produced/);
});
