import assert from "node:assert/strict";
import {
  ATTACKERS,
  CLIENTS,
  countCapturePackets,
  isRoot,
  LAB_PREFIX,
  missingTools,
  runLab,
} from "../src/lab/mod.ts";
import { flowRecordAt } from "../src/features/mod.ts";
import {
  auditAttackTimeline,
  createFlowLabeller,
  labelCapture,
  type LabelledFlow,
  parseAttackWindows,
} from "../src/label/mod.ts";

/** Why the live range cannot run here, or undefined when it can. */
function whyNotRunnable(): string | undefined {
  if (Deno.build.os !== "linux") return "the range needs Linux network namespaces";
  if (!isRoot()) return "the range needs root (namespaces, raw sockets, capture)";
  const missing = missingTools();
  if (missing.length === 0) return undefined;
  // As root the lab installs what is missing with apt-get.
  try {
    Deno.statSync("/usr/bin/apt-get");
    return undefined;
  } catch {
    return `missing tools and no apt-get to install them: ${missing.join(", ")}`;
  }
}

const reason = whyNotRunnable();
if (reason) console.warn(`lab_range_test skipped: ${reason}`);

Deno.test({
  name: "lab: a short syn-flood run captures, labels and cleans up after itself",
  ignore: reason !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "lab-range-test-" });
    try {
      const result = await runLab({
        scenario: "syn-flood",
        seconds: 20,
        outDir: out,
        seed: 4242,
        intensity: 0.25,
        snaplen: 96,
        log: () => {},
      });
      const { manifest } = result;
      const records = await countCapturePackets(result.capturePath);
      assert.ok(records > 0);
      assert.equal(manifest.packets.inFile, records);
      assert.equal(manifest.packets.droppedByKernel ?? 0, 0);
      assert.equal(manifest.scenario, "syn-flood");
      assert.equal(manifest.seed, 4242);
      assert.ok(manifest.tools["hping3"], "hping3 version in manifest");

      const windows = parseAttackWindows(await Deno.readTextFile(result.labelsPath));
      assert.equal(windows.length, 1);
      assert.equal(windows[0].attack, "syn-flood");
      assert.ok(ATTACKERS.some((a) => a.ip === windows[0].attacker));
      assert.ok(windows[0].start >= manifest.captureStart);
      assert.ok(windows[0].end <= manifest.captureEnd);
      assert.ok(windows[0].end > windows[0].start);

      const flows: (LabelledFlow & { dstPort: number; protocol: number })[] = [];
      await labelCapture(result.capturePath, createFlowLabeller(windows), (batch, labels) => {
        for (let i = 0; i < batch.count; i++) {
          flows.push({ ...flowRecordAt(batch, i), label: labels[i] });
        }
      });
      // The wide benign world is on the wire: IPv6 (neighbour discovery, MLD, SLAAC hosts),
      // DHCPv4/v6 (the clients start their DHCP clients once capture runs).
      assert.ok(flows.some((f) => f.srcIp.includes(":")), "no IPv6 flow");
      assert.ok(flows.some((f) => f.protocol === 58), "no ICMPv6 flow");
      assert.ok(flows.some((f) => f.dstPort === 67 || f.dstPort === 547), "no DHCP flow");
      const audit = auditAttackTimeline(flows, windows, CLIENTS.map((c) => c.ip));
      assert.deepEqual(audit.problems, []);
      assert.ok(audit.flowsPerWindow[0] > 10, `flood flows: ${audit.flowsPerWindow[0]}`);
      assert.ok(flows.some((f) => f.label === "BENIGN"));

      // Nothing of the range is left behind.
      const { stdout } = await new Deno.Command("ip", { args: ["netns", "list"] }).output();
      assert.ok(!new TextDecoder().decode(stdout).includes(LAB_PREFIX), "namespaces removed");
    } finally {
      // runLab cleans up after itself; destroying here could tear down another
      // run's range when the lab lock refused this one.
      await Deno.remove(out, { recursive: true });
    }
  },
});
