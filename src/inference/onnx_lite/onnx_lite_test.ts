/**
 * onnx_lite against onnxruntime-web, the engine it stands in for: on the
 * bundled models (random rows and the lab fixtures' real rows), on the graphs
 * `train --models` exports, op by op on small graphs, and through the
 * inference pool (same verdicts with either engine). Tree ensemble scores must
 * be bit-identical; float paths within the tolerances stated per test.
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-web";
import onnxProto from "onnx-proto";
import { datasetFromCapture, parseFamilyList, Random, trainFamilyBundle } from "../../train/mod.ts";
import { OnnxGraphBuilder } from "../../train/onnx/mod.ts";
import { decide } from "../decision.ts";
import { decisionConfigFromBundle, inferenceModelsFromBundle } from "../from_bundle.ts";
import { loadBundle } from "../bundle.ts";
import { createInferencePool } from "../runner.ts";
import { createLiteSession, type LiteTensor, UnsupportedModelError } from "./mod.ts";

ort.env.wasm.numThreads = 1;
const { onnx } = onnxProto;

const BUNDLE_DIR = new URL("../../../models/default/", import.meta.url);
const LAB = new URL("../../../tests/fixtures/lab/", import.meta.url);

/** The model with extra graph outputs (float32, shape left open): lets a test read a node's raw result. */
function exposing(bytes: Uint8Array, names: string[]): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  for (const name of names) {
    model.graph!.output!.push(onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } },
    }));
  }
  return onnx.ModelProto.encode(model).finish();
}

interface Agreement {
  /** Values that differ at all. */
  differing: number;
  maxAbs: number;
  /** Largest |lite - ort| / max(|ort|, 1e-6). */
  maxRel: number;
  count: number;
}

async function runBoth(
  bytes: Uint8Array,
  x: Float32Array,
  rows: number,
  width: number,
): Promise<{ lite: Record<string, LiteTensor>; ort: ort.InferenceSession.OnnxValueMapType }> {
  const lite = createLiteSession(bytes);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = x.subarray(0, rows * width);
    const name = lite.inputNames[0];
    const ortOut = await session.run({ [name]: new ort.Tensor("float32", input, [rows, width]) });
    const liteOut = lite.run({ [name]: { type: "float32", dims: [rows, width], data: input } });
    return { lite: liteOut, ort: ortOut };
  } finally {
    await session.release();
  }
}

function agreement(a: LiteTensor, b: ort.Tensor, what: string): Agreement {
  assert.deepEqual(a.dims, b.dims.map(Number), `${what}: dims`);
  const result: Agreement = { differing: 0, maxAbs: 0, maxRel: 0, count: a.data.length };
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i];
    const y = Number(b.data[i]);
    if (Object.is(x, y) || x === y) continue;
    result.differing++;
    const d = Math.abs(x - y);
    result.maxAbs = Math.max(result.maxAbs, d);
    result.maxRel = Math.max(result.maxRel, d / Math.max(Math.abs(y), 1e-6));
  }
  return result;
}

/** Rows shaped like flow features: many zeros, magnitudes over 9 decades, a few negatives. */
function randomRows(rows: number, width: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const x = new Float32Array(rows * width);
  for (let i = 0; i < x.length; i++) {
    const u = rng.next();
    x[i] = u < 0.3 ? 0 : Math.exp(rng.next() * 20) * (u > 0.95 ? -1 : 1);
  }
  return x;
}

/** The lab fixtures' flow rows (every capture, metered as the sensor meters). */
async function labRows(): Promise<{ x: Float32Array; rows: number }> {
  const parts: Float32Array[] = [];
  let rows = 0;
  for await (const entry of Deno.readDir(LAB)) {
    if (!entry.isDirectory) continue;
    const d = await datasetFromCapture(
      new URL(`${entry.name}/capture.pcap`, LAB).pathname,
      undefined,
    );
    parts.push(d.x);
    rows += d.rows;
  }
  const x = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    x.set(p, offset);
    offset += p.length;
  }
  // The worker replaces non-finite values before any model sees them.
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) x[i] = 0;
  return { x, rows };
}

const WIDTH = 77;

