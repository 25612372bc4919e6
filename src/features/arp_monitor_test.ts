import assert from "node:assert/strict";
import { readCaptureFile } from "../capture/mod.ts";
import { batchOf, ethernet, type TestPacket } from "../../tests/support/flow_packets.ts";
import { sharedDataDir } from "../../tests/support/environment.ts";
import { ARP_SWEEP_TARGETS, type ArpFinding, FlowMeter, meterFlows } from "./mod.ts";

const BROADCAST = [255, 255, 255, 255, 255, 255];
const ZERO_MAC = [0, 0, 0, 0, 0, 0];
const mac = (last: number) => [2, 0, 0, 0, 0, last];
const ip = (last: number) => [10, 0, 0, last];

/**
 * An Ethernet frame with an ARP message (IPv4): op 1 request, 2 reply; the
 * frame's source is the sender's MAC unless `frameSource` says otherwise.
 */
function arp(
  op: number,
  senderMac: number[],
  senderIp: number[],
  targetMac: number[],
  targetIp: number[],
  vlan = 0,
  frameSource = senderMac,
): Uint8Array {
  const body = [0, 1, 8, 0, 6, 4, 0, op, ...senderMac, ...senderIp, ...targetMac, ...targetIp];
  const frame = ethernet(0x0806, new Uint8Array(body), vlan ? [[0x8100, vlan]] : []);
  frame.set(op === 1 ? BROADCAST : targetMac, 0);
  frame.set(frameSource, 6);
  return frame;
}

/** Meters `packets` (with ARP analysis) and returns the findings and the ARP counters. */
function monitor(packets: TestPacket[]) {
  const meter = new FlowMeter({ arp: true });
  meter.push(batchOf(packets));
  while (meter.continueExpiry());
  meter.flush();
  return { findings: meter.arp!.take(), counters: meter.counters().arp! };
}

const at = (second: number) => 1_700_000_000e6 + second * 1e6;

Deno.test("ARP sweep: one sender asking for 25 addresses within 10 s is a sweep, with a closing line for the rest", () => {
  const packets: TestPacket[] = [];
  for (let k = 1; k <= 60; k++) {
    packets.push({ data: arp(1, mac(9), ip(9), ZERO_MAC, ip(100 + k)), ts: at(k * 0.05) });
  }
  const { findings, counters } = monitor(packets);
  assert.equal(counters.requests, 60);
  assert.equal(findings.length, 2, JSON.stringify(findings));
  const [first, last] = findings as Extract<ArpFinding, { kind: "arp-sweep" }>[];
  assert.equal(first.kind, "arp-sweep");
  assert.equal(first.stage, "first");
  assert.equal(first.senderIp, "10.0.0.9");
  assert.equal(first.senderMac, "02:00:00:00:00:09");
  assert.equal(first.firstTarget, "10.0.0.101");
  assert.equal(first.targets, ARP_SWEEP_TARGETS);
  assert.equal(first.atMicros, at(ARP_SWEEP_TARGETS * 0.05));
  assert.equal(last.stage, "final");
  assert.ok(last.targets >= 57 && last.targets <= 60, String(last.targets));
  assert.equal(last.requests, 60);
});

Deno.test("ARP sweep: the same addresses asked again, a slow trickle, probes and announcements are no sweep", () => {
  const packets: TestPacket[] = [];
  // A host re-resolving 10 neighbours every second for a minute.
  for (let s = 0; s < 60; s++) {
    for (let k = 1; k <= 10; k++) {
      packets.push({ data: arp(1, mac(1), ip(1), ZERO_MAC, ip(k + 1)), ts: at(s + k * 0.01) });
    }
  }
  // A router asking for 40 different hosts, one every 2 s (20 per 10 s at most... 5 per window).
  for (let k = 0; k < 40; k++) {
    packets.push({ data: arp(1, mac(2), ip(2), ZERO_MAC, ip(100 + k)), ts: at(k * 2 + 0.5) });
  }
  // Address-conflict probes (sender 0.0.0.0) and announcements (sender = target) for 30 addresses.
  for (let k = 0; k < 30; k++) {
    packets.push({ data: arp(1, mac(3), [0, 0, 0, 0], ZERO_MAC, ip(150 + k)), ts: at(k * 0.01) });
    packets.push({ data: arp(1, mac(3), ip(150 + k), ZERO_MAC, ip(150 + k)), ts: at(k * 0.01) });
  }
  packets.sort((a, b) => a.ts - b.ts);
  const { findings, counters } = monitor(packets);
  assert.deepEqual(findings, []);
  assert.equal(counters.probesAndAnnouncements, 60);
});

