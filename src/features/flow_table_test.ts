import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import {
  CONN_STATES,
  FEATURE_INDEX,
  FEATURE_SET,
  type FlowBatch,
  FlowMeter,
  type FlowMeterOptions,
  flowRecordAt,
} from "./mod.ts";
import {
  ACK,
  batchOf,
  ethernet,
  FIN,
  ipv4,
  PSH,
  RST,
  SYN,
  tcp,
  tcp4,
  type TestPacket,
  udp,
} from "../../tests/support/flow_packets.ts";

const S = 1_000_000;

function meter(packets: TestPacket[], options: FlowMeterOptions = {}) {
  const m = new FlowMeter(options);
  const flows: { batch: FlowBatch; i: number }[] = [];
  // Feed in small batches so expiry between batches is exercised too.
  for (let k = 0; k < packets.length; k += 3) {
    m.push(batchOf(packets.slice(k, k + 3)));
    for (const b of m.drain()) for (let i = 0; i < b.count; i++) flows.push({ batch: b, i });
  }
  m.flush();
  for (const b of m.drain()) for (let i = 0; i < b.count; i++) flows.push({ batch: b, i });
  const rows = flows.map(({ batch, i }) => ({
    record: flowRecordAt(batch, i),
    f: (name: string) => batch.features[i * batch.width + FEATURE_INDEX[name]],
  }));
  return { rows, counters: m.counters() };
}

/** A client (10.0.0.1:40000) to server (10.0.0.2:80) TCP connection with a clean close. */
function handshakeAndClose(t0: number, sport = 40000): TestPacket[] {
  return [
    { ts: t0, data: tcp4(1, 2, sport, 80, SYN) },
    { ts: t0 + 1000, data: tcp4(2, 1, 80, sport, SYN | ACK, 0, 65535) },
    { ts: t0 + 2000, data: tcp4(1, 2, sport, 80, ACK) },
    { ts: t0 + 3000, data: tcp4(1, 2, sport, 80, ACK | PSH, 100) },
    { ts: t0 + 4000, data: tcp4(2, 1, 80, sport, ACK | PSH, 1000) },
    { ts: t0 + 5000, data: tcp4(1, 2, sport, 80, FIN | ACK) },
    { ts: t0 + 6000, data: tcp4(2, 1, 80, sport, FIN | ACK) },
    { ts: t0 + 7000, data: tcp4(1, 2, sport, 80, ACK) },
  ];
}

Deno.test("flow table: both directions make one flow; the last ACK after FIN/FIN still joins it", () => {
  const { rows, counters } = meter(handshakeAndClose(1e15));
  assertEquals(rows.length, 1);
  const { record, f } = rows[0];
  assertEquals([record.srcIp, record.srcPort, record.dstIp, record.dstPort], [
    "10.0.0.1",
    40000,
    "10.0.0.2",
    80,
  ]);
  assertEquals([record.fwdPackets, record.bwdPackets, record.connState, record.endReason], [
    5,
    3,
    "SF",
    "fin",
  ]);
  assertEquals([
    f("Flow Duration"),
    f("Total Length of Fwd Packets"),
    f("Total Length of Bwd Packets"),
  ], [
    7000,
    100,
    1000,
  ]);
  assertEquals([f("Init_Win_bytes_forward"), f("Init_Win_bytes_backward"), f("act_data_pkt_fwd")], [
    1024,
    65535,
    1,
  ]);
  assertEquals(
    [f("SYN Flag Count"), f("FIN Flag Count"), f("ACK Flag Count"), f("PSH Flag Count")],
    [2, 2, 7, 2],
  );
  assertEquals([f("Fwd Header Length"), f("min_seg_size_forward"), f("Down/Up Ratio")], [
    100,
    20,
    0,
  ]);
  assertEquals(counters.flowsCreated, 1);
  assertEquals(counters.decode.byOutcome.metered, 8);
});

