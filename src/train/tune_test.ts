import assert from "node:assert/strict";
import { tpeSearch } from "./tune.ts";
import { DEFAULT_TRAIN_OPTIONS, trainBundle } from "./pipeline.ts";
import { loadBundle } from "../inference/mod.ts";
import { syntheticDataset } from "../../tests/support/train_synthetic_data.ts";

const space = [
  { name: "a", low: 0, high: 1 },
  { name: "b", low: 0.001, high: 10, log: true },
  { name: "n", low: 1, high: 20, integer: true },
];
// Best at a = 0.7, b = 0.1, n = 12.
const objective = (p: Record<string, number>) =>
  -((p.a - 0.7) ** 2) - (Math.log10(p.b) + 1) ** 2 / 4 - ((p.n - 12) / 20) ** 2;

Deno.test("TPE: startup is random, later trials concentrate near the optimum", async () => {
  const result = await tpeSearch(space, objective, { trials: 40, seed: 3, startupTrials: 10 });
  assert.equal(result.trials.length, 40);
  assert.deepEqual(result.trials.map((t) => t.sampler).slice(8, 12), [
    "random",
    "random",
    "tpe",
    "tpe",
  ]);
  for (const t of result.trials) {
    assert.ok(t.params.a >= 0 && t.params.a <= 1 && t.params.b >= 0.001 && t.params.b <= 10);
    assert.ok(Number.isInteger(t.params.n));
  }
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const startup = mean(result.trials.slice(0, 10).map((t) => t.score));
  const guided = mean(result.trials.slice(30).map((t) => t.score));
  assert.ok(guided > startup, `guided mean ${guided} should beat random mean ${startup}`);
  assert.ok(result.best.score > -0.05, `best ${JSON.stringify(result.best)}`);
});

Deno.test("TPE is reproducible with a seed", async () => {
  const a = await tpeSearch(space, objective, { trials: 15, seed: 9 });
  const b = await tpeSearch(space, objective, { trials: 15, seed: 9 });
  assert.deepEqual(a.trials, b.trials);
});

Deno.test("trainBundle --tune keeps the cheapest trial within the tolerance of the best", async () => {
  const data = syntheticDataset(1200, 8, 3, 7);
  const dir = await Deno.makeTempDir({ prefix: "tune_choice_" });
  try {
    await trainBundle(data, {
      ...DEFAULT_TRAIN_OPTIONS,
      outDir: dir,
      featureSet: { name: "synthetic", version: 1 },
      dataSource: "synthetic",
      epochs: 1,
      tuneTrials: 6,
      tuneFolds: 2,
    });
    const bundle = await loadBundle(dir);
    const classifier = bundle.json.models.find((m) => m.role === "classifier")!;
    const tuning = classifier.training!.tuning as {
      best: { score: number; params: Record<string, number> };
      chosen: { score: number; params: Record<string, number> };
      trials: { score: number; params: Record<string, number> }[];
    };
    const cost = (t: { params: Record<string, number> }) => t.params.rounds * t.params.maxDepth;
    assert.equal(tuning.trials.length, 6);
    assert.ok(tuning.chosen.score >= tuning.best.score - DEFAULT_TRAIN_OPTIONS.tuneTolerance);
    const eligible = tuning.trials.filter((t) =>
      t.score >= tuning.best.score - DEFAULT_TRAIN_OPTIONS.tuneTolerance
    );
    assert.equal(cost(tuning.chosen), Math.min(...eligible.map(cost)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
