/**
 * The training table: a row-major float32 feature matrix with integer class
 * labels, plus what the loader dropped or replaced (counted by reason).
 */
import type { Random } from "./random.ts";

/** Labelled feature rows. Row `i` is `x.subarray(i * cols, (i + 1) * cols)`. */
export interface Dataset {
  x: Float32Array;
  rows: number;
  cols: number;
  columnNames: string[];
  /** Class index per row, into `classNames`. */
  y: Int32Array;
  classNames: string[];
  /** Index of the benign class in `classNames`, or -1 when there is none. */
  benignClass: number;
  /** Where the rows came from (file name, format). */
  source?: string;
  /** Counts of values replaced or rows dropped while loading, by reason. */
  issues?: Record<string, number>;
}

/** Number of rows per class, by class name. */
export function classCounts(d: Dataset): Record<string, number> {
  const counts = new Array(d.classNames.length).fill(0);
  for (let i = 0; i < d.rows; i++) counts[d.y[i]]++;
  return Object.fromEntries(d.classNames.map((name, k) => [name, counts[k]]));
}

/** A dataset holding only the given rows (copied), same columns and classes. */
export function selectRows(d: Dataset, indices: ArrayLike<number>): Dataset {
  const x = new Float32Array(indices.length * d.cols);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    x.set(d.x.subarray(r * d.cols, (r + 1) * d.cols), i * d.cols);
    y[i] = d.y[r];
  }
  return { ...d, x, y, rows: indices.length };
}

/** Indices of rows whose class is `cls`. */
export function rowsOfClass(d: Dataset, cls: number): Uint32Array {
  const out: number[] = [];
  for (let i = 0; i < d.rows; i++) if (d.y[i] === cls) out.push(i);
  return Uint32Array.from(out);
}

/**
 * Stratified fold assignment: each class's rows are shuffled and dealt round
 * robin over `k` folds, so every fold keeps the class proportions.
 */
export function stratifiedFolds(y: Int32Array, k: number, rng: Random): Int32Array {
  const folds = new Int32Array(y.length);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = byClass.get(y[i]) ?? [];
    list.push(i);
    byClass.set(y[i], list);
  }
  // Continue the round robin across classes so rare classes do not all land in fold 0.
  let next = 0;
  for (const cls of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(Int32Array.from(byClass.get(cls)!));
    for (const r of rows) {
      folds[r] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** Splits rows into (train, held-out) by a stratified fraction; returns index arrays. */
export function stratifiedSplit(
  y: Int32Array,
  heldOutFraction: number,
  rng: Random,
): { train: Uint32Array; heldOut: Uint32Array } {
  const k = Math.max(2, Math.round(1 / heldOutFraction));
  const folds = stratifiedFolds(y, k, rng);
  const train: number[] = [];
  const heldOut: number[] = [];
  for (let i = 0; i < y.length; i++) (folds[i] === 0 ? heldOut : train).push(i);
  return { train: Uint32Array.from(train), heldOut: Uint32Array.from(heldOut) };
}
