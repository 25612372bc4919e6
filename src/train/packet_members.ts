/**
 * Packet- and sequence-level bundle members (`train --packet-models`): the
 * packet-level rows of benign captures (computed in the flow meter's pass, as
 * the sensor computes them), a model family trained on them, its ONNX graph
 * checked against the TypeScript scorer, and a per-packet threshold
 * calibrated on benign packets it never trained on (the last fifth of each
 * capture). Every capture given is taken as benign: no attack is trained on.
 */
import { join } from "node:path";
import { readCaptureFile } from "../capture/mod.ts";
import {
  DEFAULT_WINDOW_PACKETS,
  FlowMeter,
  meterFlows,
  PACKET_FEATURE_SETS,
  PacketFeatureExtractor,
  type PacketRows,
  type PacketSetName,
} from "../features/mod.ts";
import {
  type AttackWindow,
  createPacketLabeller,
  PACKET_ATTACKER_OUTSIDE,
  PACKET_BENIGN,
} from "../label/mod.ts";
import {
  BUNDLE_JSON,
  featureSchemaHash,
  fileSha256,
  type PacketMember,
  parseBundleJson,
  replaceNonFinite,
} from "../inference/mod.ts";
import type { Dataset } from "./dataset.ts";
import { DEEP_INPUT_NAME } from "./deep/mod.ts";
import { FAMILIES, type Family, FamilyError, type FamilyName } from "./families/mod.ts";
import { thresholdForFpr } from "./anomaly/mod.ts";
import { runOnnxModel } from "./onnx/mod.ts";
import type { ProgressReporter } from "./progress.ts";
import { maxAbsDiff } from "./stages/common.ts";

/** The packet-level set each anomaly family reads unless `family@set` says otherwise. */
export const DEFAULT_PACKET_SET: Partial<Record<FamilyName, PacketSetName>> = {
  kitnet: "afterimage",
  iforest: "packet",
  "dense-ae": "packet",
  lof: "packet-sequence",
  "lstm-ae": "packet-sequence",
  "cnn-ae": "packet-sequence",
};

/** One member to train: a family on a packet-level set. */
export interface PacketMemberRequest {
  family: Family;
  set: PacketSetName;
  /** `family@set`: the member's name in the bundle and in `alert.voters`. */
  name: string;
  /** Hyperparameters (default: the family's); `--tune` sets the chosen trial's. */
  params?: Record<string, number>;
  /** What `--tune` did, kept in the member's `training.tuning`. */
  tuning?: unknown;
}

/** Parses `--packet-models kitnet,lof@packet,...` (anomaly families only, no duplicates). */
export function parsePacketModelList(list: string): PacketMemberRequest[] {
  const items = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new FamilyError("--packet-models is empty");
  const seen = new Set<string>();
  return items.map((item) => {
    const [familyName, setName, extra] = item.split("@");
    const family = FAMILIES[familyName as FamilyName];
    const defaultSet = DEFAULT_PACKET_SET[familyName as FamilyName];
    if (!family || !defaultSet || extra !== undefined) {
      throw new FamilyError(
        `--packet-models: "${item}" is not an anomaly family [@feature set]; families: ${
          Object.keys(DEFAULT_PACKET_SET).join(", ")
        }; sets: ${Object.keys(PACKET_FEATURE_SETS).join(", ")}`,
      );
    }
    const set = (setName ?? defaultSet) as PacketSetName;
    if (!PACKET_FEATURE_SETS[set]) {
      throw new FamilyError(
        `--packet-models: unknown packet feature set "${setName}" in "${item}"; known: ${
          Object.keys(PACKET_FEATURE_SETS).join(", ")
        }`,
      );
    }
    const name = `${familyName}@${set}`;
    if (seen.has(name)) throw new FamilyError(`--packet-models names ${name} twice`);
    seen.add(name);
    return { family, set, name };
  });
}

