/**
 * The inference worker's memory of rows it scored: a fixed number of entries,
 * each a feature row (its bits, after non-finite values were replaced) and
 * every model's outputs for it. Floods and scans repeat the same rows batch
 * after batch (on a million-packet range capture 217,223 rows held 10,165
 * distinct ones, and the per-batch dedup still scored 16,936), and a row's
 * outputs depend on that row alone, so a row found here is not scored again.
 *
 * Two-way set associative, keyed by the row hash the batch dedup computed;
 * the entry used longer ago is replaced. Nothing is allocated per row.
 */
import type { ModelOutput, ModelRole } from "./model_spec.ts";

/** What one model's output rows look like: which fields it has, and their columns. */
interface OutputShape {
  name: string;
  role: ModelRole;
  columns: number;
  featureErrors: boolean;
  classDistanceColumns?: number;
  voteColumns?: number;
}

/** One model's cached outputs: `entries` rows of each field it has. */
interface Slabs {
  values: Float32Array;
  featureErrors?: Float32Array;
  classDistance?: Float32Array;
  votes?: Float32Array;
}

/** Default number of rows remembered (about 2.6 MB with the bundled models' 77 columns). */
export const OUTPUT_CACHE_ENTRIES = 4096;

export class OutputCache {
  readonly entries: number;
  readonly width: number;
  #sets: number;
  #keys: Uint32Array;
  #hashes: Int32Array;
  #valid: Uint8Array;
  #used: Float64Array;
  #clock = 0;
  #shapes: OutputShape[] | null = null;
  #slabs: Slabs[] = [];
  /** Rows found, and rows stored, since the cache was made. */
  hits = 0;
  stores = 0;

  constructor(entries: number, width: number) {
    let sets = 1;
    while (sets * 2 < entries) sets *= 2;
    this.entries = sets * 2;
    this.width = width;
    this.#sets = sets;
    this.#keys = new Uint32Array(this.entries * width);
    this.#hashes = new Int32Array(this.entries);
    this.#valid = new Uint8Array(this.entries);
    this.#used = new Float64Array(this.entries);
  }

  /** The models' output shapes, once some row was stored (templates for batches of hits only). */
  get shapes(): readonly OutputShape[] | null {
    return this.#shapes;
  }

