import assert from "node:assert/strict";
import { readCaptureFile } from "../capture/mod.ts";
import { batchOf, ethernet, ipv6, type TestPacket } from "../../tests/support/flow_packets.ts";
import { repoRoot, sharedDataDir } from "../../tests/support/environment.ts";
import {
  FlowMeter,
  meterFlows,
  ND_SWEEP_TARGETS,
  type NdCounters,
  type NdFinding,
  ROUTER_LEARNING_MICROS,
} from "./mod.ts";

const FIXTURES = `${repoRoot}tests/fixtures/nd`;

/** Meters a capture with ND analysis; its findings and the ND counters. */
async function monitorFile(path: string): Promise<{ findings: NdFinding[]; counters: NdCounters }> {
  const meter = new FlowMeter({ nd: true });
  const findings: NdFinding[] = [];
  for await (const _ of meterFlows(readCaptureFile(path), {}, meter)) {
    findings.push(...meter.nd!.take());
  }
  findings.push(...meter.nd!.take());
  return { findings, counters: meter.counters().nd! };
}

function monitor(packets: TestPacket[]) {
  const meter = new FlowMeter({ nd: true });
  meter.push(batchOf(packets));
  while (meter.continueExpiry());
  meter.flush();
  return { findings: meter.nd!.take(), counters: meter.counters().nd! };
}

const at = (second: number) => 1_700_000_000e6 + second * 1e6;
const mac = (last: number) => [2, 0, 0, 0, 0, last];
const fd00 = (last: number) => [0xfd, 0, ...new Array(13).fill(0), last];
const linkLocal = (last: number) => [0xfe, 0x80, ...new Array(13).fill(0), last];
const ALL_NODES = [0xff, 2, ...new Array(13).fill(0), 1];

/** An ND message (ICMPv6 `type`, `body` after the 4-byte header) from `src`/`frameMac`, hop limit `hops`. */
function nd(
  type: number,
  body: number[],
  src: number[],
  dst: number[],
  frameMac: number[],
  hops = 255,
  vlan = 0,
): Uint8Array {
  const packet = ipv6(58, new Uint8Array([type, 0, 0, 0, ...body]), src, dst);
  packet[7] = hops;
  const frame = ethernet(0x86dd, packet, vlan ? [[0x8100, vlan]] : []);
  frame.set(frameMac, 6);
  return frame;
}
/** A solicitation for `target` with a source link-layer option. */
const ns = (src: number[], target: number[], m: number[], hops = 255, vlan = 0) =>
  nd(135, [0, 0, 0, 0, ...target, 1, 1, ...m], src, ALL_NODES, m, hops, vlan);
/** An advertisement for `target` (Override flag unless `override` is false), target link-layer option `m`. */
const na = (src: number[], target: number[], m: number[], override = true, frameMac = m) =>
  nd(136, [override ? 0x20 : 0, 0, 0, 0, ...target, 2, 1, ...m], src, ALL_NODES, frameMac);
/** A router advertisement with `lifetime` seconds and `flags` (byte 5), source link-layer option `m`. */
const ra = (src: number[], m: number[], lifetime = 1800, flags = 0) =>
  nd(
    134,
    [64, flags, lifetime >> 8, lifetime & 255, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, ...m],
    src,
    ALL_NODES,
    m,
  );

Deno.test("ND sweep: nmap -6 -sn on the local link (fixture) is one sweep from the scanner, with a closing line", async () => {
  const { findings, counters } = await monitorFile(`${FIXTURES}/nd-sweep-nmap.pcap`);
  assert.equal(counters.solicitations, 513);
  const sweeps = findings as Extract<NdFinding, { kind: "nd-sweep" }>[];
  assert.deepEqual(sweeps.map((f) => [f.kind, f.stage, f.senderIp, f.senderMac]), [
    ["nd-sweep", "first", "fd00::2", "0e:2b:db:1d:19:75"],
    ["nd-sweep", "final", "fd00::2", "0e:2b:db:1d:19:75"],
  ]);
  assert.equal(sweeps[0].targets, ND_SWEEP_TARGETS);
  assert.equal(sweeps[0].firstTarget, "fd00::1");
  // nmap asked for the 254 other addresses of fd00::/120, each twice or so.
  assert.ok(sweeps[1].targets >= 245 && sweeps[1].targets <= 265, String(sweeps[1].targets));
  assert.equal(sweeps[1].solicitations, 513);
});

