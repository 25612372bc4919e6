/**
 * Records the small test fixtures: every scenario, 20 s (40 s for mixed and arp-spoof), low
 * intensity and a short snap length, fixed seeds, into
 * tests/fixtures/lab/<scenario>/; and, with `--wide`, one benign run of the
 * wide benign world (IPv6, DHCP, mDNS, TLS, mail, database, file sharing, a
 * browser, ...) into tests/fixtures/lab-wide/benign/.
 * Run as root: `deno run -A scripts/lab/record_fixtures.ts [--wide] [scenario...]`.
 */
import { runLab, SCENARIOS } from "../../src/lab/mod.ts";

const FIXTURE_ROOT = new URL("../../tests/fixtures/lab/", import.meta.url).pathname;
const WIDE_ROOT = new URL("../../tests/fixtures/lab-wide/", import.meta.url).pathname;

if (import.meta.main) {
  const wide = Deno.args.includes("--wide");
  const named = Deno.args.filter((a) => a !== "--wide");
  if (wide) {
    // Enough flows for `learn` (at least 200) in a file small enough for git.
    const { manifest } = await runLab({
      scenario: "benign",
      seconds: 80,
      outDir: `${WIDE_ROOT}benign`,
      seed: 3000,
      intensity: 0.25,
      snaplen: 64,
    });
    console.log(
      `benign (wide): ${manifest.packets.inFile} packets, ${manifest.captureBytes} bytes`,
    );
  }
  const wanted = named.length > 0 ? named : wide ? [] : SCENARIOS.map((s) => s.name);
  for (const scenario of wanted) {
    const outDir = `${FIXTURE_ROOT}${scenario}`;
    const { manifest } = await runLab({
      scenario,
      // arp-spoof: 20 s would leave arpspoof a 10 s window, all of it spent re-ARPing on exit.
      seconds: scenario === "mixed" || scenario === "arp-spoof" ? 40 : 20,
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
