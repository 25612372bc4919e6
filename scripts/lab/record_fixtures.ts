/**
 * Records the small test fixtures: every scenario, 25 s, low intensity and a
 * short snap length, fixed seeds, into tests/fixtures/lab/<scenario>/.
 * Run as root: `deno run -A scripts/lab/record_fixtures.ts [scenario...]`.
 */
import { runLab, SCENARIOS } from "../../src/lab/mod.ts";

const FIXTURE_ROOT = new URL("../../tests/fixtures/lab/", import.meta.url).pathname;

if (import.meta.main) {
  const wanted = Deno.args.length > 0 ? Deno.args : SCENARIOS.map((s) => s.name);
  for (const scenario of wanted) {
    const outDir = `${FIXTURE_ROOT}${scenario}`;
    const { manifest } = await runLab({
      scenario,
      seconds: scenario === "mixed" ? 40 : 20,
      outDir,
      // A fixed seed per scenario, so re-recording one fixture replays its plan.
      seed: 1000 + SCENARIOS.findIndex((s) => s.name === scenario),
      // A flood at fixture intensity would still dwarf the rest (mixed may hold one).
      intensity: scenario === "syn-flood" || scenario === "mixed" ? 0.12 : 0.25,
      snaplen: 96,
    });
    console.log(`${scenario}: ${manifest.packets.inFile} packets, ${manifest.captureBytes} bytes`);
  }
}
