/**
 * The ensemble as one ONNX graph on raw rows, so the inference worker runs
 * it as the bundle's anomaly model: every member's graph (renamed under
 * `m<i>/`, sharing the raw input), then each member's raw score (a
 * classifier's `1 - P(benign)`), its surprise from the benign calibration
 * quantiles (Less + ReduceSum counts the quantiles below the score), the
 * votes and the decision score of the voting mode:
 *
 * - weighted: `sum_m w_m z_m`, alert above `threshold`;
 * - any / all: the largest / smallest surprise, alert above the vote level;
 * - proportion: the weight of the voting members, alert above `proportion - 1e-6`.
 *
 * Outputs `score` `[N]` and `votes` `[N, members]` (1 where a member voted).
 */
import onnxProto from "onnx-proto";
import { DEFAULT_ML_OPSET, DEFAULT_OPSET, OnnxGraphBuilder } from "../onnx/mod.ts";
import type { Ensemble } from "./ensemble.ts";

const { onnx } = onnxProto;

/** Output names of the ensemble graph. */
export const ENSEMBLE_OUTPUTS = { score: "score", votes: "votes" } as const;

/** One member's exported graph and how to read its raw score. */
export interface EnsembleMemberGraph {
  onnx: Uint8Array;
  /** Graph output holding the score `[N]`, or the probabilities `[N, classes]` of a classifier. */
  output: string;
  /** Classifiers: benign column of the probabilities (raw score = 1 - P(benign)). */
  benignColumn?: number;
}

/** The threshold the runtime compares the ensemble graph's `score` with (strictly above alerts). */
export function ensembleScoreThreshold(e: Ensemble): number {
  if (e.mode === "weighted") return e.threshold;
  if (e.mode === "proportion") return e.proportion - 1e-6;
  return e.voteLevel;
}

/** The decision score of {@link ensembleScoreThreshold}'s mode, in TypeScript, from surprises. */
export function ensembleScore(e: Ensemble, z: Float32Array[]): Float32Array {
  const rows = z[0]?.length ?? 0;
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = e.mode === "any" ? -Infinity : e.mode === "all" ? Infinity : 0;
    for (let m = 0; m < z.length; m++) {
      const v = z[m][i];
      if (e.mode === "weighted") s += e.weights[m] * v;
      else if (e.mode === "any") s = Math.max(s, v);
      else if (e.mode === "all") s = Math.min(s, v);
      else if (v > e.voteLevel) s += e.weights[m];
    }
    out[i] = s;
  }
  return out;
}

