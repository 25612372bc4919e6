import assert from "node:assert/strict";
import { runOnnxModel } from "../onnx/mod.ts";
import { Random } from "../random.ts";
import { FAMILIES } from "../families/mod.ts";
import type { Dataset } from "../dataset.ts";
import {
  applyEnsemble,
  calibrateMember,
  ENSEMBLE_OUTPUTS,
  ensembleScore,
  ensembleScoreThreshold,
  ensembleToOnnx,
  fitEnsemble,
  learnWeights,
  surprise,
  VOTING_MODES,
} from "./mod.ts";

Deno.test("surprise: benign quantile on a -log10 scale, floored by the calibration size", () => {
  const c = calibrateMember("m", Float32Array.from({ length: 100 }, (_, i) => i));
  const z = surprise(c, Float32Array.from([-1, 50, 98.5, 1000]));
  assert.equal(z[0], 0);
  assert.ok(Math.abs(z[1] - -Math.log10(0.5)) < 1e-6);
  assert.ok(Math.abs(z[2] - 2) < 1e-6, `${z[2]}`);
  assert.ok(Math.abs(z[3] - -Math.log10(1 / 101)) < 1e-6);
});

Deno.test("learnWeights gives a member that separates nothing (near) zero weight", () => {
  const rng = new Random(1);
  const rows = 2000;
  const attack = Uint8Array.from({ length: rows }, (_, i) => i % 2);
  const useful = Float32Array.from(attack, (a) => a * 2 + rng.next());
  const noise = Float32Array.from(attack, () => rng.next() * 3);
  const w = learnWeights([useful, noise], attack);
  assert.ok(w[0] > 0.8 && w[1] < 0.2, `weights ${w}`);
  assert.ok(Math.abs(w[0] + w[1] - 1) < 1e-9);
});

Deno.test("every voting mode keeps the calibration benign false-alert rate within target", () => {
  const rng = new Random(2);
  const rows = 4000;
  const attack = Uint8Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? 1 : 0));
  const scores = [0, 1, 2].map(() => Float32Array.from(attack, (a) => rng.normal() + 2.5 * a));
  for (const mode of VOTING_MODES) {
    const e = fitEnsemble(["a", "b", "c"], scores, attack, { mode, targetFpr: 0.02 });
    assert.ok(e.calibratedFpr <= 0.02, `${mode}: ${e.calibratedFpr}`);
    const d = applyEnsemble(e, scores);
    let detected = 0;
    for (let i = 0; i < rows; i++) if (attack[i]) detected += d.alert[i];
    assert.ok(detected / 1000 > 0.3, `${mode}: detection ${detected / 1000}`);
  }
});

/** Benign rows near one profile, attacks shifted in a few columns; class 0 benign. */
function dataset(rows: number, seed: number): Dataset {
  const rng = new Random(seed);
  const cols = 12;
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    y[r] = r % 3 === 0 ? 1 : 0;
    for (let c = 0; c < cols; c++) {
      x[r * cols + c] = Math.exp(rng.normal() + (y[r] && c < 3 ? 1.5 : 0));
    }
  }
  return {
    x,
    y,
    rows,
    cols,
    columnNames: Array.from({ length: cols }, (_, i) => `f${i}`),
    classNames: ["benign", "attack"],
    benignClass: 0,
  };
}

Deno.test("the ensemble graph (members spliced in) agrees with TypeScript in every mode", async () => {
  const train = dataset(900, 3);
  const members = (["gbdt", "iforest", "dense-ae"] as const).map((name) =>
    FAMILIES[name]!.train(train, name === "gbdt" ? { rounds: 10 } : { epochs: 3 }, 1)
  );
  const held = dataset(600, 4);
  const attack = Uint8Array.from(held.y, (c) => (c === 1 ? 1 : 0));
  const scores = members.map((m) => m.score(held.x, held.rows));
  const other = dataset(600, 5);
  const graphs = members.map((m) => ({
    onnx: m.onnx,
    output: m.output,
    benignColumn: m.kind === "classifier" ? 0 : undefined,
  }));
  for (const mode of VOTING_MODES) {
    const e = fitEnsemble(members.map((m) => m.family), scores, attack, { mode, targetFpr: 0.05 });
    // Measured on other rows: a calibration row's own score sits exactly on a quantile.
    const evalScores = members.map((m) => m.score(other.x, other.rows));
    const z = e.members.map((c, m) => surprise(c, evalScores[m]));
    const expected = ensembleScore(e, z);
    const decision = applyEnsemble(e, evalScores);
    const out = await runOnnxModel(
      ensembleToOnnx(e, graphs, "input", other.cols),
      "input",
      other.x,
      other.rows,
      other.cols,
    );
    const got = out[ENSEMBLE_OUTPUTS.score].data as Float32Array;
    const votes = out[ENSEMBLE_OUTPUTS.votes].data as Float32Array;
    let scoreMismatch = 0;
    let voteMismatch = 0;
    let alertMismatch = 0;
    const threshold = ensembleScoreThreshold(e);
    for (let i = 0; i < other.rows; i++) {
      if (Math.abs(got[i] - expected[i]) > 1e-4 * Math.max(1, Math.abs(expected[i]))) {
        scoreMismatch++;
      }
      if ((got[i] > threshold ? 1 : 0) !== decision.alert[i]) alertMismatch++;
      for (let m = 0; m < members.length; m++) {
        if (votes[i * members.length + m] !== decision.votes[i * members.length + m]) {
          voteMismatch++;
        }
      }
    }
    // A member score within float32 rounding of a calibration quantile may count it differently.
    assert.ok(scoreMismatch <= 6, `${mode}: ${scoreMismatch} of 600 scores differ`);
    assert.ok(voteMismatch <= 6, `${mode}: ${voteMismatch} votes differ`);
    assert.ok(alertMismatch <= 6, `${mode}: ${alertMismatch} alerts differ`);
  }
});
