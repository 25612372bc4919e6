import assert from "node:assert/strict";
import { allocateOutputs, OutputCache } from "./output_cache.ts";
import type { ModelOutput } from "./model_spec.ts";

const WIDTH = 3;

/** Row k's bits and one model's outputs for it (values k, feature errors k + 0.5). */
function row(k: number): { bits: Uint32Array; outputs: ModelOutput[] } {
  return {
    bits: Uint32Array.of(k, k * 7, 1),
    outputs: [{
      name: "ae",
      role: "anomaly",
      columns: 1,
      values: Float32Array.of(k),
      featureErrors: Float32Array.of(k + 0.5, k + 0.5, k + 0.5),
    }],
  };
}

Deno.test("output cache: a row is found with its own outputs, or not at all; the older entry of a set goes", () => {
  const cache = new OutputCache(4, WIDTH);
  assert.equal(cache.entries, 4);
  // Rows 1, 2 and 3 share a hash (so a set of two entries): storing 3 replaces 1, the older.
  const hash = 5;
  for (const k of [1, 2]) {
    const r = row(k);
    cache.expect(r.outputs);
    cache.store(r.bits, 0, hash, r.outputs, 0);
  }
  assert.equal(cache.find(row(2).bits, 0, hash) >= 0, true);
  // Found 2 just now: 1 is the older entry.
  const r3 = row(3);
  cache.store(r3.bits, 0, hash, r3.outputs, 0);
  assert.equal(cache.find(row(1).bits, 0, hash), -1);
  for (const k of [2, 3]) {
    const e = cache.find(row(k).bits, 0, hash);
    assert(e >= 0, `row ${k} is kept`);
    const out = allocateOutputs(cache.shapes!, 2, WIDTH);
    cache.copyTo(e, out, 1);
    assert.deepEqual([...out[0].values], [0, k]);
    assert.deepEqual([...out[0].featureErrors!], [0, 0, 0, k + 0.5, k + 0.5, k + 0.5]);
  }
  // Same hash, other bits: not found.
  assert.equal(cache.find(row(9).bits, 0, hash), -1);
  // Other output shapes (new models): every row is forgotten.
  cache.expect([{ name: "clf", role: "classifier", columns: 2, values: new Float32Array(2) }]);
  assert.equal(cache.find(row(3).bits, 0, hash), -1);
});
