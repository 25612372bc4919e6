import assert from "node:assert/strict";
import {
  ATTACKS,
  findAttack,
  findScenario,
  NOVEL_ATTACKS,
  NOVEL_ATTACKS_2,
  NOVEL_ATTACKS_3,
} from "./scenarios.ts";
import { SeededRandom } from "./seeded_random.ts";

/** The tool an argv runs, past a `timeout [options] DURATION` wrapper. */
const executable = (argv: string[]) =>
  argv[0] === "timeout" ? argv[argv.findIndex((a, i) => i > 0 && /^\d+$/.test(a)) + 1] : argv[0];

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
    for (const attack of [...NOVEL_ATTACKS, ...NOVEL_ATTACKS_2, ...NOVEL_ATTACKS_3]) {
      assert.equal(findScenario(attack.name).plan(60, new SeededRandom(1))[0].attack, attack);
      assert.equal(findAttack(attack.name), attack);
      const argv = await attack.command({
        maxSeconds: 30,
        intensity: 1,
        workDir,
        rng: new SeededRandom(2),
      });
      assert.equal(executable(argv), attack.tool);
      assert(
        argv.includes("10.66.0.10") || argv.includes("10.66.0.0/24"),
        `${attack.name} targets the victim or its subnet: ${argv.join(" ")}`,
      );
    }
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});

Deno.test("scenarios: novel and novel-2 keep the plans of their published runs (seeds 1402, 1501)", () => {
  // Recorded from the code before NOVEL_ATTACKS_3 (README's held-out figures depend on them).
  assert.deepEqual(describe(findScenario("novel").plan(300, new SeededRandom(1402).fork("plan"))), [
    "udp-flood@10.66.0.67+31.978925/35.700000",
    "xmas-scan@10.66.0.67+84.581178/35.700000",
    "service-scan@10.66.0.67+133.023994/35.700000",
    "icmp-flood@10.66.0.66+186.479862/35.700000",
    "imap-brute-force@10.66.0.66+238.693178/35.700000",
  ]);
  assert.deepEqual(
    describe(findScenario("novel-2").plan(240, new SeededRandom(1501).fork("plan"))),
    [
      "ping-sweep@10.66.0.66+32.169316/47.600000",
      "udp-flood-one-flow@10.66.0.67+94.617157/47.600000",
      "fin-scan@10.66.0.67+168.698379/47.600000",
    ],
  );
});

Deno.test("scenarios: novel-3 runs both ARP attacks, each bounded by its window", async () => {
  const trained = new Set(ATTACKS.map((a) => a.name));
  const plan = findScenario("novel-3").plan(120, new SeededRandom(1603).fork("plan"));
  assert.deepEqual(plan.map((p) => p.attack.name).sort(), ["arp-spoof", "arp-sweep"]);
  for (const p of plan) assert(!trained.has(p.attack.name), p.attack.name);
  const params = { intensity: 1, workDir: "/nonexistent", rng: new SeededRandom(3) };
  for (const maxSeconds of [10, 20, 35.7]) {
    // arp-scan: about 504 requests at --interval ms each, within the window.
    const sweep = await findAttack("arp-sweep").command({ ...params, maxSeconds });
    const interval = Number(sweep[sweep.indexOf("--interval") + 1]);
    assert(
      interval >= 2 && interval * 504 <= maxSeconds * 1000,
      `${maxSeconds}: ${sweep.join(" ")}`,
    );
    // arpspoof: poisoning plus its 10 s of re-ARPing on exit end before the window does.
    const spoof = await findAttack("arp-spoof").command({ ...params, maxSeconds });
    const poison = Number(spoof.find((a, i) => i > 0 && /^\d+$/.test(a)));
    assert(poison >= 2, spoof.join(" "));
    if (maxSeconds >= 14) assert(poison + 10 < maxSeconds, `${maxSeconds}: ${spoof.join(" ")}`);
    assert.deepEqual(spoof.slice(spoof.indexOf("arpspoof") + 1, -3), ["-i", "eth0", "-t"]);
    assert.deepEqual(spoof.slice(-2), ["-r", "10.66.0.10"], "both directions, about the victim");
    assert.match(spoof.at(-3)!, /^10\.66\.0\.2[1-5]$/, "the poisoned side is a benign client");
  }
  assert.equal(findAttack("arp-spoof").sysctls?.["net.ipv4.ip_forward"], "1");
});