Deno.test("ARP sweep: a poller's kernel refreshing its answered targets is no sweep; a sweep from the same host still is", () => {
  const packets: TestPacket[] = [];
  const request = (target: number, t: number, to = BROADCAST) => {
    const frame = arp(1, mac(1), ip(1), ZERO_MAC, ip(target));
    frame.set(to, 0);
    packets.push({ data: frame, ts: at(t) });
  };
  const reply = (target: number, t: number) =>
    packets.push({ data: arp(2, mac(target), ip(target), mac(1), ip(1)), ts: at(t) });
  // First round: 40 answered requests (broadcast), the poller's start: a sweep (first, final).
  for (let k = 0; k < 40; k++) request(100 + k, k * 0.01), reply(100 + k, k * 0.01 + 0.001);
  // Every 30 s for 5 minutes: the kernel's refreshes, to the known MAC (unicast), answered.
  for (let r = 1; r <= 10; r++) {
    for (let k = 0; k < 40; k++) request(100 + k, r * 30 + k * 0.01, mac(100 + k));
    for (let k = 0; k < 40; k++) reply(100 + k, r * 30 + k * 0.01 + 0.001);
  }
  // At 400 s the cache was dropped: broadcast again for the same answered addresses.
  for (let k = 0; k < 40; k++) {
    request(100 + k, 400 + k * 0.01), reply(100 + k, 400 + k * 0.01 + 0.001);
  }
  // At 500 s the same host sweeps 10.0.0.1-254: 40 addresses it knows, 213 others never answered.
  for (let k = 1; k <= 254; k++) request(k, 500 + k * 0.004);
  packets.sort((a, b) => a.ts - b.ts);
  const { findings, counters } = monitor(packets);
  const sweeps = findings as Extract<ArpFinding, { kind: "arp-sweep" }>[];
  // The start's episode (its closing line when the next counted request finds it quiet), then the sweep's.
  assert.deepEqual(
    sweeps.map((f) => [f.stage, Math.floor((f.firstMicros - at(0)) / 1e6)]),
    [["first", 0], ["final", 0], ["first", 500], ["final", 500]],
  );
  assert.ok(sweeps[1].targets >= 38 && sweeps[1].targets <= 40, String(sweeps[1].targets));
  assert.equal(sweeps[3].firstTarget, "10.0.0.2"); // 10.0.0.1 is its own (an announcement)
  assert.ok(sweeps[3].targets >= 205 && sweeps[3].targets <= 213, String(sweeps[3].targets));
  // 400 unicast refreshes, the 40 asked again at 400 s and the 40 known ones of the sweep.
  assert.equal(counters.knownTargetRequests, 480);
});

Deno.test("ARP spoofing: a reply nobody asked for is a finding; an answer to a request is not", () => {
  const packets: TestPacket[] = [
    // 10.0.0.5 asks for 10.0.0.1; the gateway answers: solicited.
    { data: arp(1, mac(5), ip(5), ZERO_MAC, ip(1)), ts: at(0) },
    { data: arp(2, mac(1), ip(1), mac(5), ip(5)), ts: at(0.001) },
    // The attacker (MAC 66) resolves its targets with its own address, 10.0.0.66 ...
    { data: arp(1, mac(66), ip(66), ZERO_MAC, ip(5)), ts: at(2) },
    // ... then tells 10.0.0.5 that 10.0.0.1 is at its MAC, unasked, then again.
    { data: arp(2, mac(66), ip(1), mac(5), ip(5)), ts: at(3) },
    { data: arp(2, mac(66), ip(1), mac(5), ip(5)), ts: at(5) },
    // An answer that comes after the request's time to live is unsolicited too.
    { data: arp(1, mac(7), ip(7), ZERO_MAC, ip(8)), ts: at(10) },
    { data: arp(2, mac(8), ip(8), mac(7), ip(7)), ts: at(16) },
    // A gratuitous reply (broadcast, sender = target) is an announcement, not a spoof.
    { data: arp(2, mac(9), ip(9), BROADCAST, ip(9)), ts: at(20) },
    // Two interfaces of one host answering the same request at once (ARP flux): answers both.
    { data: arp(1, mac(5), ip(5), ZERO_MAC, ip(20)), ts: at(30) },
    { data: arp(2, mac(20), ip(20), mac(5), ip(5)), ts: at(30.001) },
    { data: arp(2, mac(21), ip(20), mac(5), ip(5)), ts: at(30.002) },
  ];
  const { findings, counters } = monitor(packets);
  assert.equal(counters.unsolicitedReplies, 3);
  assert.equal(findings.length, 2, "the repeated claim is one finding");
  const spoof = findings[0] as Extract<ArpFinding, { kind: "arp-spoof" }>;
  assert.deepEqual(spoof, {
    kind: "arp-spoof",
    atMicros: at(3),
    senderMac: "02:00:00:00:00:42",
    senderIp: "10.0.0.66",
    claimedIp: "10.0.0.1",
    claimedMac: null,
    targetIp: "10.0.0.5",
    targetMac: "02:00:00:00:00:05",
    previousMac: "02:00:00:00:00:01",
    vlan: 0,
  });
  const late = findings[1] as Extract<ArpFinding, { kind: "arp-spoof" }>;
  assert.equal(late.claimedIp, "10.0.0.8");
  assert.equal(late.previousMac, null);
  assert.equal(late.senderIp, null, "10.0.0.8's MAC showed no other address of its own");
});