Deno.test("ND spoofing: fake_advertise6 and parasite6 (fixture) claim bound addresses; the true owners' answers are no finding", async () => {
  const { findings, counters } = await monitorFile(`${FIXTURES}/nd-spoof.pcap`);
  assert.deepEqual(
    findings.map((f) =>
      f.kind === "nd-spoof" && [f.senderMac, f.claimedIp, f.targetIp, f.previousMac]
    ),
    [
      // fake_advertise6 to all nodes: fd00::3 (answered by its own MAC just before) is at the attacker's.
      ["0e:2b:db:1d:19:75", "fd00::3", "ff02::1", "96:7b:c1:ad:c3:29"],
      // parasite6 answering fd00::3's solicitation for fd00::1 (its claims for fd00::3 repeat the first).
      ["0e:2b:db:1d:19:75", "fd00::1", "fd00::3", "e2:86:b8:7e:c1:1e"],
    ],
  );
  // Three fake_advertise6 packets, three parasite6 answers for fd00::3 and three for fd00::1.
  assert.equal(counters.overrideConflicts, 9);
});

Deno.test("ND routers: radvd for 10 minutes, then fake_router6 and kill_router6 (fixture): one new router, one router kill, both from the attacker", async () => {
  const { findings, counters } = await monitorFile(`${FIXTURES}/nd-router.pcap`);
  const routers = findings as Extract<NdFinding, { kind: "nd-rogue-router" }>[];
  assert.deepEqual(
    routers.map((f) => [f.kind, f.senderMac, f.routerIp, f.routerLifetime, f.previousMac]),
    [
      // fake_router6 announcing itself (lifetime 2048, high preference) 621 s into the capture.
      ["nd-rogue-router", "ce:dd:a1:1c:43:e0", "fe80::ccdd:a1ff:fe1c:43e0", 2048, null],
      // kill_router6 in radvd's name: lifetime 0 from the attacker's MAC.
      ["nd-rogue-router", "ce:dd:a1:1c:43:e0", "fe80::dca9:84ff:fe20:68", 0, "de:a9:84:20:00:68"],
    ],
  );
  // radvd's own last advertisement (lifetime 0 on exit, its own MAC) is no finding.
  assert.equal(counters.rogueRouterAdvertisements, 6);
});

Deno.test("ND: DAD probes are no sweep, hop limits other than 255 are not read, VLANs are apart", () => {
  const packets: TestPacket[] = [];
  for (let k = 0; k < 40; k++) {
    // Duplicate address detection for 40 addresses (source ::).
    packets.push({ data: ns(new Array(16).fill(0), fd00(100 + k), mac(3)), ts: at(k * 0.01) });
    // 40 solicitations with hop limit 64: routed from elsewhere, hosts drop them.
    packets.push({ data: ns(fd00(4), fd00(100 + k), mac(4), 64), ts: at(k * 0.01) });
    // 20 targets on VLAN 10 and 20 on VLAN 20 from one address.
    if (k < 20) {
      packets.push({ data: ns(fd00(5), fd00(100 + k), mac(5), 255, 10), ts: at(k * 0.01) });
    } else packets.push({ data: ns(fd00(5), fd00(80 + k), mac(5), 255, 20), ts: at(k * 0.01) });
  }
  const { findings, counters } = monitor(packets);
  assert.deepEqual(findings, []);
  assert.equal(counters.dadProbes, 40);
  assert.equal(counters.notAnalysed, 40);
  assert.equal(counters.solicitations, 80);
});

Deno.test("ND sweep: solicitations to a neighbour's unicast address (a poller's reachability probes) are no sweep", () => {
  const packets: TestPacket[] = [];
  const m = mac(6);
  // Three rounds of reachability probes of 40 known neighbours, 30 s apart: no sweep.
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < 40; k++) {
      const target = fd00(100 + k);
      const data = nd(135, [0, 0, 0, 0, ...target, 1, 1, ...m], fd00(6), target, m);
      packets.push({ data, ts: at(r * 30 + k * 0.01) });
    }
  }
  // Then 40 to their solicited-node groups: discovery, a sweep.
  for (let k = 0; k < 40; k++) {
    const group = [0xff, 2, ...new Array(9).fill(0), 1, 0xff, 0, 0, 100 + k];
    const data = nd(135, [0, 0, 0, 0, ...fd00(100 + k), 1, 1, ...m], fd00(6), group, m);
    packets.push({ data, ts: at(100 + k * 0.01) });
  }
  const { findings, counters } = monitor(packets);
  assert.equal(counters.unicastSolicitations, 120);
  assert.deepEqual(findings.map((f) => [f.kind, (f as { stage?: string }).stage]), [
    ["nd-sweep", "first"],
    ["nd-sweep", "final"],
  ]);
});

