/**
 * One-sided captures through the CLI with the bundled model
 * (tests/fixtures/one-sided): benign traffic seen in one direction only
 * raises no alert and is reported as one-sided; attacks whose evidence a
 * one-way link still shows (a SYN scan and a SYN flood from the attackers'
 * side, ARP spoofing that claims another host's address) still alert.
 */
import assert from "node:assert/strict";
import { repoRoot } from "./support/environment.ts";

const FIXTURES = `${repoRoot}tests/fixtures/one-sided`;

interface AlertLine {
  src_ip: string;
  alert: { verdict: string; name: string };
}

async function analyze(capture: string): Promise<{ alerts: AlertLine[]; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "ids-one-sided-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${repoRoot}main.ts`, "analyze", capture, "--alerts", `${dir}/a.jsonl`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const text = await Deno.readTextFile(`${dir}/a.jsonl`);
    return { alerts: text.split("\n").filter((l) => l).map((l) => JSON.parse(l)), stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
