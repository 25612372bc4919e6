import assert from "node:assert/strict";
import { readCaptureFile } from "../capture/mod.ts";
import { DecodedPacket, decodePacket, formatAddress } from "../features/mod.ts";
import { PacketRing } from "./packet_ring.ts";
import { parseAddress } from "../features/mod.ts";

const SCAN = new URL("../../tests/fixtures/lab/syn-scan/capture.pcap", import.meta.url).pathname;
const ATTACKER = "10.66.0.66";
const VICTIM = "10.66.0.10";

/** Every packet between the two hosts in the capture, as [timestampMicros, bytes] pairs. */
async function pairPackets(path: string, a: string, b: string): Promise<[number, number][]> {
  const out: [number, number][] = [];
  const d = new DecodedPacket();
  for await (const batch of readCaptureFile(path)) {
    for (let i = 0; i < batch.count; i++) {
      if (decodePacket(batch, i, d) !== 0) continue;
      const s = formatAddress(d.srcAddr, d.ipVersion);
      const t = formatAddress(d.dstAddr, d.ipVersion);
      if ((s === a && t === b) || (s === b && t === a)) {
        out.push([batch.timestampMicros[i], batch.capturedLength[i]]);
      }
    }
  }
  return out;
}

async function readBack(pcap: Uint8Array): Promise<[number, number][]> {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, pcap);
    const out: [number, number][] = [];
    for await (const batch of readCaptureFile(path)) {
      for (let i = 0; i < batch.count; i++) {
        out.push([batch.timestampMicros[i], batch.capturedLength[i]]);
      }
    }
    return out;
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("parseAddress: IPv4 mapped, IPv6 with ::, malformed refused", () => {
  assert.deepEqual([...parseAddress("10.66.0.66")!.subarray(10)], [255, 255, 10, 66, 0, 66]);
  const v6 = parseAddress("2001:db8::1")!;
  assert.equal(v6[0], 0x20);
  assert.equal(v6[1], 0x01);
  assert.equal(v6[15], 1);
  assert.equal(parseAddress("::")!.every((x) => x === 0), true);
  for (const bad of ["10.0.0.256", "1::2::3", "abc", "1:2:3:4:5:6:7:8:9", "10.0.0"]) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

Deno.test("ring large enough: evidence holds exactly the pair's packets, read back as pcap", async () => {
  const expected = await pairPackets(SCAN, ATTACKER, VICTIM);
  assert.ok(expected.length > 100, `scan pair has ${expected.length} packets`);
  const ring = new PacketRing({ capacityBytes: 8 * 1024 * 1024 });
  for await (const batch of readCaptureFile(SCAN, { batchSize: 256 })) ring.keep(batch);
  const iso = (micros: number) => new Date(micros / 1000).toISOString();
  const [evidence, none] = ring.evidence([
    {
      src_ip: ATTACKER,
      dest_ip: VICTIM,
      flow: { start: iso(expected[0][0]), end: iso(expected.at(-1)![0]) },
    },
    { src_ip: "192.0.2.1", dest_ip: VICTIM, flow: { start: iso(0), end: iso(2e15) } },
  ], { maxBytes: 64 * 1024 * 1024, maxPackets: 1e6 });
  assert.equal(none, null);
  assert.ok(evidence);
  assert.equal(evidence.packets, expected.length);
  assert.equal(evidence.truncatedPackets, 0);
  assert.deepEqual(await readBack(evidence.pcap), expected);
});

Deno.test("small ring wraps many times: evidence is the newest packets of the pair, intact", async () => {
  const expected = await pairPackets(SCAN, ATTACKER, VICTIM);
  const ring = new PacketRing({ capacityBytes: 65_536, capacityPackets: 600 });
  for await (const batch of readCaptureFile(SCAN, { batchSize: 97 })) ring.keep(batch);
  const stats = ring.stats();
  assert.ok(stats.heldPackets <= 600 && stats.heldPackets > 0);
  assert.ok(stats.packets > stats.heldPackets * 3, "the ring wrapped several times");
  const [evidence] = ring.evidence([
    {
      src_ip: VICTIM,
      dest_ip: ATTACKER,
      flow: { start: "1970-01-01T00:00:00.000Z", end: "2100-01-01T00:00:00.000Z" },
    },
  ], { maxPackets: 1e6, maxBytes: 1e9 });
  assert.ok(evidence);
  const got = await readBack(evidence.pcap);
  // Whatever survived is a suffix of the pair's packets, byte lengths and times intact.
  assert.deepEqual(got, expected.slice(expected.length - got.length));
});

Deno.test("evidence limits: earliest packets kept up to the byte cap, the rest counted", async () => {
  const ring = new PacketRing();
  for await (const batch of readCaptureFile(SCAN)) ring.keep(batch);
  const [evidence] = ring.evidence([
    {
      src_ip: ATTACKER,
      dest_ip: VICTIM,
      flow: { start: "1970-01-01T00:00:00.000Z", end: "2100-01-01T00:00:00.000Z" },
    },
  ], { maxBytes: 4096 });
  assert.ok(evidence);
  assert.ok(evidence.pcap.byteLength <= 4096);
  assert.ok(evidence.truncatedPackets > 0);
  const expected = await pairPackets(SCAN, ATTACKER, VICTIM);
  assert.equal(evidence.packets + evidence.truncatedPackets, expected.length);
});

Deno.test("many sources (a flood): every packet to or from the target; many targets: the source's", async () => {
  const FLOOD = new URL("../../tests/fixtures/lab/syn-flood/capture.pcap", import.meta.url)
    .pathname;
  const ring = new PacketRing();
  const involving = new Map<string, number>();
  const d = new DecodedPacket();
  for await (const batch of readCaptureFile(FLOOD)) {
    ring.keep(batch);
    for (let i = 0; i < batch.count; i++) {
      if (decodePacket(batch, i, d) !== 0) continue;
      const s = formatAddress(d.srcAddr, d.ipVersion);
      const t = formatAddress(d.dstAddr, d.ipVersion);
      involving.set(s, (involving.get(s) ?? 0) + 1);
      if (t !== s) involving.set(t, (involving.get(t) ?? 0) + 1);
    }
  }
  const always = { start: "1970-01-01T00:00:00.000Z", end: "2100-01-01T00:00:00.000Z" };
  const limits = { maxPackets: 1e7, maxBytes: 1e9 };
  const [target, source, pair] = ring.evidence([
    { src_ip: "198.51.100.7", dest_ip: VICTIM, flow: always, alert: { sources: 4096 } },
    { src_ip: "10.66.0.21", dest_ip: "198.51.100.7", flow: always, alert: { targets: 30 } },
    { src_ip: "10.66.0.21", dest_ip: VICTIM, flow: always },
  ], limits);
  assert.equal(target!.packets, involving.get(VICTIM));
  assert.equal(source!.packets, involving.get("10.66.0.21"));
  assert.ok(pair!.packets <= source!.packets, "the pair is a part of the host's packets");
});

Deno.test("ARP alerts: evidence is the ARP frames of the sender's MAC and, for a spoof, of the claimed address", async () => {
  const SPOOF = new URL("../../tests/fixtures/lab/arp-spoof/capture.pcap", import.meta.url)
    .pathname;
  const ATTACKER_MAC = "f6:b9:10:74:5c:b8", CLAIMED = [10, 66, 0, 10];
  const ring = new PacketRing();
  // Brute force over the frames (Ethernet, no VLAN tags in this capture): ARP is ethertype 0x0806.
  let fromMac = 0, fromMacOrClaimed = 0, ipPackets = 0;
  for await (const batch of readCaptureFile(SPOOF)) {
    ring.keep(batch);
    for (let i = 0; i < batch.count; i++) {
      const f = batch.data.subarray(batch.offset[i], batch.offset[i] + batch.capturedLength[i]);
      if (f[12] !== 0x08 || f[13] !== 0x06) {
        ipPackets++;
        continue;
      }
      const mac = Array.from(f.subarray(22, 28), (b) => b.toString(16).padStart(2, "0")).join(":");
      const names = (o: number) => CLAIMED.every((b, k) => f[o + k] === b);
      if (mac === ATTACKER_MAC) fromMac++;
      if (mac === ATTACKER_MAC || names(28) || names(38)) fromMacOrClaimed++;
    }
  }
  assert.ok(
    fromMac > 5 && fromMacOrClaimed > fromMac && ipPackets > 0,
    `${fromMac} ${fromMacOrClaimed}`,
  );
  const always = { start: "1970-01-01T00:00:00.000Z", end: "2100-01-01T00:00:00.000Z" };
  const [sweep, spoof] = ring.evidence([
    {
      src_ip: "10.66.0.67",
      dest_ip: "10.66.0.23",
      proto: "ARP",
      flow: always,
      alert: { targets: 30 },
      arp: { sender_mac: ATTACKER_MAC },
    },
    {
      src_ip: "10.66.0.67",
      dest_ip: "10.66.0.23",
      proto: "ARP",
      flow: always,
      arp: { sender_mac: ATTACKER_MAC, claimed_ip: "10.66.0.10" },
    },
  ]);
  assert.equal(sweep!.packets, fromMac);
  assert.equal(spoof!.packets, fromMacOrClaimed);
  const ethertypes = async (pcap: Uint8Array) => {
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      await Deno.writeFile(path, pcap);
      const seen = new Set<number>();
      for await (const b of readCaptureFile(path)) {
        for (let i = 0; i < b.count; i++) {
          seen.add((b.data[b.offset[i] + 12] << 8) | b.data[b.offset[i] + 13]);
        }
      }
      return [...seen];
    } finally {
      await Deno.remove(path);
    }
  };
  assert.deepEqual(await ethertypes(spoof!.pcap), [0x0806], "only ARP frames");
});