Deno.test("ND spoofing: an advertisement without Override, or from the address's own MAC, is no claim; a forged source does not rebind", () => {
  const packets: TestPacket[] = [
    // fd00::1 solicits fd00::2 (binds fd00::1 to MAC 1); fd00::2 answers (binds it to MAC 2).
    { data: ns(fd00(1), fd00(2), mac(1)), ts: at(0) },
    { data: na(fd00(2), fd00(2), mac(2)), ts: at(0.001) },
    // MAC 66 advertises fd00::2 without Override: no cache is overridden by it.
    { data: na(fd00(2), fd00(2), mac(66), false), ts: at(1) },
    // A solicitation forged in fd00::1's name from MAC 66 neither rebinds fd00::1 ...
    { data: ns(fd00(1), fd00(9), mac(66)), ts: at(2) },
    // ... nor makes fd00::1's own answer, later, a claim.
    { data: na(fd00(1), fd00(1), mac(1)), ts: at(3) },
    // MAC 66 claims fd00::2 with Override: a claim on another MAC's address.
    { data: na(fd00(2), fd00(2), mac(66)), ts: at(4) },
    // fd00::2's own answer afterwards is not one.
    { data: na(fd00(2), fd00(2), mac(2)), ts: at(5) },
  ];
  const { findings } = monitor(packets);
  assert.equal(findings.length, 1, JSON.stringify(findings));
  const spoof = findings[0] as Extract<NdFinding, { kind: "nd-spoof" }>;
  assert.equal(spoof.senderMac, "02:00:00:00:00:42");
  assert.equal(spoof.claimedIp, "fd00::2");
  assert.equal(spoof.previousMac, "02:00:00:00:00:02");
  assert.equal(
    spoof.senderIp,
    null,
    "MAC 66 showed no address of its own (its solicitation was in fd00::1's name)",
  );
});

Deno.test("ND routers: routers of the learning period are the link's; a new one after it, and a known one's address from another MAC, are found", () => {
  const learnt = ROUTER_LEARNING_MICROS / 1e6;
  const packets: TestPacket[] = [
    { data: ns(fd00(1), fd00(2), mac(1)), ts: at(0) },
    // Two routers, the second one first heard 500 s in: both the link's.
    { data: ra(linkLocal(1), mac(201)), ts: at(10) },
    { data: ra(linkLocal(2), mac(202)), ts: at(500) },
    { data: ra(linkLocal(2), mac(202), 0), ts: at(learnt + 10) },
    // After the learning period: a third router (fake_router6), twice.
    { data: ra(linkLocal(66), mac(66)), ts: at(learnt + 20) },
    { data: ra(linkLocal(66), mac(66)), ts: at(learnt + 25) },
    // The first router's address with lifetime 0 from another MAC (kill_router6).
    { data: ra(linkLocal(1), mac(67), 0), ts: at(learnt + 30) },
    // The second router's address and MAC, lifetime 0 and high preference (kill_router6 '*',
    // which copies both): unlike its own advertisements.
    { data: ra(linkLocal(2), mac(202), 0, 0x08), ts: at(learnt + 40) },
    // The first router's goodbye (lifetime 0, its own settings): no finding.
    { data: ra(linkLocal(1), mac(201), 0), ts: at(learnt + 50) },
  ];
  const { findings, counters } = monitor(packets);
  assert.equal(counters.routerAdvertisements, 8);
  assert.equal(counters.rogueRouterAdvertisements, 4);
  const routers = findings as Extract<NdFinding, { kind: "nd-rogue-router" }>[];
  assert.deepEqual(
    routers.map((f) => [f.routerIp, f.senderMac, f.routerLifetime, f.check, f.previousMac]),
    [
      ["fe80::42", "02:00:00:00:00:42", 1800, "new", null],
      ["fe80::1", "02:00:00:00:00:43", 0, "other-mac", "02:00:00:00:00:c9"],
      ["fe80::2", "02:00:00:00:00:ca", 0, "unlike-its-own", null],
    ],
  );
});

Deno.test("ND routers: a flood of new routers is a few lines, the rest counted", () => {
  const packets: TestPacket[] = [{ data: ns(fd00(1), fd00(2), mac(1)), ts: at(0) }];
  const after = ROUTER_LEARNING_MICROS / 1e6 + 1;
  for (let k = 0; k < 200; k++) {
    packets.push({ data: ra(linkLocal(k % 250), [2, 0, 0, 0, 1, k]), ts: at(after + k * 0.001) });
  }
  const { findings, counters } = monitor(packets);
  assert.equal(counters.rogueRouterAdvertisements, 200);
  assert.equal(findings.length, 4);
});

Deno.test("ND on real captures: no finding on any shared capture (IPv6 neighbour solicitations among them)", async (t) => {
  const data = sharedDataDir();
  if (data === null) {
    console.log("skipped: ../shared/data is absent (real captures)");
    return;
  }
  const dir = `${data}pcaps/chrissanders`;
  for (const entry of [...Deno.readDirSync(dir)].map((e) => e.name).sort()) {
    await t.step(entry, async () => {
      const { findings } = await monitorFile(`${dir}/${entry}`);
      assert.deepEqual(findings, []);
    });
  }
});