  /** Entry holding row `row` of `bits` (hash `hash`), or -1. */
  find(bits: Uint32Array, row: number, hash: number): number {
    const w = this.width;
    const first = (hash & (this.#sets - 1)) * 2;
    for (let e = first; e < first + 2; e++) {
      if (this.#valid[e] === 0 || this.#hashes[e] !== hash) continue;
      let same = true;
      for (let c = 0, k = e * w, r = row * w; c < w; c++) {
        if (this.#keys[k + c] !== bits[r + c]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.#used[e] = ++this.#clock;
        this.hits++;
        return e;
      }
    }
    return -1;
  }

  /**
   * Remembers row `row` of `bits` (hash `hash`) with row `from` of each model's
   * `outputs` (checked with `expect` first), in place of the less recently
   * used entry of its set.
   */
  store(
    bits: Uint32Array,
    row: number,
    hash: number,
    outputs: readonly ModelOutput[],
    from: number,
  ) {
    const w = this.width;
    const first = (hash & (this.#sets - 1)) * 2;
    let e = first;
    if (this.#valid[first] !== 0) {
      e = this.#valid[first + 1] === 0 || this.#used[first + 1] < this.#used[first]
        ? first + 1
        : first;
    }
    for (let c = 0, k = e * w, r = row * w; c < w; c++) this.#keys[k + c] = bits[r + c];
    this.#hashes[e] = hash;
    this.#valid[e] = 1;
    this.#used[e] = ++this.#clock;
    this.stores++;
    for (let m = 0; m < outputs.length; m++) copyOutputRow(outputs[m], from, this.#slabs[m], e, w);
  }

  /** Call before storing rows of `outputs`: forgets every row if the models' output shapes changed. */
  expect(outputs: readonly ModelOutput[]): void {
    if (this.#shapes === null || !sameShapes(this.#shapes, outputs)) this.#reshape(outputs);
  }

  /** Copies entry `e`'s outputs into row `to` of each of `outputs` (shaped as `shapes`). */
  copyTo(e: number, outputs: readonly ModelOutput[], to: number): void {
    for (let m = 0; m < outputs.length; m++) {
      copyOutputRow(this.#slabs[m], e, outputs[m], to, this.width);
    }
  }

  /** Forgets every row (new models). */
  clear(): void {
    this.#valid.fill(0);
    this.#shapes = null;
    this.#slabs = [];
  }

  #reshape(outputs: readonly ModelOutput[]): void {
    this.#valid.fill(0);
    this.#shapes = outputs.map(shapeOf);
    const n = this.entries;
    this.#slabs = this.#shapes.map((s) => ({
      values: new Float32Array(n * s.columns),
      featureErrors: s.featureErrors ? new Float32Array(n * this.width) : undefined,
      classDistance: s.classDistanceColumns !== undefined
        ? new Float32Array(n * s.classDistanceColumns)
        : undefined,
      votes: s.voteColumns !== undefined ? new Float32Array(n * s.voteColumns) : undefined,
    }));
  }
}

function shapeOf(o: ModelOutput): OutputShape {
  return {
    name: o.name,
    role: o.role,
    columns: o.columns,
    featureErrors: o.featureErrors !== undefined,
    classDistanceColumns: o.classDistance !== undefined ? o.classDistanceColumns ?? 0 : undefined,
    voteColumns: o.votes !== undefined ? o.voteColumns ?? 0 : undefined,
  };
}

function sameShapes(shapes: readonly OutputShape[], outputs: readonly ModelOutput[]): boolean {
  if (shapes.length !== outputs.length) return false;
  for (let m = 0; m < shapes.length; m++) {
    const a = shapes[m];
    const b = shapeOf(outputs[m]);
    if (
      a.name !== b.name || a.role !== b.role || a.columns !== b.columns ||
      a.featureErrors !== b.featureErrors || a.classDistanceColumns !== b.classDistanceColumns ||
      a.voteColumns !== b.voteColumns
    ) return false;
  }
  return true;
}

/** Outputs of `rows` rows shaped as `shapes`, every field one row per row. */
export function allocateOutputs(
  shapes: readonly OutputShape[],
  rows: number,
  width: number,
): ModelOutput[] {
  return shapes.map((s) => ({
    name: s.name,
    role: s.role,
    columns: s.columns,
    values: new Float32Array(rows * s.columns),
    ...(s.featureErrors ? { featureErrors: new Float32Array(rows * width) } : {}),
    ...(s.classDistanceColumns !== undefined
      ? {
        classDistance: new Float32Array(rows * s.classDistanceColumns),
        classDistanceColumns: s.classDistanceColumns,
      }
      : {}),
    ...(s.voteColumns !== undefined
      ? { votes: new Float32Array(rows * s.voteColumns), voteColumns: s.voteColumns }
      : {}),
  }));
}

/** Copies row `from` of every field of `a` into row `to` of `b` (both dense, same shape). */
function copyOutputRow(
  a: Slabs | ModelOutput,
  from: number,
  b: Slabs | ModelOutput,
  to: number,
  width: number,
): void {
  const o = "columns" in a ? a : b as ModelOutput;
  copyRow(a.values, from, b.values, to, o.columns);
  if (a.featureErrors && b.featureErrors) {
    copyRow(a.featureErrors, from, b.featureErrors, to, width);
  }
  if (a.classDistance && b.classDistance) {
    copyRow(a.classDistance, from, b.classDistance, to, o.classDistanceColumns ?? 0);
  }
  if (a.votes && b.votes) copyRow(a.votes, from, b.votes, to, o.voteColumns ?? 0);
}

function copyRow(a: Float32Array, from: number, b: Float32Array, to: number, n: number): void {
  for (let c = 0, i = from * n, j = to * n; c < n; c++) b[j + c] = a[i + c];
}
