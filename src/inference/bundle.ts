/**
 * The model bundle: a folder holding ONNX file(s) and `bundle.json`, which says
 * what the models expect (feature set, column order, input width,
 * preprocessing), what they output (class names, score outputs, calibrated
 * thresholds) and how they were made. A model trained elsewhere (scikit-learn
 * via skl2onnx, PyTorch) is used the same way once described by this JSON.
 *
 * `loadBundle` refuses a bundle whose feature set or width differs from what
 * the sensor produces, naming the first difference.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";

/** Current `formatVersion` of bundle.json. */
export const BUNDLE_FORMAT_VERSION = 1;
/** File name of the description inside a bundle folder. */
export const BUNDLE_JSON = "bundle.json";

/** One categorical source column expanded to one-hot columns (NSL-KDD style inputs). */
export const CategoricalEncodingSchema = z.object({
  /** Source field name, e.g. "service". */
  column: z.string(),
  /** Known values, in one-hot column order; the model column for value v is `${column}=${v}`. */
  values: z.array(z.string()),
  /** Model column that is 1 for a value outside `values` (never a crash). */
  unknownColumn: z.string(),
});

/** Signed-log1p robust standardisation parameters, one entry per model column. */
export const ScalingSchema = z.object({
  /** 1: `sign(x) * log1p(|x|)` before standardising; 0: linear. */
  logColumns: z.array(z.number().int().min(0).max(1)),
  center: z.array(z.number()),
  scale: z.array(z.number().positive()),
  /** true: the anomaly graphs apply it themselves (feed raw rows). */
  inGraph: z.boolean(),
});

/** How a raw feature row becomes model input; inference must reproduce it exactly. */
export const PreprocessingSchema = z.object({
  /** Model input columns, in order (equal to featureSet.columns). */
  columns: z.array(z.string()),
  /** Non-finite values (NaN, +-Infinity, e.g. CIC "Flow Bytes/s" at zero duration) become this. */
  nonFiniteValue: z.number().default(0),
  /** Categorical source fields expanded to one-hot columns, if any. */
  categorical: z.array(CategoricalEncodingSchema).default([]),
  /** Scaling used by the anomaly models (trees need none). */
  scaling: ScalingSchema.optional(),
});

/** How a model (or the whole bundle) was trained. Free-form where tools differ. */
export const TrainingInfoSchema = z.object({
  dataSource: z.string().optional(),
  rows: z.number().int().nonnegative().optional(),
  classCounts: z.record(z.string(), z.number()).optional(),
  hyperparameters: z.record(z.string(), z.unknown()).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  tuning: z.unknown().optional(),
  date: z.string().optional(),
  tool: z.string().optional(),
  seconds: z.number().optional(),
  onnxAgreement: z.record(z.string(), z.unknown()).optional(),
}).passthrough();

const ModelCommonSchema = z.object({
  /** Name reported in alerts. */
  name: z.string().min(1),
  /** ONNX file, relative to the bundle folder. */
  file: z.string().min(1),
  /** Graph input fed with the `[N, width]` float32 rows. */
  inputName: z.string().min(1),
  training: TrainingInfoSchema.optional(),
});

/** A known-attack classifier: per-class probabilities. */
export const ClassifierModelSchema = ModelCommonSchema.extend({
  role: z.literal("classifier"),
  outputs: z.object({
    /** Float `[N, classes]` output. */
    probabilities: z.string(),
    /** Optional int64 `[N]` label output (read probabilities instead: see README). */
    label: z.string().optional(),
  }),
  classNames: z.array(z.string()).min(2),
  /** Class meaning "no attack", or null when every class is an attack. */
  benignClass: z.string().nullable(),
  /** Per-class probability thresholds for a "known attack" verdict (benign entry unused). */
  classThresholds: z.array(z.number().min(0).max(1)).optional(),
});

/** One score inside a combined anomaly model, with its own calibrated threshold. */
export const AnomalyComponentSchema = z.object({
  name: z.string(),
  output: z.string(),
  threshold: z.number(),
});