/** Rows of one packet-level set: training (first part of each capture) and calibration rows. */
export interface PacketSetRows {
  set: PacketSetName;
  width: number;
  training: { x: Float32Array; rows: number };
  /** `flow`: each row's flow id (both directions of the 5-tuple), when windows were given. */
  calibration: { x: Float32Array; rows: number; flow?: Int32Array };
  /**
   * Attack packets of the labelled captures (when windows were given): never
   * trained on or calibrated with; `type` indexes `PacketRowsReport.attackTypes`.
   */
  attack?: { x: Float32Array; rows: number; type: Int16Array; flow: Int32Array };
}

/** What reading the captures did. */
export interface PacketRowsReport {
  captures: number;
  packets: number;
  /** Packets past `maxPackets`, not read (counted, never silently). */
  packetsNotRead: number;
  /** Non-finite feature values replaced by 0 (the worker does the same). */
  nonFiniteReplaced: number;
  /** Attack names of the labelled captures; per type, its attack packets. */
  attackTypes: string[];
  attackPackets: number[];
  /** Attackers' packets outside their windows: neither benign nor attack, left out. */
  attackerPacketsOutside: number;
}

/** Options of {@link packetRowsFromCaptures}. */
export interface PacketRowsOptions {
  windowPackets?: number;
  /** Share of each capture's last packets kept for calibration (default 0.2). */
  calibrationFraction?: number;
  /** Packets read at most over all captures (default 1,000,000: 460 bytes a packet for afterimage). */
  maxPackets?: number;
  /**
   * Attack windows per capture (same order as the files; undefined: all
   * benign). Given for any capture, every row gets a flow id and labelled
   * attack packets are set aside (`PacketSetRows.attack`).
   */
  windows?: readonly (readonly AttackWindow[] | undefined)[];
  progress?: ProgressReporter;
}

/**
 * Meters each capture like the sensor and collects the requested packet-level
 * rows; each capture's first benign packets train, its last
 * `calibrationFraction` calibrate; attack packets (by `windows`) are kept apart.
 */