Deno.test("ARP spoofing: a reply whose Ethernet source is not the MAC it claims is the source's claim", () => {
  const packets: TestPacket[] = [
    { data: arp(1, mac(5), ip(5), ZERO_MAC, ip(1)), ts: at(0) },
    { data: arp(2, mac(1), ip(1), mac(5), ip(5)), ts: at(0.001) },
    { data: arp(1, mac(66), ip(66), ZERO_MAC, ip(5)), ts: at(1) },
    // The attacker "restores" 10.0.0.5's cache: the reply says 10.0.0.1 is at the gateway's MAC,
    // but the frame comes from the attacker's (arpspoof on exit).
    { data: arp(2, mac(1), ip(1), mac(5), ip(5), 0, mac(66)), ts: at(10) },
  ];
  const { findings } = monitor(packets);
  assert.equal(findings.length, 1);
  const spoof = findings[0] as Extract<ArpFinding, { kind: "arp-spoof" }>;
  assert.equal(spoof.senderMac, "02:00:00:00:00:42");
  assert.equal(spoof.senderIp, "10.0.0.66");
  assert.equal(spoof.claimedMac, "02:00:00:00:00:01");
  assert.equal(spoof.previousMac, null, "the claimed MAC is the address's own");
});

Deno.test("ARP: VLANs are apart; messages not IPv4 over Ethernet or cut short are counted, not read", () => {
  const packets: TestPacket[] = [];
  // 15 targets on VLAN 10 and 15 on VLAN 20 from the same address: no sweep on either.
  for (let k = 0; k < 15; k++) {
    packets.push({ data: arp(1, mac(4), ip(4), ZERO_MAC, ip(100 + k), 10), ts: at(k * 0.1) });
    packets.push({ data: arp(1, mac(4), ip(4), ZERO_MAC, ip(130 + k), 20), ts: at(k * 0.1) });
  }
  const short = arp(1, mac(4), ip(4), ZERO_MAC, ip(200)).slice(0, 14 + 20);
  const ipv6Protocol = arp(1, mac(4), ip(4), ZERO_MAC, ip(201));
  ipv6Protocol[14 + 2] = 0x86;
  ipv6Protocol[14 + 3] = 0xdd;
  packets.push({ data: short, ts: at(2) }, { data: ipv6Protocol, ts: at(2) });
  const { findings, counters } = monitor(packets);
  assert.deepEqual(findings, []);
  assert.equal(counters.notAnalysed, 2);
  assert.equal(counters.requests, 30);
});

Deno.test("ARP on real captures: arppoison.pcapng's unsolicited reply; no finding on the other shared captures", async (t) => {
  const data = sharedDataDir();
  if (data === null) {
    console.log("skipped: ../shared/data is absent (real captures)");
    return;
  }
  const dir = `${data}pcaps/chrissanders`;
  for (const entry of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    await t.step(entry, async () => {
      const meter = new FlowMeter({ arp: true });
      const findings: ArpFinding[] = [];
      for await (const _ of meterFlows(readCaptureFile(`${dir}/${entry}`), {}, meter)) {
        findings.push(...meter.arp!.take());
      }
      findings.push(...meter.arp!.take());
      if (entry !== "arppoison.pcapng") {
        assert.deepEqual(findings, []);
        return;
      }
      assert.equal(findings.length, 1);
      const spoof = findings[0] as Extract<ArpFinding, { kind: "arp-spoof" }>;
      assert.equal(spoof.kind, "arp-spoof");
      assert.equal(spoof.claimedIp, "172.16.0.1");
      assert.equal(spoof.senderMac, "00:25:b3:bf:91:ee");
      assert.equal(spoof.targetIp, "172.16.0.107");
    });
  }
});
