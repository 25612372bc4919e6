import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

function assertAlmostEquals(actual: number, expected: number, tolerance: number, what = "") {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} differs from ${expected} by more than ${tolerance}`,
  );
}
import { batchOf, ethernet, ipv4, tcp, udp } from "../../tests/support/flow_packets.ts";
import { readCaptureFile } from "../capture/mod.ts";
import {
  AfterImage,
  AFTERIMAGE_FEATURE_SET,
  AFTERIMAGE_LAMBDAS,
  decayFactors,
  DecodedPacket,
  FlowMeter,
  KeyTable,
  meterFlows,
  PACKET_FEATURE_SET,
  PacketContext,
  PacketFeatureExtractor,
  type PacketRows,
  SEQUENCE_FEATURE_SET,
} from "./mod.ts";

const LAB = new URL("../../tests/fixtures/lab/", import.meta.url).pathname;

/**
 * The AfterImage definitions written the plain way: one object per stream in
 * a Map keyed by text, decayed and read per lambda. The typed-array version
 * must agree with it on every column.
 */
class ReferenceAfterImage {
  streams = new Map<string, { last: number; w: number[]; ls: number[]; ss: number[] }>();
  pairs = new Map<string, { last: number; cf3: number[]; w3: number[]; res: number[][] }>();

  stream(id: string) {
    let s = this.streams.get(id);
    if (!s) {
      s = { last: NaN, w: [0, 0, 0, 0, 0], ls: [0, 0, 0, 0, 0], ss: [0, 0, 0, 0, 0] };
      this.streams.set(id, s);
    }
    return s;
  }

  insert(id: string, t: number, v: number) {
    const s = this.stream(id);
    AFTERIMAGE_LAMBDAS.forEach((l, k) => {
      if (t > s.last) {
        const f = Math.pow(2, -l * (t - s.last));
        s.w[k] *= f, s.ls[k] *= f, s.ss[k] *= f;
      }
      s.w[k] += 1, s.ls[k] += v, s.ss[k] += v * v;
    });
    if (!(t <= s.last)) s.last = t;
    return s;
  }

  static oneD(s: { w: number[]; ls: number[]; ss: number[] }, k: number) {
    if (s.w[k] === 0) return { w: 0, mean: 0, variance: 0 };
    const mean = s.ls[k] / s.w[k];
    return { w: s.w[k], mean, variance: Math.abs(s.ss[k] / s.w[k] - mean * mean) };
  }

  twoD(id: string, reverseId: string, pairId: string, side: number, t: number, v: number) {
    const a = this.streams.get(id)!;
    const r = this.streams.get(reverseId) ?? { w: [0, 0, 0, 0, 0], ls: [], ss: [] };
    let pair = this.pairs.get(pairId);
    if (!pair) {
      pair = {
        last: t,
        cf3: [0, 0, 0, 0, 0],
        w3: [0, 0, 0, 0, 0],
        res: [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
      };
      this.pairs.set(pairId, pair);
    }
    const out: number[] = [];
    AFTERIMAGE_LAMBDAS.forEach((l, k) => {
      const sa = ReferenceAfterImage.oneD(a, k), sr = ReferenceAfterImage.oneD(r, k);
      if (t > pair.last) {
        const f = Math.pow(2, -l * (t - pair.last));
        pair.cf3[k] *= f, pair.w3[k] *= f;
      }
      const residual = v - sa.mean;
      pair.cf3[k] += residual * pair.res[1 - side][k];
      pair.w3[k] += 1;
      pair.res[side][k] = residual;
      const cov = pair.cf3[k] / pair.w3[k];
      const spread = Math.sqrt(sa.variance) * Math.sqrt(sr.variance);
      out.push(
        sa.w,
        sa.mean,
        Math.sqrt(sa.variance),
        Math.hypot(sa.mean, sr.mean),
        Math.sqrt(sa.variance + sr.variance),
        cov,
        spread > 0 ? cov / spread : 0,
      );
    });
    if (t > pair.last) pair.last = t;
    return out;
  }

  row(
    p: { mac: string; src: string; dst: string; sport: number; dport: number; proto: number },
    t: number,
    v: number,
  ) {
    const oneDRow = (s: ReturnType<ReferenceAfterImage["stream"]>) =>
      AFTERIMAGE_LAMBDAS.flatMap((_, k) => {
        const o = ReferenceAfterImage.oneD(s, k);
        return [o.w, o.mean, Math.sqrt(o.variance)];
      });
    const mi = oneDRow(this.insert(`mi ${p.mac} ${p.src}`, t, v));
    const h = oneDRow(this.insert(`h ${p.src}`, t, v));
    const channel = `hh ${p.src}>${p.dst}`;
    const jitterId = `jit ${p.src}>${p.dst}`;
    const previous = this.streams.get(jitterId)?.last;
    this.insert(channel, t, v);
    const side = p.src < p.dst ? 0 : 1;
    const pairId = side === 0 ? `${p.src}|${p.dst}` : `${p.dst}|${p.src}`;
    const hh = this.twoD(channel, `hh ${p.dst}>${p.src}`, `hh ${pairId}`, side, t, v);
    const jit = oneDRow(
      this.insert(jitterId, t, previous === undefined ? 0 : Math.max(0, t - previous)),
    );
    const sock = `hp ${p.proto} ${p.src}:${p.sport}>${p.dst}:${p.dport}`;
    this.insert(sock, t, v);
    const sSide = p.src < p.dst || (p.src === p.dst && p.sport <= p.dport) ? 0 : 1;
    const sPair = sSide === 0
      ? `${p.proto} ${p.src}:${p.sport}|${p.dst}:${p.dport}`
      : `${p.proto} ${p.dst}:${p.dport}|${p.src}:${p.sport}`;
    const hphp = this.twoD(
      sock,
      `hp ${p.proto} ${p.dst}:${p.dport}>${p.src}:${p.sport}`,
      sPair,
      sSide,
      t,
      v,
    );
    return [...mi, ...h, ...hh, ...jit, ...hphp];
  }
}

/** Deterministic small traffic: a few hosts talking both ways on a few sockets, irregular times. */
function smallTraffic(count: number) {
  let seed = 7;
  const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  const hosts = [11, 12, 13, 200];
  const packets = [];
  let t = 1_700_000_000;
  for (let i = 0; i < count; i++) {
    const a = hosts[Math.floor(next() * 3)], b = 200;
    const forward = next() < 0.6;
    const sport = 40000 + Math.floor(next() * 3);
    t += next() < 0.1 ? 2.5 : next() * 0.05;
    packets.push({
      src: forward ? a : b,
      dst: forward ? b : a,
      sport: forward ? sport : 80,
      dport: forward ? 80 : sport,
      proto: next() < 0.8 ? 6 : 17,
      size: 60 + Math.floor(next() * 1400),
      t,
    });
  }
  return packets;
}

Deno.test("AfterImage agrees with a plain reference on every column", () => {
  const ai = new AfterImage();
  const reference = new ReferenceAfterImage();
  const ctx = new PacketContext();
  const packet = new DecodedPacket();
  ctx.packet = packet;
  packet.ipVersion = 4;
  const out = new Float32Array(ai.width);
  assertEquals(ai.width, 115);
  assertEquals(AFTERIMAGE_FEATURE_SET.columns.length, 115);
  let compared = 0;
  for (const p of smallTraffic(400)) {
    packet.srcWords.set([0, 0, 0xffff0000, p.src]);
    packet.dstWords.set([0, 0, 0xffff0000, p.dst]);
    packet.srcPort = p.sport, packet.dstPort = p.dport, packet.protocol = p.proto;
    ctx.macHigh = 0x0200, ctx.macLow = p.src;
    ctx.timestampMicros = Math.round(p.t * 1e6);
    ctx.frameLength = p.size;
    ai.write(ctx, out, 0);
    // Word order of the addresses decides the canonical side; compare the same order.
    const expected = reference.row(
      {
        mac: `${p.src}`,
        src: String(p.src).padStart(3, "0"),
        dst: String(p.dst).padStart(3, "0"),
        sport: p.sport,
        dport: p.dport,
        proto: p.proto,
      },
      ctx.timestampMicros / 1e6,
      p.size,
    );
    for (let c = 0; c < 115; c++) {
      const tolerance = 1e-4 * Math.max(1, Math.abs(expected[c]));
      assertAlmostEquals(
        out[c],
        expected[c],
        tolerance,
        `column ${AFTERIMAGE_FEATURE_SET.columns[c].name}`,
      );
      compared++;
    }
  }
  assertEquals(compared, 400 * 115);
});

function collect(sets: ("packet" | "packet-sequence" | "afterimage")[], batch = 4096) {
  const rows: { features: Float32Array[]; count: number }[] = [];
  const extractor = new PacketFeatureExtractor({
    sets,
    batchSize: batch,
    windowPackets: 4,
    onRows: (r: PacketRows) =>
      rows.push({
        features: r.features.map((f) => f.slice(0, r.count * (f.length / r.capacity))),
        count: r.count,
      }),
  });
  return { extractor, rows };
}

Deno.test("packet set: header fields, payload entropy and per-channel gaps", () => {
  const a = [10, 0, 0, 1], b = [10, 0, 0, 2];
  const payload = (bytes: number[]) => {
    const t = tcp({ sport: 40000, dport: 80, flags: 0x18, payload: bytes.length });
    t.set(bytes, t.length - bytes.length);
    return t;
  };
  const batch = batchOf([
    {
      ts: 1_000_000,
      data: ethernet(
        0x0800,
        ipv4(
          { src: a, dst: b, protocol: 6 },
          tcp({ sport: 40000, dport: 80, flags: 0x02, mss: 1460 }),
        ),
      ),
    },
    {
      ts: 1_000_500,
      data: ethernet(
        0x0800,
        ipv4({ src: b, dst: a, protocol: 6 }, tcp({ sport: 80, dport: 40000, flags: 0x12 })),
      ),
    },
    {
      ts: 1_002_000,
      data: ethernet(
        0x0800,
        ipv4({ src: a, dst: b, protocol: 6 }, payload(Array.from({ length: 256 }, (_, i) => i))),
      ),
    },
    {
      ts: 1_003_000,
      data: ethernet(
        0x0800,
        ipv4({ src: a, dst: b, protocol: 6 }, payload(new Array(64).fill(65))),
      ),
    },
    {
      ts: 1_004_000,
      data: ethernet(0x0800, ipv4({ src: a, dst: b, protocol: 17 }, udp(5353, 53, 10))),
    },
  ]);
  const { extractor, rows } = collect(["packet", "packet-sequence"]);
  const meter = new FlowMeter({ packetObserver: extractor });
  meter.push(batch);
  extractor.flush();
  assertEquals(rows.length, 1);
  assertEquals(rows[0].count, 5);
  const w = PACKET_FEATURE_SET.columns.length;
  assert(w >= 30, `packet set has ${w} columns`);
  const col = (row: number, name: string) =>
    rows[0].features[0][row * w + PACKET_FEATURE_SET.columns.findIndex((c) => c.name === name)];
  assertEquals(col(0, "TCP SYN"), 1);
  assertEquals(col(0, "TCP ACK"), 0);
  assertEquals(col(1, "TCP ACK"), 1);
  assertEquals(col(0, "TCP MSS"), 1460);
  assertEquals(col(0, "Host IAT"), -1);
  assertEquals(col(0, "Reverse Channel Gap"), -1);
  assertEquals(col(1, "Reverse Channel Gap"), 500);
  assertEquals(col(2, "Channel IAT"), 2000);
  assertEquals(col(2, "Payload Length"), 256);
  assertAlmostEquals(col(2, "Payload Entropy"), 8, 1e-6);
  assertEquals(col(3, "Payload Entropy"), 0);
  assertEquals(col(3, "Payload Printable"), 1);
  assertEquals(col(3, "Socket Packets"), 3);
  assertEquals(col(4, "Protocol"), 17);
  assertEquals(col(4, "Socket IAT"), -1);
  assertEquals(col(4, "Channel Packets"), 4);
  assertEquals(col(4, "Reverse Channel Packets"), 1);

  // Sequence rows: window of 4 packets of the 10.0.0.1 <-> 10.0.0.2 conversation.
  const sw = SEQUENCE_FEATURE_SET.columns.length;
  const seq = (row: number, name: string) =>
    rows[0].features[1][row * sw + SEQUENCE_FEATURE_SET.columns.findIndex((c) => c.name === name)];
  assertEquals(seq(0, "Window Packets"), 1);
  assertEquals(seq(3, "Window Packets"), 4);
  assertEquals(seq(4, "Window Packets"), 4); // the ring holds the last 4
  assertEquals(seq(4, "Window Duration"), 3500); // packets 2..5: 1_000_500 .. 1_004_000
  assertEquals(seq(4, "Window Direction Changes"), 1);
  assertEquals(seq(4, "Window Same Direction"), 0.75);
  assertEquals(seq(4, "Window Protocols"), 2);
  assertEquals(seq(3, "Window SYN"), 0.5);
  assertEquals(seq(4, "Window IAT Max"), 1500);
});

Deno.test("packet rows of a real capture: one row per metered packet, finite values", async () => {
  const { extractor, rows } = collect(["packet", "packet-sequence", "afterimage"], 1000);
  const meter = new FlowMeter({ packetObserver: extractor });
  for await (const _ of meterFlows(readCaptureFile(`${LAB}syn-scan/capture.pcap`), {}, meter)) {
    // flows are not needed here
  }
  extractor.flush();
  const total = rows.reduce((n, r) => n + r.count, 0);
  assertEquals(total, meter.counters().decode.byOutcome.metered);
  for (const r of rows) for (const f of r.features) assert(f.every(Number.isFinite));
});

Deno.test("key table keeps its entries through growth and drops idle ones", () => {
  const table = new KeyTable({ keyWords: 2, stride: 1, initialCapacity: 16, idleMicros: 1000 });
  for (let i = 0; i < 100; i++) {
    table.key[0] = i, table.key[1] = i * 3;
    const slot = table.find(0);
    assert(table.inserted);
    table.state[slot * table.stride + 1] = i;
  }
  assertEquals(table.count, 100);
  for (let i = 0; i < 100; i++) {
    table.key[0] = i, table.key[1] = i * 3;
    const slot = table.lookup();
    assertEquals(table.state[slot * table.stride + 1], i);
  }
  // Much later, new keys push the idle ones out rather than growing without end.
  for (let i = 0; i < 400; i++) {
    table.key[0] = 1000 + i, table.key[1] = 0;
    table.find(10_000 + i * 10_000);
  }
  assert(table.pruned > 0, "idle entries were pruned");
  table.key[0] = 5, table.key[1] = 15;
  assertEquals(table.lookup(), -1);
});

Deno.test("key table at its memcap evicts the least recently seen, counts it, keeps lookups right", () => {
  const max = 64;
  const table = new KeyTable({ keyWords: 3, stride: 2, initialCapacity: 16, maxEntries: max });
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const recent: number[] = [];
  let inserts = 0;
  for (let step = 0; step < 20_000; step++) {
    // Mostly a working set of 40 keys, often a fresh key (a spoofed source).
    const id = next() < 0.6 ? Math.floor(next() * 40) : 1000 + step;
    table.key[0] = id, table.key[1] = id ^ 0xdeadbeef, table.key[2] = 3;
    const slot = table.find(step);
    const s = table.state, at = slot * table.stride + 1;
    if (table.inserted) inserts++, s[at] = id, s[at + 1] = 0;
    assertEquals(s[at], id, "a found entry holds its own state");
    s[at + 1]++;
    recent.push(id);
    assert(table.count <= max, "the table stays within its memcap");
  }
  assertEquals(table.count, max);
  assertEquals(
    table.evicted + table.pruned,
    inserts - table.count,
    "every recycled entry is counted",
  );
  assert(table.evicted > 0, "fresh keys evicted live ones");
  assertEquals(table.pruned, 0, "nothing was idle for 120 s");
  // The victim is the oldest of 16 sampled entries, so the 15 most recently seen always survive.
  const lastDistinct = [...new Set(recent.reverse())].slice(0, 15);
  for (const id of lastDistinct) {
    table.key[0] = id, table.key[1] = id ^ 0xdeadbeef, table.key[2] = 3;
    const slot = table.lookup();
    assert(slot >= 0, `recently seen key ${id} was kept`);
    assertEquals(table.state[slot * table.stride + 1], id);
  }
  // Every key the index holds still maps to its own state (deletion kept the probe runs intact).
  let held = 0;
  for (const id of new Set(recent)) {
    table.key[0] = id, table.key[1] = id ^ 0xdeadbeef, table.key[2] = 3;
    const slot = table.lookup();
    if (slot < 0) continue;
    held++;
    assertEquals(table.state[slot * table.stride + 1], id);
  }
  assertEquals(held, table.count);
});

Deno.test("AfterImage decay factors from one exp agree with 2^(-lambda * dt) within 1e-13", () => {
  const f = new Float64Array(AFTERIMAGE_LAMBDAS.length);
  for (const dt of [1e-6, 3.7e-4, 0.01, 0.25, 1, 2.5, 17, 120, 1000]) {
    decayFactors(dt, f);
    AFTERIMAGE_LAMBDAS.forEach((l, k) => {
      const exact = Math.pow(2, -l * dt);
      assert(
        Math.abs(f[k] - exact) <= 1e-13 * exact || Math.abs(f[k] - exact) < 1e-300,
        `lambda ${l}, dt ${dt}: ${f[k]} vs ${exact}`,
      );
    });
  }
});