export async function packetRowsFromCaptures(
  files: readonly string[],
  sets: readonly PacketSetName[],
  options: PacketRowsOptions = {},
): Promise<{ sets: Map<PacketSetName, PacketSetRows>; report: PacketRowsReport }> {
  const maxPackets = options.maxPackets ?? 1_000_000;
  const calibrationFraction = options.calibrationFraction ?? 0.2;
  const labelled = (options.windows ?? []).some((w) => w !== undefined);
  const widths = sets.map((s) => PACKET_FEATURE_SETS[s].columns.length);
  const training: Float32Array[][] = sets.map(() => []);
  const calibration: Float32Array[][] = sets.map(() => []);
  const calibrationFlows: Int32Array[] = [];
  const attack: Float32Array[][] = sets.map(() => []);
  const attackTypes: number[] = [], attackFlows: number[] = [];
  const report: PacketRowsReport = {
    captures: 0,
    packets: 0,
    packetsNotRead: 0,
    nonFiniteReplaced: 0,
    attackTypes: [],
    attackPackets: [],
    attackerPacketsOutside: 0,
  };
  const flowIds = new Map<string, number>();
  for (let f = 0; f < files.length; f++) {
    options.progress?.("packet rows (captures)", f, files.length);
    const chunks: Float32Array[][] = sets.map(() => []);
    const flows: number[] = [];
    const windows = options.windows?.[f];
    const labeller = windows ? createPacketLabeller(windows) : undefined;
    // The capture's attack names as indexes into report.attackTypes.
    const typeOf = (labeller?.attacks ?? []).map((name) => {
      if (!report.attackTypes.includes(name)) {
        report.attackTypes.push(name);
        report.attackPackets.push(0);
      }
      return report.attackTypes.indexOf(name);
    });
    let labels = new Int16Array(0);
    let count = 0, read = 0;
    const extractor = new PacketFeatureExtractor({
      sets: [...sets],
      windowPackets: options.windowPackets ?? DEFAULT_WINDOW_PACKETS,
      onRows: (r) => {
        const room = Math.max(0, maxPackets - report.packets - read);
        const take = Math.min(r.count, room);
        report.packetsNotRead += r.count - take;
        if (take === 0) return;
        read += take;
        if (!labelled) {
          // The extractor reuses its batch: copy the rows out.
          r.features.forEach((x, k) => chunks[k].push(x.slice(0, take * r.widths[k])));
          count += take;
          return;
        }
        if (labels.length < r.count) labels = new Int16Array(r.capacity);
        if (labeller) labeller.label(r, labels);
        else labels.fill(PACKET_BENIGN);
        const benignRows: number[] = [], attackRows: number[] = [];
        for (let i = 0; i < take; i++) {
          const label = labels[i];
          if (label === PACKET_ATTACKER_OUTSIDE) {
            report.attackerPacketsOutside++;
            continue;
          }
          const flow = flowId(flowIds, f, r, i);
          if (label === PACKET_BENIGN) {
            benignRows.push(i);
            flows.push(flow);
          } else {
            attackRows.push(i);
            attackTypes.push(typeOf[label]);
            attackFlows.push(flow);
            report.attackPackets[typeOf[label]]++;
          }
        }
        r.features.forEach((x, k) => {
          chunks[k].push(pickRows(x, r.widths[k], benignRows));
          attack[k].push(pickRows(x, r.widths[k], attackRows));
        });
        count += benignRows.length;
      },
    });
    const meter = new FlowMeter({ packetObserver: extractor });
    for await (const _ of meterFlows(readCaptureFile(files[f]), {}, meter)) {
      // The flows are not used: the meter's pass feeds the extractor.
    }
    extractor.flush();
    report.captures++;
    report.packets += read;
    const cut = count - Math.floor(count * calibrationFraction);
    sets.forEach((_, k) => {
      const all = concat(chunks[k], count * widths[k]);
      report.nonFiniteReplaced += replaceNonFinite({ nonFiniteValue: 0 }, all);
      training[k].push(all.subarray(0, cut * widths[k]));
      calibration[k].push(all.subarray(cut * widths[k]));
    });
    if (labelled) calibrationFlows.push(Int32Array.from(flows.slice(cut)));
  }
  options.progress?.("packet rows (captures)", files.length, files.length);
  const out = new Map<PacketSetName, PacketSetRows>();
  sets.forEach((set, k) => {
    const t = concat(training[k]), c = concat(calibration[k]);
    const rows: PacketSetRows = {
      set,
      width: widths[k],
      training: { x: t, rows: t.length / widths[k] },
      calibration: { x: c, rows: c.length / widths[k] },
    };
    if (labelled) {
      const flows = new Int32Array(rows.calibration.rows);
      let at = 0;
      for (const part of calibrationFlows) flows.set(part, at), at += part.length;
      rows.calibration.flow = flows;
      const a = concat(attack[k]);
      report.nonFiniteReplaced += replaceNonFinite({ nonFiniteValue: 0 }, a);
      rows.attack = {
        x: a,
        rows: attackTypes.length,
        type: Int16Array.from(attackTypes),
        flow: Int32Array.from(attackFlows),
      };
    }
    out.set(set, rows);
  });
  return { sets: out, report };
}

