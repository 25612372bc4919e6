import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  clusterFeatures,
  CorrelationStats,
  fitLof,
  kitNetFromJson,
  KitNetScorer,
  kitNetToJson,
  lofScores,
  trainKitNet,
} from "./mod.ts";
import { sigmoid } from "./kitnet.ts";

/** Seeded uniform numbers for the test data. */
function uniform(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

/** Rows whose columns come in correlated blocks of 3 (a shared factor plus noise). */
function blockRows(rows: number, blocks: number, seed: number): Float32Array {
  const next = uniform(seed), cols = blocks * 3;
  const x = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const factor = next() * 10;
      for (let k = 0; k < 3; k++) x[r * cols + b * 3 + k] = factor * (k + 1) + next() * 0.5;
    }
  }
  return x;
}

/**
 * KitNET written the plain way (Kitsune's dA with arrays of arrays and the
 * exact logistic function), trained on the same groups and initial weights.
 */
function referenceKitNet(
  x: Float32Array,
  rows: number,
  cols: number,
  groups: number[][],
  initial: { ensemble: number[][][]; output: number[][] },
  from: number,
  rate: number,
) {
  const exact = (v: number) => 1 / (1 + Math.exp(-v));
  const makeAe = (w: number[][]) => ({
    w: w.map((row) => [...row]),
    hb: new Array(w[0].length).fill(0),
    vb: new Array(w.length).fill(0),
    min: new Array(w.length).fill(Infinity),
    max: new Array(w.length).fill(-Infinity),
  });
  type Ae = ReturnType<typeof makeAe>;
  const norm = (ae: Ae, v: number[]) =>
    v.map((value, i) => (value - ae.min[i]) / (ae.max[i] - ae.min[i] + 1e-16));
  const run = (ae: Ae, xs: number[]) => {
    const y = ae.hb.map((b, j) => exact(b + xs.reduce((s, xi, i) => s + xi * ae.w[i][j], 0)));
    const z = ae.vb.map((b, i) => exact(b + y.reduce((s, yj, j) => s + yj * ae.w[i][j], 0)));
    return { y, z, rmse: Math.sqrt(xs.reduce((s, xi, i) => s + (xi - z[i]) ** 2, 0) / xs.length) };
  };
  const train = (ae: Ae, v: number[]) => {
    v.forEach((value, i) => {
      ae.max[i] = Math.max(ae.max[i], value);
      ae.min[i] = Math.min(ae.min[i], value);
    });
    const xs = norm(ae, v);
    const { y, z, rmse } = run(ae, xs);
    const dv = xs.map((xi, i) => xi - z[i]);
    const dh = y.map((yj, j) => dv.reduce((s, d, i) => s + d * ae.w[i][j], 0) * yj * (1 - yj));
    ae.w = ae.w.map((row, i) => row.map((w, j) => w + rate * (xs[i] * dh[j] + dv[i] * y[j])));
    ae.vb = ae.vb.map((b, i) => b + rate * dv[i]);
    ae.hb = ae.hb.map((b, j) => b + rate * dh[j]);
    return rmse;
  };
  const ensemble = initial.ensemble.map(makeAe);
  const output = makeAe(initial.output);
  for (let r = from; r < rows; r++) {
    const errors = groups.map((g, k) => train(ensemble[k], g.map((c) => x[r * cols + c])));
    train(output, errors);
  }
  return (row: ArrayLike<number>, offset: number) => {
    const errors = groups.map((g, k) =>
      run(ensemble[k], norm(ensemble[k], g.map((c) => row[offset + c]))).rmse
    );
    return run(output, norm(output, errors)).rmse;
  };
}

Deno.test("the table logistic function stays within 1e-5 of the exact one", () => {
  let worst = 0;
  for (let v = -20; v <= 20; v += 0.0137) {
    worst = Math.max(worst, Math.abs(sigmoid(v) - 1 / (1 + Math.exp(-v))));
  }
  assert(worst < 1e-5, `worst error ${worst}`);
});

Deno.test("correlation clustering groups correlated columns, no group above the limit", () => {
  const rows = 2000, blocks = 5, cols = blocks * 3;
  const x = blockRows(rows, blocks, 3);
  const stats = new CorrelationStats(cols);
  for (let r = 0; r < rows; r++) stats.update(x, r * cols);
  const groups = clusterFeatures(stats.distances(), cols, 3);
  assertEquals(groups.flat().sort((a, b) => a - b), Array.from({ length: cols }, (_, i) => i));
  const asSets = groups.map((g) => [...g].sort((a, b) => a - b).join(",")).sort();
  const expected = Array.from({ length: blocks }, (_, b) => `${b * 3},${b * 3 + 1},${b * 3 + 2}`)
    .sort();
  assertEquals(asSets, expected);
  for (const g of clusterFeatures(stats.distances(), cols, 2)) assert(g.length <= 2);
});

