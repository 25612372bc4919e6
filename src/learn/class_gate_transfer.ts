/**
 * Carries a base bundle's open-set class gate into a bundle whose anomaly
 * detector was refitted on another network. The gate's profiles (per attack
 * class, a median and a spread per feature) live in the base anomaly graph,
 * in the base detector's scaled space; a learned detector scales rows with
 * its own medians and spreads. Both scalings are the same signed log1p
 * followed by an affine map per column, so the profiles move exactly:
 *
 *   new = (old * oldScale + oldCenter - newCenter) / newScale,
 *   newSpread = oldSpread * oldScale / newScale,
 *
 * and every row keeps the same distance to every class, so the gate's
 * calibrated thresholds still hold. No attack rows are needed.
 */
import onnxProto from "onnx-proto";
import type { AnomalyModel, Preprocessing } from "../inference/mod.ts";
import type { ClassGate, ScalingParameters } from "../train/mod.ts";
import { LearnError } from "./learn_error.ts";

const { onnx } = onnxProto;

/** Names of the gate's initializers in graphs written by src/train (addClassDistance). */
const GATE_CENTER = "gate_center";
const GATE_INVERSE_SPREAD = "gate_inv_spread";

function floatInitializer(model: InstanceType<typeof onnx.ModelProto>, name: string): Float32Array {
  const tensor = model.graph?.initializer?.find((t) => t.name === name);
  if (!tensor) throw new LearnError(`the base anomaly graph has no initializer '${name}'`, "data");
  if (tensor.floatData && tensor.floatData.length > 0) return Float32Array.from(tensor.floatData);
  const raw = tensor.rawData;
  if (!raw || raw.length % 4 !== 0) {
    throw new LearnError(`initializer '${name}' holds no float data`, "data");
  }
  // rawData is little-endian float32; copy to an aligned buffer.
  return new Float32Array(raw.slice().buffer, 0, raw.length / 4);
}

/**
 * Reads the class gate of a base anomaly model (its bundle entry and ONNX
 * bytes) back into a ClassGate in the base detector's scaled space.
 */
export function readClassGate(entry: AnomalyModel, onnxBytes: Uint8Array): ClassGate {
  const spec = entry.classGate;
  if (!spec) throw new LearnError(`anomaly model ${entry.name} has no class gate`, "data");
  const model = onnx.ModelProto.decode(onnxBytes);
  const center = floatInitializer(model, GATE_CENTER);
  const inverse = floatInitializer(model, GATE_INVERSE_SPREAD);
  const classes = spec.classNames.length;
  if (center.length % classes !== 0 || center.length !== inverse.length) {
    throw new LearnError(
      `the base gate holds ${center.length} centres and ${inverse.length} spreads for ${classes} classes`,
      "data",
    );
  }
  const training = (spec.training ?? {}) as Record<string, unknown>;
  const numbers = (key: string, fallback: number[]) =>
    Array.isArray(training[key]) ? (training[key] as number[]) : fallback;
  const number = (key: string, fallback: number) =>
    typeof training[key] === "number" ? training[key] as number : fallback;
  return {
    classNames: [...spec.classNames],
    cols: center.length / classes,
    center,
    spread: Float32Array.from(inverse, (v) => 1 / v),
    // The graph's own clip is what the sensor ran with.
    clip: model.graph?.initializer?.some((t) => t.name === "gate_clip")
      ? floatInitializer(model, "gate_clip")[0]
      : number("clip", 8),
    spreadFloor: number("spreadFloor", 0),
    thresholdMargin: number("thresholdMargin", 1),
    thresholds: Float32Array.from(spec.thresholds),
    calibratedQuantiles: Float32Array.from(
      numbers("calibratedQuantiles", spec.thresholds.map(() => 0)),
    ),
    targetRejection: spec.targetRejection,
    calibratedRejection: spec.calibratedRejection ?? spec.thresholds.map(() => 0),
    fitRows: numbers("fitRows", spec.thresholds.map(() => 0)),
    calibrationRows: numbers("calibrationRows", spec.thresholds.map(() => 0)),
  };
}

/** Moves `gate` from the space of scaling `from` into the space of scaling `to` (see above). */
export function rescaleClassGate(
  gate: ClassGate,
  from: ScalingParameters | NonNullable<Preprocessing["scaling"]>,
  to: ScalingParameters,
): ClassGate {
  const cols = gate.cols;
  for (let c = 0; c < cols; c++) {
    if (from.logColumns[c] !== to.logColumns[c]) {
      throw new LearnError(
        `column ${c}: the base and learned scalings differ in their log transform`,
        "data",
      );
    }
  }
  const center = new Float32Array(gate.center.length);
  const spread = new Float32Array(gate.spread.length);
  for (let k = 0; k < gate.classNames.length; k++) {
    for (let c = 0; c < cols; c++) {
      const i = k * cols + c;
      center[i] = (gate.center[i] * from.scale[c] + from.center[c] - to.center[c]) / to.scale[c];
      spread[i] = gate.spread[i] * from.scale[c] / to.scale[c];
    }
  }
  return { ...gate, center, spread };
}