/** Rows `picked` of a row-major batch, copied out. */
function pickRows(x: Float32Array, width: number, picked: number[]): Float32Array {
  const out = new Float32Array(picked.length * width);
  picked.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/**
 * A number per flow of capture `file`: protocol and both ends (address, port)
 * in a fixed order, so both directions share it, as the sensor counts votes.
 * Training-time only (a string per packet).
 */
function flowId(ids: Map<string, number>, file: number, r: PacketRows, i: number): number {
  const src = r.srcAddr.subarray(i * 16, i * 16 + 16),
    dst = r.dstAddr.subarray(i * 16, i * 16 + 16);
  const a = `${src.join(".")}:${r.srcPort[i]}`, b = `${dst.join(".")}:${r.dstPort[i]}`;
  const key = `${file}/${r.protocol[i]}/${a < b ? a + "-" + b : b + "-" + a}`;
  let id = ids.get(key);
  if (id === undefined) ids.set(key, id = ids.size);
  return id;
}

function concat(parts: Float32Array[], length = parts.reduce((n, p) => n + p.length, 0)) {
  const out = new Float32Array(length);
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** Every `rows / keep`-th row, in order (KitNET learns online: order kept). */
function evenSample(x: Float32Array, rows: number, width: number, keep: number) {
  if (rows <= keep) return { x, rows };
  const out = new Float32Array(keep * width);
  for (let i = 0; i < keep; i++) {
    const r = Math.floor(i * rows / keep);
    out.set(x.subarray(r * width, (r + 1) * width), i * width);
  }
  return { x: out, rows: keep };
}

/**
 * A member's training rows as a benign-only dataset: at most
 * `maxTrainingRows` (default 50,000) of the set's training rows, evenly
 * sampled in order.
 */
export function memberTrainingSet(
  rows: PacketSetRows,
  maxTrainingRows = 50_000,
  dataSource?: string,
): Dataset {
  const sample = evenSample(rows.training.x, rows.training.rows, rows.width, maxTrainingRows);
  return {
    x: sample.x,
    rows: sample.rows,
    cols: rows.width,
    columnNames: PACKET_FEATURE_SETS[rows.set].columns.map((c) => c.name),
    y: new Int32Array(sample.rows),
    classNames: ["BENIGN"],
    benignClass: 0,
    source: dataSource,
  };
}

/** Options of {@link trainPacketMembers}. */
export interface PacketMemberOptions {
  /** Per-packet false-positive rate on the calibration packets (default 0.001). */
  targetFpr?: number;
  /** Flagged packets of one flow for a member's vote on it (default 3). */
  minPackets?: number;
  windowPackets?: number;
  /** Training rows per member at most, evenly sampled in order (default 50,000). */
  maxTrainingRows?: number;
  seed?: number;
  dataSource?: string;
  progress?: ProgressReporter;
}

/** One trained member, for the summary. */
export interface PacketMemberSummary {
  name: string;
  trainingRows: number;
  calibrationRows: number;
  seconds: number;
  threshold: number;
  calibratedFpr: number;
  onnxMaxAbsDiff: number;
  /** |onnx - typescript| / max(1, |typescript|): LOF's float32 distance expansion on outliers scoring in the hundreds. */
  onnxMaxRelativeDiff: number;
  /**
   * Calibration packets flagged by one of ONNX and TypeScript but not the
   * other (LOF: float32 distances of near-duplicate windows pick other
   * neighbours among ties).
   */
  onnxFlagMismatches: number;
}

function maxRelativeDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  }
  return max;
}

