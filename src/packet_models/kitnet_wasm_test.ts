/**
 * KitNET's WebAssembly SIMD block scorer against the typed-array one: the
 * same scores to the bit on random models of many shapes (rows with NaN,
 * infinities and values far outside the training range, row counts across
 * the block and chunk edges) and on real AfterImage rows of a range capture
 * the model never saw. (tests/kitnet_wasm_build_test.ts checks that the
 * committed wasm is what its source compiles to.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { packetRowsFromCaptures } from "../train/mod.ts";
import { KitNetScorer, trainKitNet } from "./mod.ts";

const LAB = new URL("../../tests/fixtures/", import.meta.url).pathname;

/** Deterministic uniform numbers (mulberry32). */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows with correlated, heavy-tailed columns. */
function rows(n: number, cols: number, seed: number): Float32Array {
  const next = uniform(seed);
  const x = new Float32Array(n * cols);
  for (let r = 0; r < n; r++) {
    const base = Math.exp(4 * next() - 2);
    for (let c = 0; c < cols; c++) x[r * cols + c] = base * (1 + (c % 3)) + next();
  }
  return x;
}

/** Differences between two score vectors, NaN equal to NaN. */
function mismatches(a: Float32Array, b: Float32Array): number[] {
  assert.equal(a.length, b.length);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) bad.push(i);
  }
  return bad;
}

Deno.test("KitNET's wasm scorer gives the typed-array scores to the bit, on models of every shape", () => {
  const shapes = [
    { cols: 1, maxAutoencoderSize: 1, hiddenRatio: 0.75 },
    { cols: 7, maxAutoencoderSize: 3, hiddenRatio: 0.75 },
    { cols: 23, maxAutoencoderSize: 10, hiddenRatio: 0.75 },
    { cols: 40, maxAutoencoderSize: 5, hiddenRatio: 1.5 },
    { cols: 115, maxAutoencoderSize: 10, hiddenRatio: 0.75 },
  ];
  for (const [s, shape] of shapes.entries()) {
    const train = 1500;
    const x = rows(train, shape.cols, 10 + s);
    const model = trainKitNet(x, train, shape.cols, { ...shape, featureMapRows: 300, seed: s });
    const typed = new KitNetScorer(model, "typed"), wasm = new KitNetScorer(model, "wasm");
    assert.equal(typed.engine, "typed");
    assert.equal(wasm.engine, "wasm");
    assert.equal(new KitNetScorer(model).engine, "wasm", "auto takes wasm here");
    // Across the 8-row step, the 64-row block and the 512-row chunk edges, and an empty call.
    for (const n of [0, 1, 3, 4, 5, 8, 9, 63, 64, 65, 127, 128, 129, 1023, 1024, 2 * 1024 + 77]) {
      const test = rows(n, shape.cols, 100 + n);
      // Far outside the training range (the sigmoid table's ends), non-finite, negative.
      for (let r = 0; r < n; r += 7) {
        const c = r % shape.cols;
        test[r * shape.cols + c] = [1e30, -1e30, NaN, Infinity, -Infinity, 0, -5][(r / 7) % 7];
      }
      const a = typed.scoreRows(test, n), b = wasm.scoreRows(test, n);
      const bad = mismatches(a, b);
      assert.equal(bad.length, 0, `shape ${s}, ${n} rows: rows ${bad.slice(0, 5)} differ`);
      if (n > 0) assert.ok(a.some((v) => Number.isFinite(v) && v > 0), "scores say something");
    }
    // The wasm scorer writes where asked and leaves the rest of `out` alone.
    const test = rows(300, shape.cols, 7);
    const out = new Float32Array(302).fill(-1);
    wasm.scoreRows(test, 300, out);
    assert.equal(out[300], -1);
    assert.equal(mismatches(out.subarray(0, 300), typed.scoreRows(test, 300)).length, 0);
  }
});

Deno.test("KitNET's wasm scorer gives the typed-array scores to the bit on real AfterImage rows", async () => {
  const { sets: benign } = await packetRowsFromCaptures([join(LAB, "lab/benign/capture.pcap")], [
    "afterimage",
  ]);
  const train = benign.get("afterimage")!;
  const model = trainKitNet(train.training.x, train.training.rows, train.width);
  const { sets } = await packetRowsFromCaptures([join(LAB, "lab/syn-flood/capture.pcap")], [
    "afterimage",
  ]);
  const flood = sets.get("afterimage")!;
  const x = new Float32Array([...flood.training.x, ...flood.calibration.x]);
  const n = flood.training.rows + flood.calibration.rows;
  assert.ok(n > 1000, `${n} rows`);
  const typed = new KitNetScorer(model, "typed").scoreRows(x, n);
  const wasm = new KitNetScorer(model, "wasm").scoreRows(x, n);
  const bad = mismatches(typed, wasm);
  assert.equal(bad.length, 0, `${bad.length} of ${n} rows differ, first ${bad[0]}`);
  assert.ok(new Set(wasm).size > n / 10, "the scores vary from row to row");
});