/**
 * The class gate (open-set recognition): a distance from each row to the
 * profile of each attack class the classifier knows, computed by the anomaly
 * graph. A classifier verdict for a gated class stands only when the row's
 * distance to that class is at most the class's threshold; otherwise the flow
 * is an unknown attack that merely resembles the class. Optional: bundles
 * without it (or models made elsewhere) simply skip the gate.
 */
export const ClassGateSchema = z.object({
  /** Float `[N, classNames.length]` output of this model: distance to each class, in column order. */
  output: z.string().min(1),
  /** Gated classes, by output column; each must be one of the classifier's classes. */
  classNames: z.array(z.string()).min(1),
  /** Per class: distances strictly above this reject the classifier's claim. */
  thresholds: z.array(z.number().nonnegative()),
  /** Fraction of genuine (held-out) rows of each class the thresholds were calibrated to reject (before any margin the trainer adds, see `training`). */
  targetRejection: z.number().min(0).max(1),
  /** Per class: fraction of its calibration rows actually above its threshold. */
  calibratedRejection: z.array(z.number().min(0).max(1)).optional(),
  /** How the distance is computed, in words. */
  distance: z.string().optional(),
  /** Fitting details (rows per class, spread floor, clip). */
  training: z.record(z.string(), z.unknown()).optional(),
});

/**
 * An ensemble of model families as one graph (src/train/ensemble): each
 * member's score calibrated to its benign quantile, a weighted vote. The
 * graph's `votesOutput` `[N, members]` is 1 where a member voted.
 */
export const EnsembleSpecSchema = z.object({
  /** weighted | any | all | proportion. */
  mode: z.enum(["weighted", "any", "all", "proportion"]),
  /** Members in `votesOutput` column order, with their learned weights. */
  members: z.array(z.object({ name: z.string(), weight: z.number().min(0) })).min(1),
  votesOutput: z.string().min(1),
  /** Surprise (-log10 of the benign tail fraction) a member must exceed to vote. */
  voteLevel: z.number(),
  /** Weight of voting members needed in proportion mode. */
  proportion: z.number().min(0).max(1).optional(),
});

/** An anomaly detector trained on benign traffic: higher score = more anomalous. */
export const AnomalyModelSchema = ModelCommonSchema.extend({
  role: z.literal("anomaly"),
  outputs: z.object({
    /** Float `[N]` (or `[N, 1]`) score output; anomalous when strictly above `threshold`. */
    score: z.string(),
    /** Optional float `[N, width]` per-feature squared reconstruction error (scaled units). */
    featureErrors: z.string().optional(),
  }),
  threshold: z.number(),
  /** False-positive rate on held-out benign rows that `threshold` was calibrated to. */
  targetFpr: z.number().min(0).max(1),
  /** Rows above `threshold` in the calibration set, as a fraction. */
  calibratedFpr: z.number().min(0).max(1).optional(),
  /**
   * Score at which one anomalous flow is alerted on its own: calibrated on the
   * same held-out benign rows at a stricter rate (see `training.metrics.strongThreshold`
   * for how). Below it, an unknown-only alert group needs several flows
   * (the detector's `minUnknownFlows`). Optional: without it (older bundles,
   * models made elsewhere) every unknown group is alerted.
   */
  strongThreshold: z.number().optional(),
  components: z.array(AnomalyComponentSchema).default([]),
  /** How components are combined into `score`, in words. */
  combination: z.string().optional(),
  /** Open-set gate on the classifier's claims, when the graph computes class distances. */
  classGate: ClassGateSchema.optional(),
  /** Set when the model is an ensemble of model families (`train --models`). */
  ensemble: EnsembleSpecSchema.optional(),
});

export const ModelEntrySchema = z.discriminatedUnion("role", [
  ClassifierModelSchema,
  AnomalyModelSchema,
]);

/**
 * A packet-level or sequence-level member (opt-in): an anomaly model scored on
 * every metered packet's row of a packet-level feature set (`ids-sensor
 * features --schema --set NAME`), not on flow rows. Its votes join the flow
 * path per flow: a flow whose packets this member flagged at least
 * `minPackets` times is a model vote of that flow, and the vote groups go
 * through the same rule as the flow models' (src/evidence/vote_rule.ts).
 */
