/**
 * Wire format of remote scoring (core NATS request/reply in a queue group).
 * Request: the rows as little-endian float32 bytes, with headers naming the
 * row count, width and the models' fingerprint. Reply: a 4-byte length, a
 * JSON description of the outputs, padding to 4 bytes, then every output's
 * float32 arrays back to back. No per-row objects either way.
 */
import type { InferenceModels, ModelOutput, ModelScores } from "../inference/mod.ts";

/** Headers of a scoring request and reply. */
export const SCORE_HEADERS = {
  rows: "Ids-Rows",
  width: "Ids-Width",
  models: "Ids-Models",
  error: "Ids-Error",
  workerMs: "Ids-Worker-Ms",
} as const;

/**
 * SHA-256 of every model's bytes and settings: a worker scores only for
 * sensors running the very same models.
 */
export async function modelsFingerprint(models: InferenceModels): Promise<string> {
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  parts.push(encoder.encode(JSON.stringify({ width: models.width })));
  for (const model of models.models) {
    const { onnx, source: _source, ...settings } = model;
    parts.push(
      encoder.encode(
        JSON.stringify(
          settings,
          (_k, v) => ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v,
        ),
      ),
    );
    parts.push(onnx);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Rows as request bytes (a copy of the first rows * width values). */
export function encodeRows(features: Float32Array, rows: number, width: number): Uint8Array {
  const copy = features.slice(0, rows * width);
  return new Uint8Array(copy.buffer, copy.byteOffset, copy.byteLength);
}

/** Request bytes as rows (copied into an aligned buffer). */
export function decodeRows(data: Uint8Array, rows: number, width: number): Float32Array {
  if (data.byteLength !== rows * width * 4) {
    throw new Error(`expected ${rows} x ${width} float32 values, got ${data.byteLength} bytes`);
  }
  const out = new Float32Array(rows * width);
  new Uint8Array(out.buffer).set(data);
  return out;
}

interface OutputMeta {
  name: string;
  role: ModelOutput["role"];
  columns: number;
  values: number;
  featureErrors?: number;
  classDistance?: number;
  classDistanceColumns?: number;
  votes?: number;
  voteColumns?: number;
}

/** Scores as reply bytes. */
export function encodeScores(scores: ModelScores): Uint8Array {
  const arrays: Float32Array[] = [];
  const outputs: OutputMeta[] = scores.outputs.map((o) => {
    arrays.push(o.values);
    const meta: OutputMeta = {
      name: o.name,
      role: o.role,
      columns: o.columns,
      values: o.values.length,
    };
    if (o.featureErrors) {
      arrays.push(o.featureErrors);
      meta.featureErrors = o.featureErrors.length;
    }
    if (o.classDistance) {
      arrays.push(o.classDistance);
      meta.classDistance = o.classDistance.length;
      meta.classDistanceColumns = o.classDistanceColumns;
    }
    if (o.votes) {
      arrays.push(o.votes);
      meta.votes = o.votes.length;
      meta.voteColumns = o.voteColumns;
    }
    return meta;
  });
  const json = new TextEncoder().encode(JSON.stringify({ rows: scores.rows, outputs }));
  const head = 4 + json.length;
  const padded = head + ((4 - (head % 4)) % 4);
  const floats = arrays.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(padded + floats * 4);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  const view = new Float32Array(out.buffer, padded, floats);
  let at = 0;
  for (const a of arrays) {
    view.set(a, at);
    at += a.length;
  }
  return out;
}

/** Reply bytes as scores. */
export function decodeScores(data: Uint8Array): ModelScores {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint32(0, true);
  const meta = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length))) as {
    rows: number;
    outputs: OutputMeta[];
  };
  const head = 4 + length;
  const padded = head + ((4 - (head % 4)) % 4);
  // Copied once into an aligned buffer (the message's bytes may sit at any offset).
  const floats = new Float32Array((data.byteLength - padded) / 4);
  new Uint8Array(floats.buffer).set(data.subarray(padded));
  let at = 0;
  const take = (n: number) => {
    const part = floats.subarray(at, at + n);
    at += n;
    return part;
  };
  const outputs: ModelOutput[] = meta.outputs.map((m) => {
    const output: ModelOutput = {
      name: m.name,
      role: m.role,
      columns: m.columns,
      values: take(m.values),
    };
    if (m.featureErrors !== undefined) output.featureErrors = take(m.featureErrors);
    if (m.classDistance !== undefined) {
      output.classDistance = take(m.classDistance);
      output.classDistanceColumns = m.classDistanceColumns;
    }
    if (m.votes !== undefined) {
      output.votes = take(m.votes);
      output.voteColumns = m.voteColumns;
    }
    return output;
  });
  if (at !== floats.length) throw new Error("scoring reply has trailing or missing values");
  return { rows: meta.rows, outputs };
}

/** Scores of consecutive row ranges as one (the outputs concatenated in row order). */
export function concatScores(parts: readonly ModelScores[]): ModelScores {
  if (parts.length === 1) return parts[0];
  const join = (arrays: (Float32Array | undefined)[]): Float32Array | undefined => {
    if (arrays.some((a) => a === undefined)) return undefined;
    const out = new Float32Array(arrays.reduce((n, a) => n + a!.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a!, at);
      at += a!.length;
    }
    return out;
  };
  const outputs: ModelOutput[] = parts[0].outputs.map((first, k) => {
    const output: ModelOutput = {
      name: first.name,
      role: first.role,
      columns: first.columns,
      values: join(parts.map((p) => p.outputs[k].values))!,
    };
    const errors = join(parts.map((p) => p.outputs[k].featureErrors));
    if (errors) output.featureErrors = errors;
    const distance = join(parts.map((p) => p.outputs[k].classDistance));
    if (distance) {
      output.classDistance = distance;
      output.classDistanceColumns = first.classDistanceColumns;
    }
    const votes = join(parts.map((p) => p.outputs[k].votes));
    if (votes) {
      output.votes = votes;
      output.voteColumns = first.voteColumns;
    }
    return output;
  });
  return { rows: parts.reduce((n, p) => n + p.rows, 0), outputs };
}