Deno.test("bundled classifier: tree scores bit-identical to onnxruntime, probabilities within 1 ulp-ish (5e-7)", async () => {
  const bytes = exposing(await Deno.readFile(new URL("classifier.onnx", BUNDLE_DIR)), [
    "class_scores",
  ]);
  const lab = await labRows();
  assert.ok(lab.rows > 500, `${lab.rows} lab rows`);
  for (
    const [what, x, rows] of [
      ["random", randomRows(3000, WIDTH, 1), 3000],
      ["lab", lab.x, lab.rows],
    ] as const
  ) {
    const out = await runBoth(bytes, x, rows, WIDTH);
    const trees = agreement(out.lite.class_scores, out.ort.class_scores, "class_scores");
    assert.equal(trees.differing, 0, `${what}: tree scores differ ${JSON.stringify(trees)}`);
    const p = agreement(out.lite.probabilities, out.ort.probabilities, "probabilities");
    assert.ok(p.maxAbs <= 5e-7, `${what}: probabilities ${JSON.stringify(p)}`);
    const labels = agreement(out.lite.label, out.ort.label, "label");
    assert.equal(labels.differing, 0, `${what}: labels ${JSON.stringify(labels)}`);
  }
});

Deno.test("bundled anomaly model: isolation-forest path lengths bit-identical; scores within 2e-6 relative", async () => {
  const bytes = exposing(await Deno.readFile(new URL("anomaly.onnx", BUNDLE_DIR)), [
    "if_path_length",
  ]);
  const lab = await labRows();
  for (
    const [what, x, rows] of [
      ["random", randomRows(3000, WIDTH, 2), 3000],
      ["lab", lab.x, lab.rows],
    ] as const
  ) {
    const out = await runBoth(bytes, x, rows, WIDTH);
    const trees = agreement(out.lite.if_path_length, out.ort.if_path_length, "if_path_length");
    assert.equal(trees.differing, 0, `${what}: path lengths differ ${JSON.stringify(trees)}`);
    // Exp, Log and MatMul round differently from MLAS's kernels in the last bits.
    for (const name of ["score", "if_score", "ae_error", "class_distance"]) {
      const a = agreement(out.lite[name], out.ort[name], name);
      assert.ok(a.maxRel <= 2e-6, `${what} ${name}: ${JSON.stringify(a)}`);
    }
    // Squared reconstruction errors of single features cancel (h - x): compared
    // against each row's total error instead.
    const fe = out.lite.feature_errors.data;
    const feOrt = out.ort.feature_errors.data as Float32Array;
    for (let r = 0; r < rows; r++) {
      let total = 0;
      for (let c = 0; c < WIDTH; c++) total += feOrt[r * WIDTH + c];
      for (let c = 0; c < WIDTH; c++) {
        const d = Math.abs(fe[r * WIDTH + c] - feOrt[r * WIDTH + c]);
        assert.ok(d <= 2e-6 * Math.max(total, 1e-3), `${what} row ${r} col ${c}: ${d} of ${total}`);
      }
    }
  }
});