Deno.test("flow table: features equal a brute-force computation over random flows", () => {
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let trial = 0; trial < 20; trial++) {
    const packets: TestPacket[] = [];
    const sizes: number[] = [], dirs: boolean[] = [], times: number[] = [];
    let t = 1.6e15;
    const n = 2 + Math.floor(random() * 40);
    for (let k = 0; k < n; k++) {
      const forward = k === 0 || random() < 0.5;
      const size = random() < 0.3 ? 0 : Math.floor(random() * 1400);
      t += Math.floor(random() * 2 * S);
      packets.push({
        ts: t,
        data: forward ? tcp4(1, 2, 5555, 443, ACK, size) : tcp4(2, 1, 443, 5555, ACK, size),
      });
      sizes.push(size), dirs.push(forward), times.push(t);
    }
    const { rows } = meter(packets, { activityTimeoutSeconds: 1 });
    assertEquals(rows.length, 1);
    const { f } = rows[0];
    const pick = (want: boolean) => sizes.filter((_, k) => dirs[k] === want);
    const fwd = pick(true), bwd = pick(false);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const mean = (a: number[]) => (a.length ? sum(a) / a.length : 0);
    const sd = (a: number[]) =>
      a.length > 1 ? Math.sqrt(a.reduce((x, y) => x + (y - mean(a)) ** 2, 0) / (a.length - 1)) : 0;
    const gaps = (a: number[]) => a.slice(1).map((v, k) => v - a[k]);
    const fwdTimes = times.filter((_, k) => dirs[k]), bwdTimes = times.filter((_, k) => !dirs[k]);
    const expected: Record<string, number> = {
      "Flow Duration": times[n - 1] - times[0],
      "Total Fwd Packets": fwd.length,
      "Total Backward Packets": bwd.length,
      "Total Length of Fwd Packets": sum(fwd),
      "Fwd Packet Length Max": Math.max(...fwd),
      "Fwd Packet Length Min": Math.min(...fwd),
      "Fwd Packet Length Mean": mean(fwd),
      "Fwd Packet Length Std": sd(fwd),
      "Bwd Packet Length Mean": mean(bwd),
      "Bwd Packet Length Std": sd(bwd),
      "Packet Length Mean": mean(sizes),
      "Packet Length Std": sd(sizes),
      "Packet Length Variance": sd(sizes) ** 2,
      "Flow IAT Mean": mean(gaps(times)),
      "Flow IAT Std": sd(gaps(times)),
      "Flow IAT Max": Math.max(...gaps(times)),
      "Flow IAT Min": Math.min(...gaps(times)),
      "Fwd IAT Total": sum(gaps(fwdTimes)),
      "Fwd IAT Std": sd(gaps(fwdTimes)),
      "Bwd IAT Total": sum(gaps(bwdTimes)),
      "Bwd IAT Mean": mean(gaps(bwdTimes)),
      "Bwd IAT Std": sd(gaps(bwdTimes)),
      "Subflow Fwd Packets": Math.floor(fwd.length / (1 + gaps(times).filter((g) => g > S).length)),
      "Idle Max": Math.max(0, ...gaps(times).filter((g) => g > S)),
    };
    for (const [name, value] of Object.entries(expected)) {
      const got = f(name);
      ok(
        Math.abs(got - value) <= 1e-4 * Math.max(1, Math.abs(value)),
        `trial ${trial} ${name}: ${got} != ${value}`,
      );
    }
  }
});

Deno.test("flow table: idle timeout splits flows; end-of-input flushes the rest", () => {
  const packets = [
    { ts: 0, data: tcp4(1, 2, 1000, 22, ACK, 10) },
    { ts: 200 * S, data: tcp4(1, 2, 1000, 22, ACK, 10) },
  ];
  const { rows, counters } = meter(packets, { idleTimeoutSeconds: 60 });
  assertEquals(rows.map((r) => r.record.endReason), ["idle", "end-of-input"]);
  assertEquals(counters.flowsEndedByReason.idle, 1);
});

Deno.test("flow table: active timeout (CIC flow timeout) splits long flows at the first packet past it", () => {
  const packets: TestPacket[] = [];
  for (let k = 0; k <= 30; k++) {
    packets.push({ ts: k * 10 * S, data: tcp4(1, 2, 1000, 22, ACK, 1) });
  }
  const { rows } = meter(packets, { activeTimeoutSeconds: 120 });
  assertEquals(rows.map((r) => r.record.endReason), ["active", "active", "end-of-input"]);
  assertEquals(rows.map((r) => r.record.fwdPackets), [13, 13, 5]);
});

