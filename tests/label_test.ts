import assert from "node:assert/strict";
import { countCapturePackets } from "../src/lab/mod.ts";
import { flowRecordAt } from "../src/features/mod.ts";
import {
  type AttackWindow,
  auditAttackTimeline,
  BENIGN_LABEL,
  canonicalAddress,
  createFlowLabeller,
  formatAttackWindows,
  labelCapture,
  type LabelledFlow,
  labelledFlowCsvHeader,
  labelledFlowCsvLines,
  parseAttackWindows,
} from "../src/label/mod.ts";
import type { LabManifest } from "../src/lab/mod.ts";

const FIXTURES = new URL("./fixtures/lab/", import.meta.url).pathname;

const flow = (srcIp: string, dstIp: string, startS: number, endS: number) => ({
  srcIp,
  dstIp,
  startMicros: startS * 1e6,
  endMicros: endS * 1e6,
});

Deno.test("labels file: format and parse round-trip, columns found by header name", () => {
  const windows: AttackWindow[] = [
    { attacker: "10.66.0.66", start: 1700000010.25, end: 1700000020.5, attack: "syn-scan" },
    { attacker: "10.66.0.67", start: 1700000030, end: 1700000031.000001, attack: "slowloris" },
  ];
  assert.deepEqual(parseAttackWindows(formatAttackWindows(windows)), windows);
  const reordered = "attack,end,attacker,start\r\nhttp-brute-force,20,::FFFF:10.1.2.3,10\r\n\r\n";
  assert.deepEqual(parseAttackWindows(reordered), [
    { attacker: "10.1.2.3", start: 10, end: 20, attack: "http-brute-force" },
  ]);
});

Deno.test("labels file: malformed lines fail with their line number", () => {
  const header = "attacker,start,end,attack\n";
  assert.throws(() => parseAttackWindows(""), /empty/);
  assert.throws(() => parseAttackWindows("attacker,start,attack\n"), /lacks "end"/);
  assert.throws(() => parseAttackWindows(header + "1.2.3.4,x,5,a\n"), /line 2: start and end/);
  assert.throws(() => parseAttackWindows(header + "1.2.3.4,9,5,a\n"), /line 2: end 5 is before/);
  assert.throws(() => parseAttackWindows(header + "\n1.2.3.4,1,5\n"), /line 3: 3 columns/);
  assert.throws(() => formatAttackWindows([{ attacker: "a", start: 1, end: 2, attack: "x,y" }]));
});

Deno.test("addresses compare in canonical form", () => {
  assert.equal(canonicalAddress("::ffff:10.66.0.66"), "10.66.0.66");
  assert.equal(canonicalAddress("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  assert.equal(canonicalAddress("2001:db8:0:1:0:0:0:0"), "2001:db8:0:1::");
  assert.equal(canonicalAddress("fe80::1:0:0:1"), "fe80::1:0:0:1");
});

Deno.test("rule: attacker as source or destination, overlap of any length", () => {
  const labeller = createFlowLabeller([
    { attacker: "10.66.0.66", start: 100, end: 110, attack: "syn-scan" },
  ]);
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 101, 102)), "syn-scan");
  // The victim opening towards the attacker (a reply that became its own flow).
  assert.equal(labeller.labelOf(flow("10.66.0.10", "10.66.0.66", 105, 105)), "syn-scan");
  // Straddling the start and the end, and covering the whole window.
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 95, 100.5)), "syn-scan");
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 109, 140)), "syn-scan");
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 90, 150)), "syn-scan");
  // Closed intervals: a one-packet flow exactly at the edge counts.
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 110, 110)), "syn-scan");
  // Outside the window, or another host inside it.
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 110.001, 111)), BENIGN_LABEL);
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 80, 99.9)), BENIGN_LABEL);
  assert.equal(labeller.labelOf(flow("10.66.0.21", "10.66.0.10", 101, 102)), BENIGN_LABEL);
  assert.equal(labeller.labelOf(flow("::ffff:10.66.0.66", "10.66.0.10", 101, 102)), "syn-scan");
});

Deno.test("rule: the longest overlap wins, ties to the earlier window; tolerance widens", () => {
  const windows: AttackWindow[] = [
    { attacker: "10.66.0.66", start: 100, end: 110, attack: "syn-flood" },
    { attacker: "10.66.0.66", start: 120, end: 130, attack: "slowloris" },
    { attacker: "10.66.0.67", start: 100, end: 130, attack: "udp-scan" },
  ];
  const labeller = createFlowLabeller(windows);
  assert.deepEqual(labeller.attacks, ["syn-flood", "slowloris", "udp-scan"]);
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 108, 125)), "slowloris");
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 107, 123)), "syn-flood");
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 105, 125)), "syn-flood");
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.10", 112, 118)), BENIGN_LABEL);
  // A flow between the two attackers: the longer overlap decides.
  assert.equal(labeller.labelOf(flow("10.66.0.66", "10.66.0.67", 112, 118)), "udp-scan");
  const tolerant = createFlowLabeller(windows, { toleranceSeconds: 3 });
  assert.equal(tolerant.labelOf(flow("10.66.0.66", "10.66.0.10", 112, 112.5)), "syn-flood");
  assert.throws(() => createFlowLabeller(windows, { toleranceSeconds: -1 }), /tolerance/);
  assert.equal(createFlowLabeller([]).labelOf(flow("1.1.1.1", "2.2.2.2", 0, 1)), BENIGN_LABEL);
});