Deno.test("verdicts on the lab fixtures are the same with onnx_lite and with onnxruntime (pool, bundled model)", async () => {
  const bundle = await loadBundle(BUNDLE_DIR.pathname);
  const models = inferenceModelsFromBundle(bundle);
  const config = decisionConfigFromBundle(bundle);
  const lab = await labRows();
  const lite = await createInferencePool(models, { maxWaitMs: 0 });
  const reference = await createInferencePool(models, { maxWaitMs: 0, engine: "onnxruntime" });
  try {
    assert.deepEqual(lite.stats.engines, {
      "gbdt-classifier": "onnx-lite",
      "iforest-autoencoder": "onnx-lite",
    });
    assert.match(reference.stats.engines!["gbdt-classifier"], /^onnxruntime \(forced/);
    const a = decide(await lite.infer(lab.x, lab.rows), config);
    const b = decide(await reference.infer(lab.x, lab.rows), config);
    let differing = 0;
    const verdicts = [0, 0, 0];
    for (let r = 0; r < lab.rows; r++) {
      verdicts[a.verdict[r]]++;
      if (a.verdict[r] !== b.verdict[r] || a.classIndex[r] !== b.classIndex[r]) differing++;
    }
    assert.equal(differing, 0, `verdicts differ on ${differing} of ${lab.rows} rows`);
    // Not a vacuous comparison: the fixtures hold benign rows and attacks.
    assert.ok(verdicts[0] > 0 && verdicts[1] > 0, `verdicts ${verdicts}`);
  } finally {
    await lite.close();
    await reference.close();
  }
});

Deno.test("train --models graphs (gbdt, dense-ae, iforest, kitnet and their ensemble) run on onnx_lite and agree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "onnx_lite_families_" });
  try {
    const rng = new Random(7);
    const cols = 10;
    const rows = 900;
    const x = new Float32Array(rows * cols);
    const y = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      y[r] = r % 3;
      for (let c = 0; c < cols; c++) {
        x[r * cols + c] = Math.exp(rng.normal() + (y[r] && c < 3 * y[r] ? 2 : 0));
      }
    }
    await trainFamilyBundle({
      x,
      y,
      rows,
      cols,
      columnNames: Array.from({ length: cols }, (_, i) => `f${i}`),
      classNames: ["benign", "a", "b"],
      benignClass: 0,
    }, {
      families: parseFamilyList("gbdt,dense-ae,iforest,kitnet"),
      outDir: `${dir}/bundle`,
      featureSet: { name: "synthetic", version: 1 },
      dataSource: "synthetic",
      seed: 1,
      targetFpr: 0.05,
      tune: 0,
      voting: "weighted",
      proportion: 0.5,
      evaluationFraction: 0.2,
      validationFraction: 0.25,
    });
    const bundle = await loadBundle(`${dir}/bundle`);
    const test = randomRows(500, cols, 3);
    for (let i = 0; i < test.length; i++) test[i] = Math.abs(test[i]) % 50;
    for (const spec of inferenceModelsFromBundle(bundle).models) {
      if (spec.kitnet) continue;
      const out = await runBoth(spec.onnx, test, 500, cols);
      for (const name of Object.keys(out.lite)) {
        if (out.lite[name].type !== "float32") continue;
        const a = agreement(out.lite[name], out.ort[name], `${spec.name} ${name}`);
        // Votes are thresholded surprises: a score on the edge may flip one.
        const limit = name === "votes" ? 1e9 : 1e-5;
        assert.ok(a.maxRel <= limit, `${spec.name} ${name}: ${JSON.stringify(a)}`);
        if (name === "votes") assert.ok(a.differing <= 2, `${spec.name} votes: ${a.differing}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A one-node graph over a [N, 4] input. */
function oneOp(
  op: string,
  extra: (g: OnnxGraphBuilder) => string[],
  attributes: Record<string, number | { ints: number[] } | { floats: number[] }> = {},
  outShape: (string | number)[] = ["N", 4],
): Uint8Array {
  const g = new OnnxGraphBuilder(op);
  g.addInput("x", "float32", ["N", 4]);
  g.addNode(op, ["x", ...extra(g)], { outputs: ["y"], attributes });
  g.addOutput("y", "float32", outShape);
  return g.build();
}

Deno.test("ops one by one (broadcasts, axes, variadic) agree with onnxruntime", async () => {
  const w = (g: OnnxGraphBuilder) => [g.addFloatInitializer("w", [0.5, -2, 3, 1e-3], [4])];
  const col = (g: OnnxGraphBuilder) => [g.addFloatInitializer("c", [2, -1, 0.25], [3, 1, 1])];
  const cases: [string, Uint8Array][] = [
    ["Add row", oneOp("Add", w)],
    ["Sub 3-D broadcast", oneOp("Sub", col, {}, [3, "N", 4])],
    ["Mul", oneOp("Mul", w)],
    ["Div", oneOp("Div", w)],
    ["Max variadic", oneOp("Max", w)],
    ["Min", oneOp("Min", w)],
    ["Abs", oneOp("Abs", () => [])],
    ["Sign", oneOp("Sign", () => [])],
    ["Relu", oneOp("Relu", () => [])],
    ["Neg", oneOp("Neg", () => [])],
    ["Exp", oneOp("Exp", () => [])],
    ["Sigmoid", oneOp("Sigmoid", () => [])],
    [
      "MatMul",
      oneOp(
        "MatMul",
        (
          g,
        ) => [
          g.addFloatInitializer("m", Float32Array.from({ length: 12 }, (_, i) => i / 7 - 0.8), [
            4,
            3,
          ]),
        ],
        {},
        ["N", 3],
      ),
    ],
    ["ReduceMean keep", oneOp("ReduceMean", () => [], { axes: { ints: [1] } }, ["N", 1])],
    [
      "ReduceSum axes input",
      oneOp("ReduceSum", (g) => [g.addInt64Initializer("ax", [1], [1])], { keepdims: 0 }, ["N"]),
    ],
    ["ReduceMax", oneOp("ReduceMax", () => [], { axes: { ints: [-1] }, keepdims: 0 }, ["N"])],
    ["ReduceMin", oneOp("ReduceMin", () => [], { axes: { ints: [0] }, keepdims: 1 }, [1, 4])],
    ["Softmax", oneOp("Softmax", () => [], { axis: 1 })],
    [
      "Clip",
      oneOp(
        "Clip",
        (g) => [g.addFloatInitializer("lo", [-1], []), g.addFloatInitializer("hi", [2], [])],
      ),
    ],
    [
      "Reshape",
      oneOp("Reshape", (g) => [g.addInt64Initializer("s", [0, 2, -1], [3])], {}, ["N", 2, 2]),
    ],
    ["Flatten", oneOp("Flatten", () => [], { axis: 0 }, [1, "M"])],
    [
      "Gather",
      oneOp("Gather", (g) => [g.addInt64Initializer("i", [3, 0, -1], [3])], { axis: 1 }, ["N", 3]),
    ],
    [
      "Unsqueeze",
      oneOp("Unsqueeze", (g) => [g.addInt64Initializer("u", [1], [1])], {}, ["N", 1, 4]),
    ],
  ];
  const x = Float32Array.from([0, 1.5, -2.25, 3e5, -0.001, 7, 1e-20, -40, 0.3, 0.7, -0.7, 12]);
  for (const [what, bytes] of cases) {
    const out = await runBoth(bytes, x, 3, 4);
    const a = agreement(out.lite.y, out.ort.y, what);
    const exactOps = [
      "Add",
      "Sub",
      "Mul",
      "Div",
      "Max",
      "Min",
      "Abs",
      "Sign",
      "Relu",
      "Neg",
      "Reduce",
      "Clip",
      "Reshape",
      "Flatten",
      "Gather",
      "Unsqueeze",
    ];
    const exact = exactOps.some((op) => what.startsWith(op)) && what !== "ReduceMean keep";
    assert.ok(exact ? a.differing === 0 : a.maxRel <= 1e-6, `${what}: ${JSON.stringify(a)}`);
  }
});

Deno.test("models outside the subset are refused at load as unsupported; malformed bytes with a clear error", () => {
  const g = new OnnxGraphBuilder("topk");
  g.addInput("x", "float32", ["N", 4]);
  g.addInt64Initializer("k", [2], [1]);
  g.addNode("TopK", ["x", "k"], { outputs: ["v", "i"] });
  g.addOutput("v", "float32", ["N", 2]);
  assert.throws(
    () => createLiteSession(g.build()),
    (e: Error) => e instanceof UnsupportedModelError && /op TopK/.test(e.message),
  );
  assert.throws(
    () => createLiteSession(oneOp("Softmax", () => [], { axis: 1, unknown_attr: 3 })),
    (e: Error) => e instanceof UnsupportedModelError && /attribute unknown_attr/.test(e.message),
  );
  const garbage = new TextEncoder().encode("this is not an onnx model at all, just text");
  assert.throws(
    () => createLiteSession(garbage),
    (e: Error) => !(e instanceof UnsupportedModelError) && /ONNX/.test(e.message),
  );
  const truncated = oneOp("Add", (b) => [b.addFloatInitializer("w", [1, 2, 3, 4], [4])]).slice(
    0,
    60,
  );
  assert.throws(() => createLiteSession(truncated), (e: Error) => e.message.length > 0);
  assert.throws(() => createLiteSession(new Uint8Array(0)), /no graph/);
});

Deno.test("pool: a model outside the subset is scored by onnxruntime, and the pool says so", async () => {
  const g = new OnnxGraphBuilder("erf");
  g.addInput("input", "float32", ["N", 4]);
  g.addNode("Erf", ["input"], { outputs: ["e"] });
  g.addInt64Initializer("axes", [1], [1]);
  g.addNode("ReduceSum", ["e", "axes"], { outputs: ["score"], attributes: { keepdims: 0 } });
  g.addOutput("score", "float32", ["N"]);
  const pool = await createInferencePool({
    width: 4,
    models: [{ name: "erf", role: "anomaly", onnx: g.build() }],
  }, { maxWaitMs: 0 });
  try {
    assert.match(pool.stats.engines!.erf, /^onnxruntime \(not in onnx_lite's subset: op Erf\)/);
    const scores = await pool.infer(Float32Array.from([0, 0, 0, 0, 1, 1, 1, 1]), 2);
    assert.equal(scores.outputs[0].values[0], 0);
    assert.ok(Math.abs(scores.outputs[0].values[1] - 4 * 0.8427007) < 1e-5);
  } finally {
    await pool.close();
  }
});

Deno.test("a forest laid out as skl2onnx writes it (TreeEnsembleClassifier): labels and probabilities bit-identical", async () => {
  const dir = new URL("../../../tests/fixtures/models/sklearn_like_forest/", import.meta.url);
  const bytes = await Deno.readFile(new URL("model.onnx", dir));
  const bundle = JSON.parse(await Deno.readTextFile(new URL("bundle.json", dir)));
  const width = bundle.input.width as number;
  const x = randomRows(2000, width, 4);
  for (let i = 0; i < x.length; i++) x[i] = Math.log1p(Math.abs(x[i]));
  const out = await runBoth(bytes, x, 2000, width);
  for (const name of Object.keys(out.lite)) {
    const a = agreement(out.lite[name], out.ort[name], name);
    assert.equal(a.differing, 0, `${name}: ${JSON.stringify(a)}`);
  }
});

Deno.test("damaged model bytes never hang or crash the reader: each load succeeds or throws an Error", async () => {
  const original = await Deno.readFile(new URL("classifier.onnx", BUNDLE_DIR));
  const rng = new Random(11);
  let refused = 0;
  for (let trial = 0; trial < 150; trial++) {
    const bytes = original.slice();
    for (let k = 0; k < 1 + (trial % 4); k++) {
      bytes[Math.floor(rng.next() * bytes.length)] = Math.floor(rng.next() * 256);
    }
    try {
      createLiteSession(bytes);
    } catch (error) {
      assert.ok(error instanceof Error && error.message.length > 0, String(error));
      refused++;
    }
  }
  // Most single-byte damage lands in float payloads (thresholds, weights) and still loads.
  assert.ok(refused > 0, "no damaged copy was refused");
});

Deno.test("a tree whose child points back at an ancestor is refused, not walked forever", () => {
  const g = new OnnxGraphBuilder("cycle");
  g.addInput("x", "float32", ["N", 2]);
  g.addNode("TreeEnsembleRegressor", ["x"], {
    domain: "ai.onnx.ml",
    outputs: ["y"],
    attributes: {
      nodes_treeids: { ints: [0, 0, 0] },
      nodes_nodeids: { ints: [0, 1, 2] },
      nodes_featureids: { ints: [0, 1, 0] },
      nodes_modes: ["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"],
      nodes_values: { floats: [0.5, 0.5, 0] },
      nodes_truenodeids: { ints: [1, 0, 0] },
      nodes_falsenodeids: { ints: [2, 2, 0] },
      target_treeids: { ints: [0] },
      target_nodeids: { ints: [2] },
      target_ids: { ints: [0] },
      target_weights: { floats: [1] },
      n_targets: 1,
    },
  });
  g.addOutput("y", "float32", ["N", 1]);
  assert.throws(() => createLiteSession(g.build()), /not a tree/);
});

Deno.test("initializers in the typed fields (float_data, int64_data) read as raw_data ones", async () => {
  const T = onnx.TensorProto.DataType;
  const info = (name: string, dims: (number | string)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: {
        tensorType: {
          elemType: T.FLOAT,
          shape: {
            dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
          },
        },
      },
    });
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "typed",
      input: [info("x", ["N", 3])],
      output: [info("y", ["N", 3])],
      initializer: [
        { name: "w", dims: [3], dataType: T.FLOAT, floatData: [0.5, -1.25, 3] },
        { name: "shape", dims: [2], dataType: T.INT64, int64Data: [-1, 3] },
      ],
      node: [
        { opType: "Mul", input: ["x", "w"], output: ["m"] },
        { opType: "Reshape", input: ["m", "shape"], output: ["y"] },
      ],
    },
  })).finish();
  const x = Float32Array.from([1, 2, 3, -4, 5e3, 1e-3]);
  const out = await runBoth(bytes, x, 2, 3);
  assert.equal(agreement(out.lite.y, out.ort.y, "y").differing, 0);
  assert.deepEqual(Array.from(out.lite.y.data), [0.5, -2.5, 9, -2, -6250, 0.003000000026077032]);
});