Deno.test("flow table: RST ends a flow; Zeek states REJ, S0, RSTO, RSTOS0, SH, S1, OTH", () => {
  const cases: [TestPacket[], string, string][] = [
    [
      [{ ts: 0, data: tcp4(1, 2, 1, 80, SYN) }, { ts: 5, data: tcp4(2, 1, 80, 1, RST | ACK) }],
      "REJ",
      "rst",
    ],
    [[{ ts: 0, data: tcp4(1, 2, 1, 80, SYN) }], "S0", "end-of-input"],
    [
      [
        { ts: 0, data: tcp4(1, 2, 1, 80, SYN) },
        { ts: 1, data: tcp4(2, 1, 80, 1, SYN | ACK) },
        { ts: 2, data: tcp4(1, 2, 1, 80, RST) },
      ],
      "RSTO",
      "rst",
    ],
    [
      [{ ts: 0, data: tcp4(1, 2, 1, 80, SYN) }, { ts: 1, data: tcp4(1, 2, 1, 80, RST) }],
      "RSTOS0",
      "rst",
    ],
    [
      [{ ts: 0, data: tcp4(1, 2, 1, 80, SYN) }, { ts: 1, data: tcp4(1, 2, 1, 80, FIN) }],
      "SH",
      "end-of-input",
    ],
    [
      [{ ts: 0, data: tcp4(1, 2, 1, 80, SYN) }, { ts: 1, data: tcp4(2, 1, 80, 1, SYN | ACK) }],
      "S1",
      "end-of-input",
    ],
    [
      [{ ts: 0, data: tcp4(2, 1, 80, 1, SYN | ACK) }, { ts: 1, data: tcp4(2, 1, 80, 1, RST) }],
      "RSTRH",
      "rst",
    ],
    [[{ ts: 0, data: tcp4(1, 2, 1, 80, ACK, 5) }], "OTH", "end-of-input"],
  ];
  for (const [packets, state, reason] of cases) {
    const { rows } = meter(packets);
    assertEquals(rows.length, 1, state);
    assertEquals([rows[0].record.connState, rows[0].record.endReason], [state, reason]);
  }
  ok(CONN_STATES.includes("SF"));
});

Deno.test("flow table: a SYN reusing the ports of a closed connection starts a new flow", () => {
  const { rows } = meter([...handshakeAndClose(0), ...handshakeAndClose(100_000)]);
  assertEquals(rows.map((r) => [r.record.connState, r.record.fwdPackets + r.record.bwdPackets]), [[
    "SF",
    8,
  ], [
    "SF",
    8,
  ]]);
});

Deno.test("flow table: capacity bound evicts the least recently seen flows and counts them", () => {
  const packets: TestPacket[] = [];
  for (let k = 0; k < 25; k++) packets.push({ ts: k, data: tcp4(1, 2, 10000 + k, 80, SYN) });
  packets.push({ ts: 100, data: tcp4(1, 2, 10024, 80, ACK) }); // still in the table
  const { rows, counters } = meter(packets, { maxFlows: 10 });
  assertEquals(counters.flowsEndedByReason.evicted, 15);
  assertEquals(rows.length, 25);
  assertEquals(
    rows.filter((r) => r.record.endReason === "evicted").map((r) => r.record.srcPort),
    [
      ...Array(15).keys(),
    ].map((k) => 10000 + k),
  );
  assertEquals(counters.decode.packets, 26);
  assertEquals(rows.reduce((n, r) => n + r.record.fwdPackets + r.record.bwdPackets, 0), 26);
});