Deno.test("audit reports empty windows, attacker flows outside windows and mislabelled clients", () => {
  const windows: AttackWindow[] = [
    { attacker: "10.66.0.66", start: 100, end: 110, attack: "syn-scan" },
    { attacker: "10.66.0.67", start: 200, end: 210, attack: "udp-scan" },
  ];
  const flows: LabelledFlow[] = [
    { ...flow("10.66.0.66", "10.66.0.10", 101, 102), label: "syn-scan" },
    { ...flow("10.66.0.67", "10.66.0.10", 150, 151), label: BENIGN_LABEL },
    { ...flow("10.66.0.21", "10.66.0.10", 101, 102), label: "syn-scan" },
  ];
  const audit = auditAttackTimeline(flows, windows, ["10.66.0.21"]);
  assert.deepEqual(audit.flowsPerWindow, [1, 0]);
  assert.equal(audit.problems.length, 3, audit.problems.join("\n"));
});

interface FixtureRun {
  scenario: string;
  dir: string;
  windows: AttackWindow[];
  manifest: LabManifest;
}

function listFixtures(): FixtureRun[] {
  const runs: FixtureRun[] = [];
  for (const entry of Deno.readDirSync(FIXTURES)) {
    if (!entry.isDirectory) continue;
    const dir = `${FIXTURES}${entry.name}`;
    runs.push({
      scenario: entry.name,
      dir,
      windows: parseAttackWindows(Deno.readTextFileSync(`${dir}/labels.csv`)),
      manifest: JSON.parse(Deno.readTextFileSync(`${dir}/manifest.json`)),
    });
  }
  return runs.sort((a, b) => a.scenario.localeCompare(b.scenario));
}

const fixtures = listFixtures();

Deno.test("committed lab fixtures cover every scenario and stay small", () => {
  const names = fixtures.map((f) => f.scenario);
  for (
    const scenario of [
      "benign",
      "syn-scan",
      "udp-scan",
      "syn-flood",
      "slowloris",
      "http-brute-force",
      "mixed",
    ]
  ) assert.ok(names.includes(scenario), `no fixture for ${scenario} in ${FIXTURES}`);
  let total = 0;
  for (const f of fixtures) {
    const bytes = Deno.statSync(`${f.dir}/capture.pcap`).size;
    assert.ok(bytes <= 600_000, `${f.scenario}/capture.pcap is ${bytes} bytes`);
    total += bytes;
  }
  assert.ok(total <= 3_000_000, `fixtures total ${total} bytes`);
});

for (const fixture of fixtures) {
  Deno.test(`fixture ${fixture.scenario}: labelled flows follow the attack timeline`, async () => {
    const { manifest, windows } = fixture;
    assert.equal(manifest.scenario, fixture.scenario);
    assert.equal(manifest.packets.inFile, await countCapturePackets(`${fixture.dir}/capture.pcap`));
    // The labels file is the manifest's attack list, attack by attack.
    assert.deepEqual(
      windows.map((w) => [w.attacker, w.attack]),
      manifest.attacks.map((a) => [a.attacker, a.attack]),
    );
    if (fixture.scenario === "benign") assert.equal(windows.length, 0);
    else if (fixture.scenario === "mixed") assert.ok(windows.length >= 2);
    else assert.deepEqual(windows.map((w) => w.attack), [fixture.scenario]);
    for (const w of windows) {
      assert.ok(w.start >= manifest.captureStart && w.end <= manifest.captureEnd, "window in run");
    }

    const flows: LabelledFlow[] = [];
    const summary = await labelCapture(
      `${fixture.dir}/capture.pcap`,
      createFlowLabeller(windows),
      (batch, labels) => {
        for (let i = 0; i < batch.count; i++) {
          const r = flowRecordAt(batch, i);
          flows.push({ ...r, label: labels[i] });
        }
      },
    );
    assert.equal(summary.flows, flows.length);
    const clients = manifest.hosts.filter((h) => h.role === "client").map((h) => h.ip);
    const audit = auditAttackTimeline(flows, windows, clients);
    assert.deepEqual(audit.problems, []);
    // Benign traffic is there in every scenario, from every client.
    for (const client of clients) {
      assert.ok(flows.some((f) => f.srcIp === client && f.label === BENIGN_LABEL), client);
    }
    assert.ok((summary.byLabel[BENIGN_LABEL] ?? 0) > 0);
  });
}

Deno.test("labelled CSV is the flows CSV plus a Label column", async () => {
  const fixture = fixtures.find((f) => f.scenario === "syn-scan");
  assert.ok(fixture, "syn-scan fixture");
  const header = labelledFlowCsvHeader().split(",");
  assert.equal(header.at(-1), "Label");
  let lines = "";
  await labelCapture(`${fixture.dir}/capture.pcap`, createFlowLabeller(fixture.windows), (b, l) => {
    lines += labelledFlowCsvLines(b, l);
  });
  const rows = lines.trimEnd().split("\n").map((line) => line.split(","));
  assert.ok(rows.length > 0);
  for (const row of rows) assert.equal(row.length, header.length);
  const labels = new Set(rows.map((r) => r.at(-1)));
  assert.deepEqual([...labels].sort(), [BENIGN_LABEL, "syn-scan"]);
});