export const PacketMemberSchema = z.object({
  /** Name reported in `alert.voters`; unique among the bundle's models. */
  name: z.string().min(1),
  /** Model family that made it (kitnet, lof, iforest, dense-ae, lstm-ae, cnn-ae). */
  family: z.string().min(1),
  /** packet: one row per packet; sequence: the packet's last `windowPackets` of its conversation. */
  level: z.enum(["packet", "sequence"]),
  featureSet: z.object({
    /** packet | afterimage (level packet), packet-sequence (level sequence). */
    name: z.string().min(1),
    version: z.union([z.string(), z.number()]).transform(String),
    /** sha-256 (hex) of the column names joined by newlines: see {@link featureSchemaHash}. */
    schemaHash: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits (sha-256)"),
    /** Columns per row (the graph's input width). */
    width: z.number().int().positive(),
  }),
  /** Sequence members: packets per conversation window the rows were computed over. */
  windowPackets: z.number().int().min(2).optional(),
  /** ONNX file, relative to the bundle folder: raw `[N, width]` rows in, one score per row out. */
  file: z.string().min(1),
  inputName: z.string().min(1),
  outputs: z.object({ score: z.string().min(1) }),
  /**
   * KitNET members: the same model's weights (kitNetToJson, JSON), which the
   * worker scores with the typed-array KitNetScorer instead of the ONNX graph
   * (2-10 times faster); `sha256` of the file is checked on load. Without it
   * the ONNX graph is scored.
   */
  weights: z.object({
    /** File relative to the bundle folder. */
    file: z.string().min(1),
    format: z.literal("kitnet-json"),
    /** sha-256 (hex) of the file's bytes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits (sha-256)"),
  }).optional(),
  /** A packet is flagged when its score is strictly above this. */
  threshold: z.number(),
  /** Per-packet false-positive rate on held-out benign packets `threshold` was calibrated to. */
  targetFpr: z.number().min(0).max(1),
  calibratedFpr: z.number().min(0).max(1).optional(),
  /** Flagged packets of one flow (since its last row) for this member to vote on the flow. */
  minPackets: z.number().int().min(1),
  training: TrainingInfoSchema.optional(),
});

/** bundle.json. */
export const BundleSchema = z.object({
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  featureSet: z.object({
    name: z.string().min(1),
    version: z.union([z.string(), z.number()]).transform(String),
    columns: z.array(z.string()).min(1),
  }),
  input: z.object({
    name: z.string().min(1),
    width: z.number().int().positive(),
  }),
  preprocessing: PreprocessingSchema,
  models: z.array(ModelEntrySchema).min(1),
  /** Packet- and sequence-level members (opt-in; absent or empty: flow models only). */
  packetMembers: z.array(PacketMemberSchema).default([]),
  training: TrainingInfoSchema.optional(),
  createdAt: z.string().optional(),
  tool: z.object({ name: z.string(), version: z.string() }).optional(),
});

export type BundleJson = z.infer<typeof BundleSchema>;
/** bundle.json as written (before defaults are filled in). */
export type BundleJsonInput = z.input<typeof BundleSchema>;
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
export type ClassifierModel = z.infer<typeof ClassifierModelSchema>;
export type AnomalyModel = z.infer<typeof AnomalyModelSchema>;
export type Preprocessing = z.infer<typeof PreprocessingSchema>;
export type TrainingInfo = z.infer<typeof TrainingInfoSchema>;
export type ClassGateSpec = z.infer<typeof ClassGateSchema>;
export type EnsembleSpec = z.infer<typeof EnsembleSpecSchema>;
export type PacketMember = z.infer<typeof PacketMemberSchema>;

/** Feature set a packet member may read, by level. */
export const PACKET_MEMBER_SETS: Readonly<Record<PacketMember["level"], readonly string[]>> = {
  packet: ["packet", "afterimage"],
  sequence: ["packet-sequence"],
};

/** The schema hash of a feature set: sha-256 (hex) of its column names joined by newlines. */
export function featureSchemaHash(columns: readonly string[]): string {
  return createHash("sha256").update(columns.join("\n")).digest("hex");
}

/** A packet-level feature set the sensor computes (what packet members are checked against). */
export interface ExpectedPacketSet {
  name: string;
  version: string | number;
  columns: readonly string[];
}

/** What the loader checks the bundle against: the sensor's own feature set. */
export interface ExpectedFeatureSet {
  featureSetName: string;
  featureSetVersion: string | number;
  columns: readonly string[];
  /** The packet-level sets, for bundles with packet members. */
  packetSets?: readonly ExpectedPacketSet[];
}

/** A loaded bundle: the validated JSON plus each model's ONNX bytes, in `models` order. */
export interface LoadedBundle {
  dir: string;
  json: BundleJson;
  onnx: Uint8Array[];
  /** ONNX bytes of `json.packetMembers`, in order (absent or empty without them). */
  packetOnnx?: Uint8Array[];
  /** Bytes of each packet member's `weights` file (sha-256 checked), null for a member without one. */
  packetWeights?: (Uint8Array | null)[];
}

/** Thrown when a bundle is malformed or does not fit the sensor. */
export class BundleError extends Error {
  override name = "BundleError";
}

/**
 * Parses and cross-checks bundle.json text: width equals the column count,
 * preprocessing columns equal the feature set's, class thresholds match class
 * names, scaling vectors have the input width.
 */
export function parseBundleJson(text: string, source = BUNDLE_JSON): BundleJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BundleError(`${source}: not JSON: ${(e as Error).message}`);
  }
  const parsed = BundleSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new BundleError(`${source}: invalid bundle description:\n  ${issues.join("\n  ")}`);
  }
  const json = parsed.data;
  const width = json.input.width;
  const columns = json.featureSet.columns;
  if (columns.length !== width) {
    throw new BundleError(
      `${source}: input width ${width} but the feature set lists ${columns.length} columns`,
    );
  }
  const diff = firstDifference(columns, json.preprocessing.columns);
  if (diff) {
    throw new BundleError(`${source}: preprocessing columns differ from the feature set: ${diff}`);
  }
  const scaling = json.preprocessing.scaling;
  if (scaling) {
    for (const key of ["logColumns", "center", "scale"] as const) {
      if (scaling[key].length !== width) {
        throw new BundleError(
          `${source}: preprocessing.scaling.${key} has ${
            scaling[key].length
          } entries, width is ${width}`,
        );
      }
    }
  }
  const names = new Set<string>();
  for (const model of [...json.models, ...json.packetMembers]) {
    if (names.has(model.name)) {
      throw new BundleError(`${source}: model name ${model.name} is used twice`);
    }
    names.add(model.name);
  }
  for (const member of json.packetMembers) {
    const allowed = PACKET_MEMBER_SETS[member.level];
    if (!allowed.includes(member.featureSet.name)) {
      throw new BundleError(
        `${source}: packet member ${member.name}: a ${member.level}-level member reads ${
          allowed.join(" or ")
        }, not feature set '${member.featureSet.name}'`,
      );
    }
    if ((member.level === "sequence") !== (member.windowPackets !== undefined)) {
      throw new BundleError(
        `${source}: packet member ${member.name}: windowPackets is ${
          member.level === "sequence" ? "required for" : "only for"
        } sequence-level members`,
      );
    }
  }
  const classifier = json.models.find((m) => m.role === "classifier");
  for (const model of json.models) {
    if (
      model.role === "anomaly" && model.strongThreshold !== undefined &&
      !(model.strongThreshold >= model.threshold)
    ) {
      throw new BundleError(
        `${source}: model ${model.name}: strongThreshold ${model.strongThreshold} is below threshold ${model.threshold}`,
      );
    }
    if (model.role === "anomaly" && model.classGate) {
      const gate = model.classGate;
      if (gate.thresholds.length !== gate.classNames.length) {
        throw new BundleError(
          `${source}: model ${model.name}: classGate has ${gate.thresholds.length} thresholds for ${gate.classNames.length} classes`,
        );
      }
      const known = classifier?.role === "classifier" ? classifier.classNames : [];
      const stranger = gate.classNames.find((c) => !known.includes(c));
      if (stranger !== undefined) {
        throw new BundleError(
          `${source}: model ${model.name}: classGate class '${stranger}' is not a classifier class`,
        );
      }
    }
    if (model.role === "classifier") {
      if (model.benignClass !== null && !model.classNames.includes(model.benignClass)) {
        throw new BundleError(
          `${source}: model ${model.name}: benignClass '${model.benignClass}' is not among classNames`,
        );
      }
      if (model.classThresholds && model.classThresholds.length !== model.classNames.length) {
        throw new BundleError(
          `${source}: model ${model.name}: ${model.classThresholds.length} classThresholds for ${model.classNames.length} classes`,
        );
      }
    }
  }
  return json;
}