Deno.test("flow table: active/idle periods and forward bulk follow CICFlowMeter", () => {
  const times = [0, 1, 2, 10, 11].map((s) => s * S);
  const packets = times.map((ts) => ({ ts, data: tcp4(1, 2, 7, 8, ACK | PSH, 100) }));
  const { rows } = meter(packets);
  const { f } = rows[0];
  assertEquals([f("Active Mean"), f("Active Max"), f("Idle Mean"), f("Idle Min")], [
    2 * S,
    2 * S,
    8 * S,
    8 * S,
  ]);
  // Bulk: 0,1,2 s are each <= 1 s apart but only 3 packets; 10, 11 s restart. No bulk of 4.
  assertEquals(f("Fwd Avg Bytes/Bulk"), 0);
  const burst = [0, 1, 2, 3, 4].map((k) => ({ ts: k * 1000, data: tcp4(1, 2, 7, 8, ACK, 50) }));
  const b = meter(burst).rows[0].f;
  assertEquals([b("Fwd Avg Bytes/Bulk"), b("Fwd Avg Packets/Bulk"), b("Fwd Avg Bulk Rate")], [
    250,
    5,
    62500,
  ]);
});

Deno.test("flow table: the schema names CIC-IDS2017's columns in order", () => {
  assertEquals(FEATURE_SET.columns.length, 77);
  assertEquals(FEATURE_SET.columns[0].name, "Flow Duration");
  assertEquals(FEATURE_SET.columns[76].name, "Idle Min");
  // CIC-IDS2017 MachineLearningCSV has Destination Port first, so its index there is 66.
  assertEquals(FEATURE_INDEX["Init_Win_bytes_forward"], 65);
});

Deno.test("flow table: memory per flow is bounded and measured", () => {
  const m = new FlowMeter({ maxFlows: 4096 });
  const perFlow = m.bytesPerFlow();
  console.log(`flow table: ${perFlow.toFixed(1)} bytes per flow slot`);
  ok(perFlow > 100 && perFlow < 450, `bytes per flow ${perFlow}`);
});

Deno.test("flow table: grows past its first allocation and still finds every flow both ways", () => {
  const packets: TestPacket[] = [];
  const n = 10_000;
  for (let k = 0; k < n; k++) packets.push({ ts: k, data: tcp4(1, 2, 1024 + k, 80, SYN) });
  for (let k = 0; k < n; k++) {
    packets.push({ ts: n + k, data: tcp4(2, 1, 80, 1024 + k, SYN | ACK) });
  }
  const m = new FlowMeter();
  m.push(batchOf(packets));
  m.flush();
  const batches = m.drain();
  assertEquals(batches.reduce((sum, b) => sum + b.count, 0), n);
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) assertEquals([b.fwdPackets[i], b.bwdPackets[i]], [1, 1]);
  }
});

Deno.test("flow table: a flow's first packet's TTL is kept (firstTtl), TCP's beside its initial window", () => {
  const frame = (ttl: number, protocol: number, l4: Uint8Array, forward = true) =>
    ethernet(
      0x0800,
      ipv4({
        src: forward ? [10, 0, 0, 1] : [10, 0, 0, 2],
        dst: forward ? [10, 0, 0, 2] : [10, 0, 0, 1],
        protocol,
        ttl,
      }, l4),
    );
  const m = new FlowMeter();
  m.push(batchOf([
    { ts: 1e15, data: frame(3, 6, tcp({ sport: 40000, dport: 80, flags: SYN, window: 64240 })) },
    {
      ts: 1e15 + 10,
      data: frame(64, 6, tcp({ sport: 80, dport: 40000, flags: SYN | ACK, window: 65535 }), false),
    },
    { ts: 1e15 + 20, data: frame(1, 17, udp(40001, 33434, 32)) },
    { ts: 1e15 + 30, data: frame(255, 17, udp(40001, 33434, 32)) },
  ]));
  m.flush();
  const seen: string[] = [];
  for (const b of m.drain()) {
    for (let i = 0; i < b.count; i++) {
      const f = (name: string) => b.features[i * b.width + FEATURE_INDEX[name]];
      seen.push(
        `${b.protocol[i]} ttl ${b.firstTtl[i]} win ${f("Init_Win_bytes_forward")}/${
          f("Init_Win_bytes_backward")
        }`,
      );
    }
  }
  assertEquals(seen.sort(), ["17 ttl 1 win -1/-1", "6 ttl 3 win 64240/65535"]);
});
