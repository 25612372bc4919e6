import assert from "node:assert/strict";
import type { Dataset } from "../dataset.ts";
import { Random } from "../random.ts";
import { leaveTypeOutWeights, parseFamilyList, typesToHoldOut } from "./mod.ts";

Deno.test("typesToHoldOut: one type per class in turn, largest first, small types never", () => {
  // class 0 benign; class 1: a (5 rows), b (3); class 2: c (4), d (1).
  const y = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2];
  const t = ["n", "n", "a", "a", "a", "a", "a", "b", "b", "b", "c", "c", "c", "c", "d"];
  assert.deepEqual(typesToHoldOut(y, t, 0, 10, 2), ["a", "c", "b"]);
  assert.deepEqual(typesToHoldOut(y, t, 0, 2, 2), ["a", "c"]);
  assert.deepEqual(typesToHoldOut(y, t, 0, 10, 4), ["a", "c"]);
});

/**
 * Benign rows near the origin; attack type "loud" shifts columns 0-2 (the
 * classifier learns it), type "odd" is a narrow cluster far out in column 5
 * that a classifier trained without it cannot know.
 */
function dataset(rng: Random, rows: number): { d: Dataset; types: string[] } {
  const cols = 8;
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  const types: string[] = [];
  for (let r = 0; r < rows; r++) {
    const kind = r % 4 === 0 ? "loud" : r % 4 === 1 ? "odd" : "benign";
    types.push(kind);
    y[r] = kind === "benign" ? 0 : 1;
    for (let c = 0; c < cols; c++) {
      let v = rng.normal();
      if (kind === "loud" && c < 3) v += 4;
      if (kind === "odd" && c === 5) v = 12 + 0.1 * rng.normal();
      x[r * cols + c] = v;
    }
  }
  return {
    d: {
      x,
      y,
      rows,
      cols,
      columnNames: Array.from({ length: cols }, (_, i) => `f${i}`),
      classNames: ["benign", "attack"],
      benignClass: 0,
    },
    types,
  };
}

Deno.test("leaveTypeOutWeights: trains the classifier again without each type, reuses anomaly members (LOF)", () => {
  const rng = new Random(5);
  const fit = dataset(rng, 1600);
  const validation = dataset(rng, 800);
  const families = parseFamilyList("gbdt,lof");
  let trained = 0;
  const counting = families.map((f) => ({
    ...f,
    train: (...args: Parameters<typeof f.train>) => {
      trained++;
      return f.train(...args);
    },
  }));
  const members = counting.map((f) => f.train(fit.d, {}, 1));
  trained = 0;
  const learned = leaveTypeOutWeights(
    counting,
    [{}, {}],
    members,
    fit.d,
    fit.types,
    validation.d,
    validation.types,
    { types: 4, minRows: 30, maxRows: 2000, targetFpr: 0.01, seed: 1 },
  );
  assert.deepEqual(learned.heldOutTypes, ["loud", "odd"]);
  // Only the classifier is trained again, once per held-out type.
  assert.equal(trained, 2);
  assert.deepEqual(Object.keys(learned.memberDetection), ["known", "loud", "odd"]);
  // The classifier trained without "odd" misses it; LOF (benign neighbours only) does not.
  const [gbdtOdd, lofOdd] = learned.memberDetection.odd;
  assert.ok(lofOdd > 0.9 && gbdtOdd < 0.5, `odd: ${learned.memberDetection.odd}`);
  assert.ok(learned.weights[1] > 0, `weights ${learned.weights}`);
  assert.ok(learned.perGroup.odd > 0.9, JSON.stringify(learned.perGroup));
});