/**
 * Checks a parsed bundle against the sensor's feature set. Returns null when it
 * fits, else a message naming exactly what differs.
 */
export function featureSetMismatch(json: BundleJson, expected: ExpectedFeatureSet): string | null {
  const fs = json.featureSet;
  if (fs.name !== expected.featureSetName) {
    return `feature set name: bundle has '${fs.name}', sensor has '${expected.featureSetName}'`;
  }
  if (fs.version !== String(expected.featureSetVersion)) {
    return `feature set ${fs.name} version: bundle has ${fs.version}, sensor has ${expected.featureSetVersion}`;
  }
  if (json.input.width !== expected.columns.length) {
    const diff = firstDifference(fs.columns, expected.columns);
    return `input width: bundle has ${json.input.width}, sensor has ${expected.columns.length}` +
      (diff ? ` (${diff})` : "");
  }
  const diff = firstDifference(fs.columns, expected.columns);
  if (diff) return `columns differ: ${diff}`;
  for (const member of json.packetMembers) {
    const mismatch = packetMemberMismatch(member, expected.packetSets ?? []);
    if (mismatch) return `packet member ${member.name}: ${mismatch}`;
  }
  return null;
}

/**
 * Checks one packet member against the packet-level sets the sensor computes:
 * name, version, schema hash and width. Null when it fits.
 */