Deno.test("KitNET agrees with a plain reference and scores outliers above benign rows", () => {
  const rows = 1500, blocks = 4, cols = blocks * 3;
  const x = blockRows(rows, blocks, 11);
  const params = { featureMapRows: 300, maxAutoencoderSize: 4, learningRate: 0.1, seed: 5 };
  // Initial weights: train with zero learning rate to read them back (same seed, same draws).
  const initialModel = trainKitNet(x, rows, cols, { ...params, learningRate: 0 });
  const initial = {
    ensemble: initialModel.ensemble.map((ae) =>
      Array.from(
        { length: ae.visible },
        (_, i) => Array.from(ae.weights.subarray(i * ae.hidden, (i + 1) * ae.hidden)),
      )
    ),
    output: Array.from(
      { length: initialModel.output.visible },
      (_, i) =>
        Array.from(
          initialModel.output.weights.subarray(
            i * initialModel.output.hidden,
            (i + 1) * initialModel.output.hidden,
          ),
        ),
    ),
  };
  const model = trainKitNet(x, rows, cols, params);
  assertEquals(model.groups, initialModel.groups);
  const reference = referenceKitNet(x, rows, cols, model.groups, initial, 300, 0.1);
  const scorer = new KitNetScorer(model);
  const test = blockRows(200, blocks, 99);
  for (let r = 0; r < 200; r++) {
    const mine = scorer.score(test, r * cols), theirs = reference(test, r * cols);
    assert(
      Math.abs(mine - theirs) <= 1e-3 * Math.max(1e-3, theirs),
      `row ${r}: ${mine} vs ${theirs}`,
    );
  }
  // A row that breaks the blocks' correlation scores above nearly every benign row.
  const outlier = Float32Array.from({ length: cols }, (_, c) => (c % 3 === 0 ? 9 : 0.5));
  const benign = scorer.scoreRows(test, 200);
  // The batched scorer (blocks of 128 rows, a partial block here) computes the same sums in order.
  for (let r = 0; r < 200; r++) {
    assertEquals(benign[r], Math.fround(scorer.score(test, r * cols)), `batched row ${r}`);
  }
  const above = benign.filter((s) => s < scorer.score(outlier)).length;
  assert(above >= 195, `outlier above ${above} of 200 benign rows`);
  // JSON round trip scores the same.
  const again = new KitNetScorer(kitNetFromJson(JSON.parse(JSON.stringify(kitNetToJson(model)))));
  assertEquals(again.score(test, 0), scorer.score(test, 0));
});

/** LOF by its definition, every distance recomputed (no stored k-distances). */
function referenceLof(reference: number[][], k: number, query: number[]): number {
  const dist = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]));
  const neighbours = (p: number[], skip: number) =>
    reference.map((o, i) => ({ i, d: dist(p, o) })).filter((e) => e.i !== skip)
      .sort((a, b) => a.d - b.d).slice(0, k);
  const kDistance = (i: number) => neighbours(reference[i], i)[k - 1].d;
  const lrd = (p: number[], skip: number) => {
    const n = neighbours(p, skip);
    return 1 / (n.reduce((s, e) => s + Math.max(kDistance(e.i), e.d), 0) / k);
  };
  const n = neighbours(query, -1);
  return n.reduce((s, e) => s + lrd(reference[e.i], e.i), 0) / k / lrd(query, -1);
}

Deno.test("LOF agrees with its definition computed the slow way", () => {
  const next = uniform(21), rows = 120, cols = 3, k = 5;
  const x = Float32Array.from({ length: rows * cols }, () => next() * 4);
  const scaling = { logColumns: [0, 0, 0], center: [0, 0, 0], scale: [1, 1, 1] };
  const model = fitLof(x, rows, cols, scaling, { k, referenceRows: rows, minReach: 1e-9 });
  const reference = Array.from(
    { length: rows },
    (_, r) => Array.from(x.subarray(r * cols, (r + 1) * cols)),
  );
  const queries = Float32Array.from([2, 2, 2, 9, 9, 9, 0.1, 3.9, 2]);
  const scores = lofScores(model, queries, 3);
  for (let q = 0; q < 3; q++) {
    const expected = referenceLof(reference, k, Array.from(queries.subarray(q * 3, q * 3 + 3)));
    assert(
      Math.abs(scores[q] - expected) < 1e-4 * expected,
      `query ${q}: ${scores[q]} vs ${expected}`,
    );
  }
  assert(scores[1] > 2 && scores[0] < 1.5, `far point ${scores[1]}, central ${scores[0]}`);
});
