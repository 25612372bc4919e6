import assert from "node:assert/strict";
import { Random } from "../random.ts";
import { groupDetection, learnNoveltyWeights, type WeightGroup } from "./mod.ts";

/** Two members: `a` separates the known attacks, `b` only the novel type. */
function groups(rng: Random): WeightGroup[] {
  const n = 1000;
  const noise = () => Float32Array.from({ length: n }, () => Math.abs(rng.normal()));
  const high = () => Float32Array.from({ length: n }, () => 5 + Math.abs(rng.normal()));
  return [
    { name: "known", benign: [noise(), noise()], attack: [high(), noise()] },
    { name: "novel", benign: [noise(), noise()], attack: [noise(), high()] },
  ];
}

Deno.test("groupDetection: the share of attack rows above the benign rows' target quantile", () => {
  const g: WeightGroup = {
    name: "g",
    benign: [Float32Array.from({ length: 100 }, (_, i) => i)],
    attack: [Float32Array.from([50, 97.5, 98.5, 200])],
  };
  // 1% of 100 benign rows may pass: the threshold is 98, strictly above it counts.
  assert.deepEqual(groupDetection([g], [1], 0.01), [0.5]);
  assert.deepEqual(groupDetection([g], [1], 0), [0.25]);
});

Deno.test("learnNoveltyWeights: a member that alone catches the held-out type earns weight", () => {
  const g = groups(new Random(3));
  // A start that gives the novelty member nothing, as validation-only weights do.
  const learned = learnNoveltyWeights(g, 0.01, [1, 0]);
  assert.ok(learned.weights[1] > 0.2, `weights ${learned.weights}`);
  assert.ok(Math.abs(learned.weights[0] + learned.weights[1] - 1) < 1e-9);
  assert.ok(learned.perGroup.novel > 0.8, JSON.stringify(learned.perGroup));
  assert.ok(learned.perGroup.known > 0.8, JSON.stringify(learned.perGroup));
  // Without the novel group, the known attacks alone: all weight stays where it was.
  const knownOnly = learnNoveltyWeights([g[0]], 0.01, [1, 0]);
  assert.deepEqual(knownOnly.weights, [1, 0]);
});

Deno.test("learnNoveltyWeights refuses groups with different member counts", () => {
  const g = groups(new Random(4));
  g[1].benign.pop();
  assert.throws(() => learnNoveltyWeights(g, 0.01), /members, expected 2/);
});