/** Trains each requested member; returns bundle.json entries with their ONNX bytes. */
export async function trainPacketMembers(
  data: Map<PacketSetName, PacketSetRows>,
  requests: readonly PacketMemberRequest[],
  options: PacketMemberOptions = {},
): Promise<{
  members: PacketMember[];
  onnx: Uint8Array[];
  /** Per member: its `weights` file's bytes, null without one. */
  weights: (Uint8Array | null)[];
  summaries: PacketMemberSummary[];
}> {
  const targetFpr = options.targetFpr ?? 0.001;
  const minPackets = options.minPackets ?? 3;
  const windowPackets = options.windowPackets ?? DEFAULT_WINDOW_PACKETS;
  const members: PacketMember[] = [], onnx: Uint8Array[] = [], weights: (Uint8Array | null)[] = [];
  const summaries: PacketMemberSummary[] = [];
  for (const request of requests) {
    const rows = data.get(request.set);
    if (!rows) throw new Error(`no ${request.set} rows were collected for ${request.name}`);
    if (rows.calibration.rows < 100) {
      throw new FamilyError(
        `${request.name}: ${rows.calibration.rows} calibration packets; give benign captures with at least 500 packets`,
      );
    }
    const featureSet = PACKET_FEATURE_SETS[request.set];
    const columnNames = featureSet.columns.map((c) => c.name);
    const dataset = memberTrainingSet(rows, options.maxTrainingRows, options.dataSource);
    const stage = `${request.name} training`;
    const member = request.family.train(
      dataset,
      request.params ?? {},
      options.seed ?? 1,
      (done, total) => options.progress?.(stage, done, total),
    );
    const cal = rows.calibration;
    const out = await runOnnxModel(member.onnx, DEEP_INPUT_NAME, cal.x, cal.rows, rows.width);
    const scores = out[member.output].data as Float32Array;
    const typescript = member.score(cal.x, cal.rows);
    const onnxMaxAbsDiff = maxAbsDiff(scores, typescript);
    const onnxMaxRelativeDiff = maxRelativeDiff(scores, typescript);
    // The threshold is set on the scores the worker computes: the typed-array
    // scorer's when the member carries weights, else the graph's.
    const workerScores = member.weights ? typescript : scores;
    const threshold = thresholdForFpr(workerScores, targetFpr);
    let above = 0, flagMismatches = 0;
    for (let i = 0; i < cal.rows; i++) {
      if (workerScores[i] > threshold) above++;
      if ((scores[i] > threshold) !== (typescript[i] > threshold)) flagMismatches++;
    }
    const calibratedFpr = above / cal.rows;
    const file = `packet_${request.family.name}_${request.set}.onnx`;
    const weightsFile = `packet_${request.family.name}_${request.set}.json`;
    members.push({
      name: request.name,
      family: request.family.name,
      level: request.set === "packet-sequence" ? "sequence" : "packet",
      featureSet: {
        name: featureSet.name,
        version: String(featureSet.version),
        schemaHash: featureSchemaHash(columnNames),
        width: rows.width,
      },
      ...(request.set === "packet-sequence" ? { windowPackets } : {}),
      file,
      inputName: DEEP_INPUT_NAME,
      outputs: { score: member.output },
      ...(member.weights
        ? {
          weights: {
            file: weightsFile,
            format: "kitnet-json" as const,
            sha256: fileSha256(member.weights),
          },
        }
        : {}),
      threshold,
      targetFpr,
      calibratedFpr,
      minPackets,
      training: {
        dataSource: options.dataSource,
        rows: dataset.rows,
        hyperparameters: member.hyperparameters,
        seconds: member.seconds,
        metrics: { calibrationRows: cal.rows, trainingRowsAvailable: rows.training.rows },
        onnxAgreement: {
          maxAbsDiff: onnxMaxAbsDiff,
          maxRelativeDiff: onnxMaxRelativeDiff,
          flagMismatches,
          rows: cal.rows,
        },
        ...(request.tuning !== undefined ? { tuning: request.tuning } : {}),
        date: new Date().toISOString(),
        tool: "ids-sensor train --packet-models",
      },
    });
    onnx.push(member.onnx);
    weights.push(member.weights ?? null);
    summaries.push({
      name: request.name,
      trainingRows: dataset.rows,
      calibrationRows: cal.rows,
      seconds: member.seconds,
      threshold,
      calibratedFpr,
      onnxMaxAbsDiff,
      onnxMaxRelativeDiff,
      onnxFlagMismatches: flagMismatches,
    });
  }
  return { members, onnx, weights, summaries };
}

/**
 * Adds packet members to the bundle written at `dir`: their ONNX (and
 * weights) files, then bundle.json rewritten (validated first, so a bad
 * description is never written).
 */
export async function addPacketMembers(
  dir: string,
  members: readonly PacketMember[],
  onnx: readonly Uint8Array[],
  weights: readonly (Uint8Array | null)[] = [],
): Promise<void> {
  const path = join(dir, BUNDLE_JSON);
  const json = JSON.parse(await Deno.readTextFile(path));
  json.packetMembers = [...(json.packetMembers ?? []), ...members];
  const text = JSON.stringify(json, null, 2) + "\n";
  parseBundleJson(text, path);
  members.forEach((m, i) => {
    if (m.weights && !weights[i]) throw new Error(`packet member ${m.name}: no weights given`);
  });
  for (let i = 0; i < members.length; i++) {
    await Deno.writeFile(join(dir, members[i].file), onnx[i]);
    const w = members[i].weights;
    if (w) await Deno.writeFile(join(dir, w.file), weights[i]!);
  }
  await Deno.writeTextFile(path, text);
}