/** Builds the ensemble graph; `inputName` is every member's raw-row input, `width` its columns. */
export function ensembleToOnnx(
  e: Ensemble,
  members: EnsembleMemberGraph[],
  inputName: string,
  width: number,
): Uint8Array {
  if (members.length !== e.members.length) {
    throw new Error(`ensemble has ${e.members.length} members, ${members.length} graphs given`);
  }
  const M = members.length;
  // The tail: member outputs are declared as inputs here, then spliced onto the members' nodes.
  const g = new OnnxGraphBuilder("ids_ensemble");
  g.addInput(inputName, "float32", ["N", width]);
  g.addFloatInitializer("one", [1], []);
  g.addFloatInitializer("neg_inv_ln10", [-1 / Math.LN10], []);
  g.addInt64Initializer("axis1", [1], [1]);
  const surprises: string[] = [];
  members.forEach((member, m) => {
    const c = e.members[m];
    const raw = `m${m}/${member.output}`;
    g.addInput(raw, "float32", member.benignColumn === undefined ? ["N"] : ["N", "K"]);
    let score = raw;
    if (member.benignColumn !== undefined) {
      g.addInt64Initializer(`m${m}_benign`, [member.benignColumn], []);
      const [pBenign] = g.addNode("Gather", [raw, `m${m}_benign`], { attributes: { axis: 1 } });
      score = g.addNode("Sub", ["one", pBenign])[0];
    }
    const P = c.benignScores.length;
    g.addFloatInitializer(`m${m}_quantiles`, c.benignScores, [1, P]);
    g.addFloatInitializer(`m${m}_inv_points`, [1 / P], []);
    g.addFloatInitializer(`m${m}_floor`, [1 / (c.rows + 1)], []);
    const [column] = g.addNode("Unsqueeze", [score, "axis1"]);
    const [below] = g.addNode("Less", [`m${m}_quantiles`, column]);
    const [belowF] = g.addNode("Cast", [below], {
      attributes: { to: onnx.TensorProto.DataType.FLOAT },
    });
    const [count] = g.addNode("ReduceSum", [belowF, "axis1"], { attributes: { keepdims: 0 } });
    const [q] = g.addNode("Mul", [count, `m${m}_inv_points`]);
    const [tail] = g.addNode("Sub", ["one", q]);
    const [floored] = g.addNode("Max", [tail, `m${m}_floor`]);
    const [log] = g.addNode("Log", [floored]);
    const [z] = g.addNode("Mul", [log, "neg_inv_ln10"]);
    surprises.push(g.addNode("Unsqueeze", [z, "axis1"])[0]);
  });
  const [zAll] = M > 1
    ? g.addNode("Concat", surprises, { attributes: { axis: 1 } })
    : [surprises[0]];
  g.addFloatInitializer("vote_level", [e.voteLevel], []);
  const [voted] = g.addNode("Greater", [zAll, "vote_level"]);
  g.addNode("Cast", [voted], {
    outputs: [ENSEMBLE_OUTPUTS.votes],
    attributes: { to: onnx.TensorProto.DataType.FLOAT },
  });
  if (e.mode === "weighted" || e.mode === "proportion") {
    g.addFloatInitializer("weights", Float32Array.from(e.weights), [M, 1]);
    g.addInt64Initializer("flat", [-1], [1]);
    const terms = e.mode === "weighted" ? zAll : ENSEMBLE_OUTPUTS.votes;
    const [sum] = g.addNode("MatMul", [terms, "weights"]);
    g.addNode("Reshape", [sum, "flat"], { outputs: [ENSEMBLE_OUTPUTS.score] });
  } else {
    const op = e.mode === "any" ? "ReduceMax" : "ReduceMin";
    g.addNode(op, [zAll], {
      outputs: [ENSEMBLE_OUTPUTS.score],
      attributes: { axes: { ints: [1] }, keepdims: 0 },
    });
  }
  g.addOutput(ENSEMBLE_OUTPUTS.score, "float32", ["N"]);
  g.addOutput(ENSEMBLE_OUTPUTS.votes, "float32", ["N", M]);
  const tail = onnx.ModelProto.decode(
    g.build({
      ensemble: e.mode,
      members: e.members.map((c) => c.name).join(","),
    }),
  );
  // Splice: members' nodes and initializers (renamed) before the tail's; one input.
  const graph = tail.graph!;
  const nodes = [];
  const initializers = [];
  let usesMl = false;
  for (const [m, member] of members.entries()) {
    const model = onnx.ModelProto.decode(member.onnx);
    const rename = (name: string) => (name === inputName || name === "" ? name : `m${m}/${name}`);
    if (!model.graph!.input!.some((i) => i.name === inputName)) {
      throw new Error(`member ${m}: its graph has no input '${inputName}'`);
    }
    for (const node of model.graph!.node!) {
      if (node.domain === "ai.onnx.ml") usesMl = true;
      nodes.push(
        onnx.NodeProto.create({
          ...node,
          name: `m${m}/${node.name}`,
          input: node.input!.map(rename),
          output: node.output!.map(rename),
        }),
      );
    }
    for (const init of model.graph!.initializer!) {
      initializers.push(onnx.TensorProto.create({ ...init, name: rename(init.name!) }));
    }
  }
  graph.input = graph.input!.filter((i) => i.name === inputName);
  graph.node = [...nodes, ...graph.node!];
  graph.initializer = [...initializers, ...graph.initializer!];
  tail.opsetImport = [onnx.OperatorSetIdProto.create({ domain: "", version: DEFAULT_OPSET })];
  if (usesMl) {
    tail.opsetImport.push(
      onnx.OperatorSetIdProto.create({ domain: "ai.onnx.ml", version: DEFAULT_ML_OPSET }),
    );
  }
  return onnx.ModelProto.encode(tail).finish();
}
