import assert from "node:assert/strict";
import { concatScores, decodeRows, decodeScores, encodeRows, encodeScores } from "./score_codec.ts";
import type { ModelScores } from "../inference/mod.ts";

const scores = (rows: number, offset: number): ModelScores => ({
  rows,
  outputs: [
    {
      name: "c",
      role: "classifier",
      columns: 3,
      values: Float32Array.from({ length: rows * 3 }, (_, i) => offset + i / 7),
    },
    {
      name: "a",
      role: "anomaly",
      columns: 1,
      values: Float32Array.from({ length: rows }, (_, i) => offset - i),
      featureErrors: Float32Array.from({ length: rows * 2 }, (_, i) => i * 0.5),
      classDistance: Float32Array.from({ length: rows * 2 }, (_, i) => i + 0.25),
      classDistanceColumns: 2,
    },
  ],
});

Deno.test("score codec: rows and scores survive the wire bit for bit", () => {
  const rows = Float32Array.from({ length: 12 }, (_, i) => i * 1.5 - 3);
  const wire = encodeRows(rows, 3, 4);
  assert.deepEqual(decodeRows(wire.slice(), 3, 4), rows);
  assert.throws(() => decodeRows(wire, 2, 4), /expected 2 x 4/);
  const s = scores(5, 1);
  // Copied to an odd offset, as message bytes may sit anywhere in a buffer.
  const bytes = encodeScores(s);
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  assert.deepEqual(decodeScores(shifted.subarray(1)), s);
});

Deno.test("score codec: scores of consecutive chunks concatenate in row order", () => {
  const whole = concatScores([scores(2, 0), scores(3, 10)]);
  assert.equal(whole.rows, 5);
  assert.deepEqual(
    Array.from(whole.outputs[1].values),
    [0, -1, 10, 9, 8],
  );
  assert.equal(whole.outputs[1].classDistance!.length, 10);
  assert.equal(whole.outputs[1].classDistanceColumns, 2);
});
