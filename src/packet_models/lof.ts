/**
 * Local outlier factor (Breunig et al. 2000) scored from stored neighbours: a
 * sample of benign rows (scaled) is kept with each one's k-distance and local
 * reachability density; a new row's LOF is the mean density of its k nearest
 * stored rows over its own density. About 1 is normal; higher is anomalous.
 * Scoring is a brute-force scan of the stored rows (rows x reference x
 * width), so it suits sampled packets, sequence rows or flows, not every
 * packet of a flood.
 */

/** Per-column `(slog?(x) - center) / scale`, slog(x) = sign(x) * log1p(|x|). */
export interface LofScaling {
  logColumns: number[];
  center: number[];
  scale: number[];
}

export interface LofModel {
  cols: number;
  k: number;
  minReach: number;
  scaling: LofScaling;
  /** Stored rows, scaled, `referenceRows * cols`. */
  reference: Float32Array;
  referenceRows: number;
  kDistance: Float64Array;
  density: Float64Array;
}

export interface LofParams {
  k: number;
  /**
   * Floor on the mean reachability distance (scaled units): benign traffic
   * repeats rows exactly, and without a floor a duplicate's density is
   * unbounded, so any row near one would score in the billions.
   */
  minReach: number;
  /** Stored rows at most (an evenly spaced sample of the training rows). */
  referenceRows: number;
}

export const DEFAULT_LOF_PARAMS: LofParams = { k: 20, referenceRows: 2000, minReach: 0.01 };

function scaleRow(
  s: LofScaling,
  x: ArrayLike<number>,
  offset: number,
  out: Float32Array,
  at: number,
): void {
  for (let c = 0; c < s.center.length; c++) {
    let v = x[offset + c];
    if (!Number.isFinite(v)) v = 0;
    const t = s.logColumns[c] ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
    out[at + c] = (t - s.center[c]) / s.scale[c];
  }
}

function distance(a: Float32Array, ao: number, b: Float32Array, bo: number, cols: number): number {
  let sum = 0;
  for (let c = 0; c < cols; c++) {
    const d = a[ao + c] - b[bo + c];
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/**
 * The k nearest stored rows of `query` (excluding `skip`), by insertion into
 * `nearest`/`nearestDistance` (sorted ascending); returns how many were found.
 */
function kNearest(
  model: Pick<LofModel, "reference" | "referenceRows" | "cols">,
  k: number,
  query: Float32Array,
  qo: number,
  skip: number,
  nearest: Int32Array,
  nearestDistance: Float64Array,
): number {
  let found = 0;
  for (let r = 0; r < model.referenceRows; r++) {
    if (r === skip) continue;
    const d = distance(query, qo, model.reference, r * model.cols, model.cols);
    if (found === k && d >= nearestDistance[k - 1]) continue;
    let at = found < k ? found++ : k - 1;
    while (at > 0 && nearestDistance[at - 1] > d) {
      nearestDistance[at] = nearestDistance[at - 1];
      nearest[at] = nearest[at - 1];
      at--;
    }
    nearestDistance[at] = d;
    nearest[at] = r;
  }
  return found;
}

/** Fits LOF on benign rows with the given scaling (fit it with train's fitRobustScaling). */
export function fitLof(
  x: Float32Array,
  rows: number,
  cols: number,
  scaling: LofScaling,
  params: Partial<LofParams> = {},
): LofModel {
  const p = { ...DEFAULT_LOF_PARAMS, ...params };
  const referenceRows = Math.min(rows, p.referenceRows);
  if (referenceRows <= p.k) {
    throw new RangeError(`LOF needs more than k=${p.k} training rows, got ${rows}`);
  }
  const reference = new Float32Array(referenceRows * cols);
  for (let r = 0; r < referenceRows; r++) {
    scaleRow(scaling, x, Math.floor((r * rows) / referenceRows) * cols, reference, r * cols);
  }
  const model: LofModel = {
    cols,
    k: p.k,
    minReach: p.minReach,
    scaling,
    reference,
    referenceRows,
    kDistance: new Float64Array(referenceRows),
    density: new Float64Array(referenceRows),
  };
  const neighbours = new Int32Array(referenceRows * p.k);
  const nearest = new Int32Array(p.k), nearestDistance = new Float64Array(p.k);
  for (let r = 0; r < referenceRows; r++) {
    kNearest(model, p.k, reference, r * cols, r, nearest, nearestDistance);
    model.kDistance[r] = nearestDistance[p.k - 1];
    neighbours.set(nearest, r * p.k);
  }
  for (let r = 0; r < referenceRows; r++) {
    let reach = 0;
    for (let j = 0; j < p.k; j++) {
      const o = neighbours[r * p.k + j];
      reach += Math.max(
        model.kDistance[o],
        distance(reference, r * cols, reference, o * cols, cols),
      );
    }
    model.density[r] = 1 / Math.max(reach / p.k, p.minReach);
  }
  return model;
}

/** LOF scores of `rows` raw rows (`rows * cols`). */
export function lofScores(model: LofModel, x: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows);
  const query = new Float32Array(model.cols);
  const nearest = new Int32Array(model.k), nearestDistance = new Float64Array(model.k);
  for (let i = 0; i < rows; i++) {
    scaleRow(model.scaling, x, i * model.cols, query, 0);
    const found = kNearest(model, model.k, query, 0, -1, nearest, nearestDistance);
    let reach = 0, neighbourDensity = 0;
    for (let j = 0; j < found; j++) {
      const o = nearest[j];
      reach += Math.max(model.kDistance[o], nearestDistance[j]);
      neighbourDensity += model.density[o];
    }
    const density = 1 / Math.max(reach / found, model.minReach);
    out[i] = (neighbourDensity / found) / density;
  }
  return out;
}

/** Plain JSON form. */
export interface LofJson {
  cols: number;
  k: number;
  minReach: number;
  scaling: LofScaling;
  reference: number[];
  referenceRows: number;
  kDistance: number[];
  density: number[];
}

export function lofToJson(m: LofModel): LofJson {
  return {
    ...m,
    reference: Array.from(m.reference),
    kDistance: Array.from(m.kDistance),
    density: Array.from(m.density),
  };
}

export function lofFromJson(j: LofJson): LofModel {
  if (j.reference.length !== j.referenceRows * j.cols) {
    throw new RangeError("LOF reference rows do not match cols x referenceRows");
  }
  return {
    ...j,
    reference: Float32Array.from(j.reference),
    kDistance: Float64Array.from(j.kDistance),
    density: Float64Array.from(j.density),
  };
}
