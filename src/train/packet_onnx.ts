/**
 * ONNX export of the packet-level models (src/packet_models), so they run in
 * the inference worker and splice into the ensemble graph like the other
 * families: one graph on raw `[N, width]` rows with one score `[N]`.
 *
 * - KitNET: per group Gather -> min-max normalise -> MatMul/Add/Sigmoid twice
 *   -> RMSE; the RMSEs concatenated feed the output autoencoder the same way.
 *   The TypeScript scorer uses a table logistic function (error < 1e-5), the
 *   graph the exact one; scores agree to about 1e-4 relative.
 * - LOF: the bundle's signed-log1p scaling, squared distances to the stored
 *   rows as |z|^2 - 2 z.R^T + |R|^2 (float32), TopK for the k nearest,
 *   Gather of their k-distances and densities, the LOF ratio.
 */
import type { KitNetModel, LofModel, TiedAutoencoder } from "../packet_models/mod.ts";
import { addScaling, OnnxGraphBuilder } from "./onnx/mod.ts";

/** Name of the score output of both graphs. */
export const PACKET_MODEL_SCORE = "score";

/** Adds one tied autoencoder on `input` ([N, visible]); returns its RMSE tensor [N, 1]. */
function addAutoencoder(
  g: OnnxGraphBuilder,
  input: string,
  ae: TiedAutoencoder,
  prefix: string,
): string {
  const v = ae.visible, h = ae.hidden;
  g.addFloatInitializer(`${prefix}_min`, Float32Array.from(ae.normMin), [1, v]);
  g.addFloatInitializer(
    `${prefix}_factor`,
    Float32Array.from(ae.normMin, (min, i) => 1 / (ae.normMax[i] - min + 1e-16)),
    [1, v],
  );
  g.addFloatInitializer(`${prefix}_w`, Float32Array.from(ae.weights), [v, h]);
  const transposed = new Float32Array(v * h);
  for (let i = 0; i < v; i++) {
    for (let j = 0; j < h; j++) transposed[j * v + i] = ae.weights[i * h + j];
  }
  g.addFloatInitializer(`${prefix}_wt`, transposed, [h, v]);
  g.addFloatInitializer(`${prefix}_hb`, Float32Array.from(ae.hiddenBias), [1, h]);
  g.addFloatInitializer(`${prefix}_vb`, Float32Array.from(ae.visibleBias), [1, v]);
  const [shifted] = g.addNode("Sub", [input, `${prefix}_min`]);
  const [x] = g.addNode("Mul", [shifted, `${prefix}_factor`]);
  const [encoded] = g.addNode("MatMul", [x, `${prefix}_w`]);
  const [encodedBias] = g.addNode("Add", [encoded, `${prefix}_hb`]);
  const [hidden] = g.addNode("Sigmoid", [encodedBias]);
  const [decoded] = g.addNode("MatMul", [hidden, `${prefix}_wt`]);
  const [decodedBias] = g.addNode("Add", [decoded, `${prefix}_vb`]);
  const [z] = g.addNode("Sigmoid", [decodedBias]);
  const [diff] = g.addNode("Sub", [x, z]);
  const [square] = g.addNode("Mul", [diff, diff]);
  const [mean] = g.addNode("ReduceMean", [square], {
    attributes: { axes: { ints: [1] }, keepdims: 1 },
  });
  return g.addNode("Sqrt", [mean])[0];
}

/** KitNET as one ONNX graph on raw rows (input `inputName`, output {@link PACKET_MODEL_SCORE}). */
export function kitNetToOnnx(model: KitNetModel, inputName: string): Uint8Array {
  const g = new OnnxGraphBuilder("ids_kitnet");
  g.addInput(inputName, "float32", ["N", model.featureCount]);
  const errors = model.groups.map((group, k) => {
    g.addInt64Initializer(`g${k}_columns`, group, [group.length]);
    const [columns] = g.addNode("Gather", [inputName, `g${k}_columns`], {
      attributes: { axis: 1 },
    });
    return addAutoencoder(g, columns, model.ensemble[k], `g${k}`);
  });
  const [all] = g.addNode("Concat", errors, { attributes: { axis: 1 } });
  const rmse = addAutoencoder(g, all, model.output, "out");
  g.addInt64Initializer("flat_shape", [-1], [1]);
  g.addNode("Reshape", [rmse, "flat_shape"], { outputs: [PACKET_MODEL_SCORE] });
  g.addOutput(PACKET_MODEL_SCORE, "float32", ["N"]);
  return g.build({ family: "kitnet", groups: String(model.groups.length) });
}

/** LOF as one ONNX graph on raw rows, from its stored neighbours. */
export function lofToOnnx(model: LofModel, inputName: string): Uint8Array {
  const g = new OnnxGraphBuilder("ids_lof");
  const R = model.referenceRows, C = model.cols;
  g.addInput(inputName, "float32", ["N", C]);
  const z = addScaling(g, inputName, model.scaling, "lof_scale");
  const transposed = new Float32Array(C * R);
  const norms = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      const v = model.reference[r * C + c];
      transposed[c * R + r] = v;
      norms[r] += v * v;
    }
  }
  g.addFloatInitializer("reference_t", transposed, [C, R]);
  g.addFloatInitializer("reference_norms", norms, [1, R]);
  g.addFloatInitializer("minus_two", [-2], [1]);
  g.addFloatInitializer("zero", [0], [1]);
  g.addFloatInitializer("min_reach", [model.minReach], [1]);
  g.addInt64Initializer("row_axis", [1], [1]);
  g.addInt64Initializer("k", [model.k], [1]);
  g.addFloatInitializer("k_distance", Float32Array.from(model.kDistance), [R]);
  g.addFloatInitializer("density", Float32Array.from(model.density), [R]);
  const [zz] = g.addNode("Mul", [z, z]);
  const [zNorm] = g.addNode("ReduceSum", [zz, "row_axis"], { attributes: { keepdims: 1 } });
  const [dot] = g.addNode("MatMul", [z, "reference_t"]);
  const [cross] = g.addNode("Mul", [dot, "minus_two"]);
  const [partial] = g.addNode("Add", [cross, zNorm]);
  const [squared] = g.addNode("Add", [partial, "reference_norms"]);
  const [clipped] = g.addNode("Max", [squared, "zero"]);
  const [distance] = g.addNode("Sqrt", [clipped]);
  const [negative] = g.addNode("Neg", [distance]);
  const [nearestNegative, nearest] = g.addNode("TopK", [negative, "k"], {
    outputs: ["nearest_negative", "nearest"],
    attributes: { axis: 1, largest: 1, sorted: 1 },
  });
  const [nearestDistance] = g.addNode("Neg", [nearestNegative]);
  const [theirK] = g.addNode("Gather", ["k_distance", nearest], { attributes: { axis: 0 } });
  const [reach] = g.addNode("Max", [theirK, nearestDistance]);
  const mean = (x: string) =>
    g.addNode("ReduceMean", [x], { attributes: { axes: { ints: [1] }, keepdims: 0 } })[0];
  const [meanReach] = g.addNode("Max", [mean(reach), "min_reach"]);
  const [theirDensity] = g.addNode("Gather", ["density", nearest], { attributes: { axis: 0 } });
  // LOF = mean neighbour density / own density, own density = 1 / mean reach distance.
  g.addNode("Mul", [mean(theirDensity), meanReach], { outputs: [PACKET_MODEL_SCORE] });
  g.addOutput(PACKET_MODEL_SCORE, "float32", ["N"]);
  return g.build({ family: "lof", k: String(model.k), referenceRows: String(R) });
}