export function packetMemberMismatch(
  member: PacketMember,
  sets: readonly ExpectedPacketSet[],
): string | null {
  const fs = member.featureSet;
  const set = sets.find((s) => s.name === fs.name);
  if (!set) {
    return `feature set '${fs.name}' is not one this sensor computes (${
      sets.map((s) => s.name).join(", ") || "none"
    })`;
  }
  if (fs.version !== String(set.version)) {
    return `feature set ${fs.name} version: bundle has ${fs.version}, sensor has ${set.version}`;
  }
  if (fs.width !== set.columns.length) {
    return `feature set ${fs.name} width: bundle has ${fs.width}, sensor has ${set.columns.length}`;
  }
  const hash = featureSchemaHash(set.columns);
  if (fs.schemaHash !== hash) {
    return `feature set ${fs.name} v${fs.version} schema hash: bundle has ${
      fs.schemaHash.slice(0, 12)
    }..., sensor has ${hash.slice(0, 12)}... (same name and version, different columns)`;
  }
  return null;
}

/** Describes the first position where two column lists differ, or null when equal. */
export function firstDifference(a: readonly string[], b: readonly string[]): string | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const show = (v: string | undefined) => v === undefined ? "(none)" : `'${v}'`;
      return `first differing column is #${i}: bundle ${show(a[i])}, sensor ${show(b[i])}`;
    }
  }
  return null;
}

/**
 * Loads a bundle folder: validates bundle.json, checks it against `expected`
 * (when given), and reads every model's ONNX bytes.
 */
