import assert from "node:assert/strict";
import { ATTACKS, findAttack, findScenario, NOVEL_ATTACKS, NOVEL_ATTACKS_2 } from "./scenarios.ts";
import { SeededRandom } from "./seeded_random.ts";

const describe = (plan: ReturnType<ReturnType<typeof findScenario>["plan"]>) =>
  plan.map((p) =>
    `${p.attack.name}@${p.attacker.ip}+${p.startOffset.toFixed(6)}/${p.maxSeconds.toFixed(6)}`
  );

Deno.test("scenarios: mixed plans the same attacks at the same times for a seed as before novel attacks existed", () => {
  // Recorded from the code before NOVEL_ATTACKS (seeded runs and their README figures depend on it).
  assert.deepEqual(describe(findScenario("mixed").plan(300, new SeededRandom(7).fork("plan"))), [
    "syn-flood@10.66.0.66+30.741784/35.700000",
    "slowloris@10.66.0.66+82.149552/35.700000",
    "http-brute-force@10.66.0.66+133.291444/35.700000",
    "syn-scan@10.66.0.66+189.461413/35.700000",
    "udp-scan@10.66.0.66+240.324010/35.700000",
  ]);
});

Deno.test("scenarios: novel runs only attacks outside the training world, each also a scenario of its own", async () => {
  const trained = new Set(ATTACKS.map((a) => a.name));
  const plan = findScenario("novel").plan(300, new SeededRandom(1401).fork("plan"));
  assert.equal(plan.length, NOVEL_ATTACKS.length);
  for (const p of plan) assert(!trained.has(p.attack.name), p.attack.name);
  const workDir = await Deno.makeTempDir();
  try {
    for (const attack of [...NOVEL_ATTACKS, ...NOVEL_ATTACKS_2]) {
      assert.equal(findScenario(attack.name).plan(60, new SeededRandom(1))[0].attack, attack);
      assert.equal(findAttack(attack.name), attack);
      const argv = await attack.command({
        maxSeconds: 30,
        intensity: 1,
        workDir,
        rng: new SeededRandom(2),
      });
      assert.equal(argv[0], attack.tool);
      assert(
        argv.includes("10.66.0.10") || argv.includes("10.66.0.0/24"),
        `${attack.name} targets the victim or its subnet: ${argv.join(" ")}`,
      );
    }
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});
