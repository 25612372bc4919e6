/**
 * One-sided captures through the CLI with the bundled model
 * (tests/fixtures/one-sided): benign traffic seen in one direction only
 * raises no alert and is reported as one-sided; attacks whose evidence a
 * one-way link still shows (a SYN scan and a SYN flood from the attackers'
 * side, ARP spoofing that claims another host's address) still alert. Live,
 * the clients' side replayed across a veth: the warning once, no alert.
 */
import assert from "node:assert/strict";
import { repoRoot, toolAvailable } from "./support/environment.ts";
import { stderrUntil } from "./support/namespace_pair.ts";
import { createVethPair, vethUnavailableReason } from "./support/veth_pair.ts";
import { analyzeCapture } from "./support/analyze_cli.ts";

const FIXTURES = `${repoRoot}tests/fixtures/one-sided`;

interface AlertLine {
  src_ip: string;
  alert: { verdict: string; name: string };
}

function analyze(capture: string): Promise<{ alerts: AlertLine[]; stderr: string }> {
  return analyzeCapture<AlertLine>(capture);
}

for (const [file, side] of [["clients", "clients' side"], ["server", "server's side"]]) {
  Deno.test(`one-sided: the benign range's ${side} alone raises no alert and is reported one-sided`, async () => {
    const { alerts, stderr } = await analyze(`${FIXTURES}/lab-wide-benign-${file}.pcap`);
    assert.deepEqual(alerts.map((a) => `${a.alert.name} from ${a.src_ip}`), [], stderr);
    assert.match(stderr, /warning: \d+% of TCP connections \(\d+ of \d+\) were seen one side only/);
    assert.match(stderr, /one-sided: \d+ TCP connections seen one side only/);
    // The ARP replies whose requests went unseen are counted, not findings.
    assert.match(stderr, /of them to hosts never seen speaking ARP/);
  });
}

Deno.test("one-sided: a SYN scan and a SYN flood seen from the attackers' side only still alert", async () => {
  const { alerts, stderr } = await analyze(`${FIXTURES}/lab-mixed-attackers.pcap`);
  const named = (name: string, src: string) =>
    alerts.some((a) => a.alert.name === name && a.src_ip === src && a.alert.verdict === "known");
  assert.ok(named("TCP SYN scan", "10.66.0.66"), stderr);
  assert.ok(named("TCP SYN flood", "10.66.0.67"), stderr);
});

Deno.test("one-sided: arpspoof claiming another host's address still alerts without the poisoned host's packets", async () => {
  const { alerts, stderr } = await analyze(`${FIXTURES}/lab-arp-spoof-clients.pcap`);
  assert.ok(
    alerts.some((a) => a.alert.name === "ARP spoofing (IP claimed by a second MAC)"),
    stderr,
  );
  // The clients' replies to the server, whose requests are unseen, are no spoofing (nor anything).
  assert.deepEqual(alerts.filter((a) => a.src_ip !== "10.66.0.67").map((a) => a.alert.name), []);
});

const liveReason = vethUnavailableReason() ??
  (toolAvailable("tcpreplay") ? null : "needs tcpreplay (apt-get install tcpreplay)");
if (liveReason) console.warn(`one-sided live test: skipped, ${liveReason}`);

Deno.test({
  name:
    "one-sided live: the benign clients' side replayed across a veth raises no alert; the warning is said when it turns one-sided, and in the summary",
  ignore: liveReason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const pair = createVethPair();
    const dir = await Deno.makeTempDir({ prefix: "ids-one-sided-live-" });
    try {
      const sensor = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${repoRoot}main.ts`,
          "detect",
          "--iface",
          pair.captureSide,
          "--duration",
          "18",
          "--alerts",
          `${dir}/a.jsonl`,
          "--stats-interval",
          "30",
          "--quiet",
        ],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const said = await stderrUntil(sensor, "detecting on");
      // Two minutes of traffic at 12 times its pace: about 10 s.
      const replay = await new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          pair.namespace,
          "tcpreplay",
          "--quiet",
          "-x",
          "12",
          "-i",
          pair.peerSide,
          `${FIXTURES}/lab-wide-benign-clients.pcap`,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      assert.ok(replay.success, new TextDecoder().decode(replay.stderr));
      const status = await sensor.status;
      await said.done;
      await sensor.stdout.cancel();
      const stderr = said.text();
      assert.equal(status.code, 0, stderr);
      const lines = (await Deno.readTextFile(`${dir}/a.jsonl`)).split("\n").filter((l) => l)
        .map((l) => JSON.parse(l));
      assert.deepEqual(lines.filter((l) => l.event_type === "alert"), [], stderr);
      // Once when the interface turned out one-sided, once more in the closing summary.
      const warnings = stderr.split("\n").filter((l) => l.includes("were seen one side only"));
      assert.equal(warnings.length, 2, stderr);
      const stats = lines.filter((l) => l.event_type === "stats").at(-1);
      assert.ok(stats.stats.ids.one_sided.tcp_one_side >= 10, JSON.stringify(stats.stats.ids));
      assert.equal(stats.stats.ids.one_sided.tcp_two_way, 0);
    } finally {
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