export async function loadBundle(
  dir: string,
  expected?: ExpectedFeatureSet,
): Promise<LoadedBundle> {
  const jsonPath = join(dir, BUNDLE_JSON);
  let text: string;
  try {
    text = await Deno.readTextFile(jsonPath);
  } catch (e) {
    throw new BundleError(`cannot read ${jsonPath}: ${(e as Error).message}`);
  }
  const json = parseBundleJson(text, jsonPath);
  if (expected) {
    const mismatch = featureSetMismatch(json, expected);
    if (mismatch) throw new BundleError(`bundle ${dir} does not fit this sensor: ${mismatch}`);
  }
  const onnx: Uint8Array[] = [];
  for (const model of json.models) {
    const path = join(dir, model.file);
    try {
      onnx.push(await Deno.readFile(path));
    } catch (e) {
      throw new BundleError(`model ${model.name}: cannot read ${path}: ${(e as Error).message}`);
    }
  }
  const packetOnnx: Uint8Array[] = [];
  const packetWeights: (Uint8Array | null)[] = [];
  for (const member of json.packetMembers) {
    const path = join(dir, member.file);
    try {
      packetOnnx.push(await Deno.readFile(path));
    } catch (e) {
      throw new BundleError(
        `packet member ${member.name}: cannot read ${path}: ${(e as Error).message}`,
      );
    }
    packetWeights.push(member.weights ? await readWeights(dir, member.name, member.weights) : null);
  }
  return { dir, json, onnx, packetOnnx, packetWeights };
}

/** A packet member's weights file, checked against its sha-256. */
async function readWeights(
  dir: string,
  member: string,
  weights: NonNullable<PacketMember["weights"]>,
): Promise<Uint8Array> {
  const path = join(dir, weights.file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new BundleError(`packet member ${member}: cannot read ${path}: ${(e as Error).message}`);
  }
  const digest = fileSha256(bytes);
  if (digest !== weights.sha256) {
    throw new BundleError(
      `packet member ${member}: ${path} has sha-256 ${digest}, bundle.json says ${weights.sha256} (changed or damaged)`,
    );
  }
  return bytes;
}

/** The sha-256 (hex) bundle.json records for a file's bytes. */
export function fileSha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Writes a bundle folder: each model's ONNX bytes under its `file` name, then
 * bundle.json (validated first, so a bad description is never written).
 */
export async function writeBundle(
  dir: string,
  json: BundleJsonInput,
  onnx: Uint8Array[],
  packetOnnx: Uint8Array[] = [],
  packetWeights: (Uint8Array | null)[] = [],
): Promise<BundleJson> {
  const text = JSON.stringify(json, null, 2) + "\n";
  const parsed = parseBundleJson(text);
  if (onnx.length !== parsed.models.length) {
    throw new BundleError(`${onnx.length} ONNX files for ${parsed.models.length} models`);
  }
  if (packetOnnx.length !== parsed.packetMembers.length) {
    throw new BundleError(
      `${packetOnnx.length} ONNX files for ${parsed.packetMembers.length} packet members`,
    );
  }
  parsed.packetMembers.forEach((member, i) => {
    if (member.weights && !packetWeights[i]) {
      throw new BundleError(`packet member ${member.name}: bundle.json names weights, none given`);
    }
  });
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < onnx.length; i++) {
    await Deno.writeFile(join(dir, parsed.models[i].file), onnx[i]);
  }
  for (let i = 0; i < packetOnnx.length; i++) {
    const member = parsed.packetMembers[i];
    await Deno.writeFile(join(dir, member.file), packetOnnx[i]);
    const weights = packetWeights[i];
    if (member.weights && weights) await Deno.writeFile(join(dir, member.weights.file), weights);
  }
  await Deno.writeTextFile(join(dir, BUNDLE_JSON), text);
  return parsed;
}

/**
 * Applies the bundle's row preprocessing that happens outside the graphs:
 * non-finite values become `nonFiniteValue`, in place. Returns how many were replaced.
 */
export function replaceNonFinite(
  spec: Pick<Preprocessing, "nonFiniteValue">,
  x: Float32Array,
  length = x.length,
): number {
  let replaced = 0;
  const value = spec.nonFiniteValue;
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(x[i])) {
      x[i] = value;
      replaced++;
    }
  }
  return replaced;
}
