import assert from "node:assert/strict";
import { AlertAggregator, type EmittedAlert } from "./aggregator.ts";
import { type FlowEvidence, nameAlert, nameFromEvidence } from "./naming.ts";
import { type Alert, AlertSchema } from "./schema.ts";
import { type FlowBatch, flowRecordAt } from "../features/mod.ts";
import {
  type Decisions,
  type ModelScores,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../inference/mod.ts";
import { addFlow, emptyBatch, type TestFlow } from "../../tests/support/flow_batches.ts";

const COLUMNS = [
  "Flow Duration",
  "Total Length of Fwd Packets",
  "Total Length of Bwd Packets",
  "SYN Flag Count",
];
const FWD_BYTES = 1, BWD_BYTES = 2, SYN_FLAGS = 3;
/** Bundles with CIC's flag counts also have this column (the stealth-scan evidence reads it). */
const WITH_ACK = [...COLUMNS, "ACK Flag Count"], ACK_FLAGS = 4;
const CLASSES = ["BENIGN", "probe", "r2l", "DoS Hulk", "Web Attack \u2013 Sql Injection"];
const T0 = Date.UTC(2026, 0, 2, 3, 4, 0) * 1000; // a window boundary (60 s multiple)
const S = 1e6;
const RULE = { minFlows: 3, strongThreshold: 2 };

function aggregator(extra: Partial<ConstructorParameters<typeof AlertAggregator>[0]> = {}) {
  return new AlertAggregator({
    featureNames: COLUMNS,
    classNames: CLASSES,
    modelNames: { classifier: "forest", anomaly: "autoencoder" },
    describeFlow: flowRecordAt,
    unknownRule: RULE,
    ...extra,
  });
}

/** A batch of flows with one verdict/class for all of them. */
function scored(
  flows: TestFlow[],
  verdict: number,
  classIndex: number,
  score = 0.9,
  width = COLUMNS.length,
) {
  const batch: FlowBatch = emptyBatch(flows.length, width);
  for (const f of flows) addFlow(batch, f);
  const n = batch.count;
  const decisions: Decisions = {
    rows: n,
    verdict: new Uint8Array(n).fill(verdict),
    classIndex: new Int16Array(n).fill(verdict === VERDICT_KNOWN ? classIndex : -1),
    score: new Float32Array(n).fill(score),
    threshold: new Float32Array(n).fill(0.5),
    nearestClass: new Int16Array(n).fill(-1),
  };
  const scores: ModelScores = { rows: n, outputs: [] };
  return { batch, decisions, scores };
}

function run(agg: AlertAggregator, s: ReturnType<typeof scored>): EmittedAlert[] {
  return agg.add(s.batch, s.decisions, s.scores);
}

/** Every emitted alert passes the EVE schema. */
function valid(emitted: EmittedAlert[]): Alert[] {
  return emitted.map((e) => {
    const parsed = AlertSchema.safeParse(JSON.parse(JSON.stringify(e.alert)));
    assert(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues));
    return e.alert;
  });
}

function only(emitted: EmittedAlert[]): Alert {
  assert.equal(emitted.length, 1, `expected one alert, got ${emitted.length}`);
  return valid(emitted)[0];
}

const range = (n: number) => Array.from({ length: n }, (_, k) => k);

/** SYN probes from `src` to `ports` ports of `dst`, 10 ms apart, half refused. */
function synProbes(src: string, dst: string, ports: number, t = T0): TestFlow[] {
  return range(ports).map((k): TestFlow => ({
    src,
    dst,
    srcPort: 55555,
    dstPort: 1 + k,
    startMicros: t + k * 10_000,
    endMicros: t + k * 10_000 + 300,
    state: k % 2 ? "REJ" : "S0",
    fwdPackets: 1,
    bwdPackets: k % 2,
  }));
}

Deno.test("SCTP: INITs to 40 ports answered by ABORT or nothing are an SCTP scan; associations are not probes", () => {
  const sctp = (k: number, fwd: number, bwd: number): TestFlow => ({
    ...synProbes("10.9.0.1", "10.9.0.2", 40)[k],
    protocol: 132,
    state: "OTH",
    fwdPackets: fwd,
    bwdPackets: bwd,
  });
  const scan = valid([
    ...run(aggregator(), scored(range(40).map((k) => sctp(k, 1, k % 2)), VERDICT_BENIGN, 0)),
  ]);
  assert.deepEqual(scan.map((a) => [a.alert.name, a.alert.class, a.proto, a.alert.score]), [
    ["SCTP scan", "sctp-scan", "SCTP", 40],
  ]);
  // 40 associations carrying data (a signalling gateway's links): no probe, no scan.
  const links = aggregator();
  assert.deepEqual(
    run(links, scored(range(40).map((k) => sctp(k, 12, 10)), VERDICT_BENIGN, 0)),
    [],
  );
  assert.deepEqual(links.flush(), []);
});

Deno.test("ICMP sweep: timestamp requests (nmap -PP) to 30 hosts are a sweep, as echo requests are; replies are not", () => {
  const requests = (type: number, src = "10.10.0.1") =>
    range(30).map((k): TestFlow => ({
      src,
      dst: `10.99.0.${k + 1}`,
      srcPort: type,
      dstPort: 0,
      protocol: 1,
      startMicros: T0 + k * 10_000,
      endMicros: T0 + k * 10_000,
      state: "S0",
      fwdPackets: 1,
      bwdPackets: 0,
    }));
  for (const type of [8, 13, 17]) {
    const lines = valid([...run(aggregator(), scored(requests(type), VERDICT_BENIGN, 0))]);
    assert.deepEqual(
      lines.map((a) => [a.alert.name, a.src_ip]),
      [["ICMP sweep", "10.10.0.1"]],
      `type ${type}`,
    );
  }
  // Timestamp replies (14) from 30 hosts to one are answers, not probes.
  const replies = aggregator();
  assert.deepEqual(run(replies, scored(requests(14), VERDICT_BENIGN, 0)), []);
  assert.deepEqual(replies.flush(), []);
});

/** `n` flows from one ordinary client to a web server, each with `score`. */
function pairFlows(src: string, n: number, spacing = 1000): TestFlow[] {
  return range(n).map((k): TestFlow => ({
    src,
    dst: "10.0.0.9",
    srcPort: 40000 + k,
    dstPort: 443,
    startMicros: T0 + k * spacing,
    endMicros: T0 + k * spacing + 500,
    fwdPackets: 3,
    bwdPackets: 2,
    features: { [FWD_BYTES]: 300, [BWD_BYTES]: 900 },
  }));
}

Deno.test("scan: one source probing 100 ports is one TCP SYN scan, first line at once, closing line with the totals", () => {
  const agg = aggregator();
  const flows = synProbes("192.0.2.5", "192.0.2.80", 100);
  // The model calls every flow benign: the behaviour stands on the host evidence alone.
  const first = only(run(agg, scored(flows.slice(0, 50), VERDICT_BENIGN, 0)));
  assert.equal(first.alert.name, "TCP SYN scan");
  assert.equal(first.alert.class, "tcp-syn-scan");
  assert.equal(first.alert.verdict, "known");
  assert.equal(first.alert.stage, "first");
  assert.equal(first.src_ip, "192.0.2.5");
  // Counts as of the end of the batch that completed the evidence.
  assert.equal(first.alert.distinct_dest_ports, 50);
  assert.deepEqual(run(agg, scored(flows.slice(50), VERDICT_BENIGN, 0)), []);
  const last = only(agg.flush());
  assert.equal(last.alert.stage, "final");
  assert.equal(last.alert.distinct_dest_ports, 100);
  assert.equal(last.alert.count, 100);
  assert.equal(last.alert.evidence?.half_open, 50);
  assert.equal(last.alert.evidence?.rejected, 50);
});

Deno.test("scan: fan-out below the limit (10 ports) and answered connections are no scan", () => {
  const agg = aggregator();
  assert.deepEqual(
    run(agg, scored(synProbes("192.0.2.5", "192.0.2.80", 10), VERDICT_BENIGN, 0)),
    [],
  );
  // 40 completed connections to 40 ports carry payload: not probes.
  const served = range(40).map((k): TestFlow => ({
    src: "192.0.2.6",
    dst: "192.0.2.80",
    srcPort: 40000 + k,
    dstPort: 1000 + k,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000 + 900,
    fwdPackets: 5,
    bwdPackets: 5,
    features: { [FWD_BYTES]: 200, [BWD_BYTES]: 2000 },
  }));
  assert.deepEqual(run(agg, scored(served, VERDICT_BENIGN, 0)), []);
  assert.deepEqual(agg.flush(), []);
});

Deno.test("sweep: one source probing port 445 on 30 hosts is a TCP SYN sweep with the target count", () => {
  const agg = aggregator();
  const flows = range(30).map((k): TestFlow => ({
    src: "192.0.2.7",
    dst: `10.1.0.${k + 1}`,
    srcPort: 50000,
    dstPort: 445,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000 + 100,
    state: "S0",
    fwdPackets: 1,
    bwdPackets: 0,
  }));
  const a = only(run(agg, scored(flows, VERDICT_BENIGN, 0)));
  assert.equal(a.alert.name, "TCP SYN sweep");
  assert.equal(a.alert.targets, 30);
  assert.deepEqual(agg.flush(), [], "no closing line when nothing changed since the first");
});

Deno.test("flood: 40,000 SYNs from spoofed sources are one alert keyed by the target with the source count, in bounded tables", () => {
  const agg = aggregator({ evidence: { sources: 1024, pairs: 1024, services: 1024, votes: 1024 } });
  const before = agg.volume.evidenceBytes;
  const lines: EmittedAlert[] = [];
  for (let b = 0; b < 40; b++) {
    const flows = range(1000).map((k): TestFlow => {
      const n = b * 1000 + k;
      return {
        src: `${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}.9`,
        dst: "10.9.9.9",
        srcPort: 1024 + (n % 60000),
        dstPort: 80,
        startMicros: T0 + n * 100,
        endMicros: T0 + n * 100,
        state: "S0",
        fwdPackets: 1,
        bwdPackets: 0,
      };
    });
    // The model flags every spoofed flow: the votes fold into the flood.
    lines.push(...run(agg, scored(flows, VERDICT_KNOWN, 1)));
  }
  lines.push(...agg.flush());
  const alerts = valid(lines);
  assert.deepEqual(alerts.map((a) => `${a.alert.name} -> ${a.dest_ip} ${a.alert.stage}`), [
    "TCP SYN flood -> 10.9.9.9 first",
    "TCP SYN flood -> 10.9.9.9 final",
  ]);
  const final = alerts[1].alert;
  assert.equal(final.count, 40_000);
  assert(Math.abs(final.sources! - 40_000) < 40_000 * 0.3, `sources ${final.sources}`);
  const v = agg.volume;
  assert.equal(v.evidenceBytes, before, "the tables never grow");
  assert(v.evidenceEvictions > 30_000, `evictions counted: ${v.evidenceEvictions}`);
  // Every flagged spoofed flow is accounted for: folded into the flood, none a weak group.
  assert.equal(agg.suppressedUnknowns.groups, 0);
  assert.equal(v.foldedFlows, 40_000);
});

Deno.test("TCP floods without SYN: spoofed ACK, RST and FIN segments at one port are named by their flag; stray ACKs of a busy server are not a flood", () => {
  const columns = [...WITH_ACK, "RST Flag Count", "FIN Flag Count"];
  const RST_FLAGS = 5, FIN_FLAGS = 6;
  const flood = (port: number, flags: Record<number, number>, count: number, spacing: number) =>
    range(count).map((n): TestFlow => ({
      src: `${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}.7`,
      dst: "10.9.9.9",
      srcPort: 1024 + n,
      dstPort: port,
      startMicros: T0 + n * spacing,
      endMicros: T0 + n * spacing,
      state: "OTH",
      fwdPackets: 1,
      bwdPackets: 0,
      features: { [SYN_FLAGS]: 0, ...flags },
    }));
  const agg = aggregator({ featureNames: columns });
  const lines = [
    ...run(
      agg,
      scored(flood(80, { [ACK_FLAGS]: 1 }, 1500, 500), VERDICT_KNOWN, 1, 0.9, columns.length),
    ),
    ...run(
      agg,
      scored(
        flood(443, { [ACK_FLAGS]: 1, [RST_FLAGS]: 1 }, 1500, 500),
        VERDICT_KNOWN,
        1,
        0.9,
        columns.length,
      ),
    ),
    ...run(
      agg,
      scored(flood(22, { [FIN_FLAGS]: 1 }, 1500, 500), VERDICT_KNOWN, 1, 0.9, columns.length),
    ),
    ...agg.flush(),
  ];
  const firsts = valid(lines).filter((a) => a.alert.stage === "first");
  assert.deepEqual(
    firsts.map((a) => `${a.alert.name} ${a.alert.class} -> ${a.dest_ip}:${a.dest_port}`),
    [
      "TCP ACK flood tcp-ack-flood -> 10.9.9.9:80",
      "TCP RST flood tcp-rst-flood -> 10.9.9.9:443",
      "TCP FIN flood tcp-fin-flood -> 10.9.9.9:22",
    ],
  );
  assert.equal(agg.suppressedUnknowns.groups, 0, "the flagged segments fold into their floods");
  // 1,500 stray ACKs over a minute (25 a second) to a busy server: below the flood rate.
  const calm = aggregator({ featureNames: columns });
  const stray = run(
    calm,
    scored(flood(443, { [ACK_FLAGS]: 1 }, 1500, 40_000), VERDICT_BENIGN, 0, 0.9, columns.length),
  );
  assert.deepEqual(valid([...stray, ...calm.flush()]), []);
});

Deno.test("floods spread over ports from spoofed sources are the host's SYN or UDP flood; one scanner's 1,000 ports stay a scan", () => {
  const spread = (protocol: number, count: number) =>
    range(count).map((n): TestFlow => ({
      src: `${1 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}.5`,
      dst: "10.9.9.8",
      srcPort: 1024 + n,
      dstPort: 1 + (n % 3000),
      protocol,
      startMicros: T0 + n * 300,
      endMicros: T0 + n * 300,
      state: protocol === 6 ? "S0" : "OTH",
      fwdPackets: 1,
      bwdPackets: 0,
      features: { [SYN_FLAGS]: protocol === 6 ? 1 : 0 },
    }));
  const agg = aggregator();
  const lines = [
    ...run(agg, scored(spread(6, 3000), VERDICT_KNOWN, 1)),
    ...run(agg, scored(spread(17, 3000), VERDICT_KNOWN, 1)),
    ...agg.flush(),
  ];
  const firsts = valid(lines).filter((a) => a.alert.stage === "first");
  assert.deepEqual(firsts.map((a) => `${a.alert.name} -> ${a.dest_ip}`), [
    "TCP SYN flood -> 10.9.9.8",
    "UDP flood -> 10.9.9.8",
  ]);
  assert.ok(firsts.every((a) => a.alert.distinct_dest_ports > 100), "the lines say the ports");
  // One source probing 1,000 ports as fast: a scan, never a flood.
  const scanner = aggregator();
  const probes = spread(6, 1000).map((f) => ({ ...f, src: "10.9.9.66", srcPort: 40000 }));
  const scan = valid([...run(scanner, scored(probes, VERDICT_KNOWN, 1)), ...scanner.flush()]);
  assert.deepEqual([...new Set(scan.map((a) => a.alert.name))], ["TCP SYN scan"]);
});

/** One-segment flows from `src` to `ports` ports of `dst`, each answered once; `acks` ACK flags in all. */
function loneSegments(
  src: string,
  srcPort: number,
  dst: string,
  ports: number[],
  spacing: number,
  acks: number,
): TestFlow[] {
  return ports.map((dstPort, k): TestFlow => ({
    src,
    dst,
    srcPort,
    dstPort,
    startMicros: T0 + k * spacing,
    endMicros: T0 + k * spacing + 200,
    state: "OTH",
    fwdPackets: 1,
    bwdPackets: 1,
    features: { [SYN_FLAGS]: 0, [ACK_FLAGS]: acks },
  }));
}

Deno.test("stealth scan: Xmas probes answered by RSTs are one TCP stealth scan; a server's late FIN/ACKs to 30 ports are not", () => {
  const agg = aggregator({ featureNames: WITH_ACK });
  // The scanner's segments carry no ACK; only the RST+ACK answers do.
  const xmas = loneSegments(
    "10.6.0.66",
    60965,
    "10.6.0.10",
    range(100).map((k) => 1 + k),
    10_000,
    1,
  );
  const alert = only(run(agg, scored(xmas, VERDICT_BENIGN, 0, 0.9, WITH_ACK.length)));
  assert.equal(alert.alert.name, "TCP stealth scan (no SYN: FIN, NULL, Xmas, ACK or Maimon)");
  assert.equal(alert.alert.class, "tcp-stealth-scan");
  assert.equal(alert.src_ip, "10.6.0.66");
  // Connections whose start the meter no longer holds: the server's FIN/ACK, the client's ACK.
  const late = aggregator({ featureNames: WITH_ACK });
  const fins = loneSegments("10.6.0.9", 443, "10.6.0.21", range(30).map((k) => 40000 + k), 1000, 2);
  const lateAlerts = run(late, scored(fins, VERDICT_BENIGN, 0, 0.9, WITH_ACK.length));
  assert.deepEqual(valid([...lateAlerts, ...late.flush()]), []);
});

Deno.test("ICMP flood of one flow (one echo id) is counted on its later rows, not only its first", () => {
  const agg = aggregator();
  const row = (seq: number, seconds: number, packets: number, interim: boolean): TestFlow => ({
    src: "10.7.0.66",
    dst: "10.7.0.10",
    srcPort: 8,
    dstPort: 0,
    protocol: 1,
    startMicros: T0,
    endMicros: T0 + seconds * S,
    fwdPackets: packets,
    bwdPackets: packets,
    interim,
    exportSeq: seq,
  });
  // 700 echo requests a second: the first row (at 1 s) alone is below the flood's 1,000 packets.
  assert.deepEqual(run(agg, scored([row(0, 1, 700, true)], VERDICT_BENIGN, 0)), []);
  const alert = only(run(agg, scored([row(1, 3, 2100, true)], VERDICT_BENIGN, 0)));
  assert.equal(alert.alert.name, "ICMP flood");
  assert.equal(alert.dest_ip, "10.7.0.10");
  // Later rows add only what came since: the closing line counts every request once.
  const third = run(agg, scored([row(2, 7, 4900, false)], VERDICT_BENIGN, 0));
  const flushed = agg.flush();
  const closing = valid([...third, ...flushed]).find((a) => a.alert.name === "ICMP flood");
  assert(closing, `a closing line: ${JSON.stringify([third.length, flushed.length])}`);
  assert.equal(closing.alert.packets, 4900, "every echo request of the flow, once");
});

Deno.test("one-way UDP: a syslog forwarder's lines of many lengths at 400 a second are no flood; one datagram repeated is", () => {
  const columns = [...COLUMNS, "Fwd Packet Length Max", "Fwd Packet Length Min"];
  const MAX = COLUMNS.length, MIN = COLUMNS.length + 1;
  const row = (dstPort: number, seconds: number, packets: number, max: number, min: number) => ({
    src: "10.7.0.20",
    dst: "10.7.0.10",
    srcPort: 40000,
    dstPort,
    protocol: 17,
    startMicros: T0,
    endMicros: T0 + seconds * S,
    state: "S0" as const,
    fwdPackets: packets,
    bwdPackets: 0,
    features: { [MAX]: max, [MIN]: min },
  });
  const names = (flows: TestFlow[]) => {
    const agg = aggregator({ featureNames: columns });
    const emitted = [
      ...run(agg, scored(flows, VERDICT_BENIGN, 0, 0.9, columns.length)),
      ...agg.flush(),
    ];
    return [...new Set(valid(emitted).map((a) => `${a.alert.name} -> ${a.dest_port}`))];
  };
  // 6,000 lines in 15 s, 60 to 140 bytes: telemetry.
  assert.deepEqual(names([row(514, 15, 6000, 140, 60)]), []);
  // The same count of one 120-byte datagram (hping3 -d 120) at the same port: a flood.
  assert.deepEqual(names([row(514, 15, 6000, 120, 120)]), ["UDP flood -> 514"]);
  // Varied sizes at ten times the rate and count are a flood too (a flood of random lengths).
  assert.deepEqual(names([row(9999, 15, 60000, 1400, 20)]), ["UDP flood -> 9999"]);
  // One-packet flows of one size from changing source ports: uniform across flows, a flood.
  const spread = range(2000).map((k) => ({ ...row(53, 0, 1, 64, 64), srcPort: 1024 + k }))
    .map((f, k) => ({ ...f, startMicros: T0 + k * 2000, endMicros: T0 + k * 2000 }));
  assert.deepEqual(names(spread), ["UDP flood -> 53"]);
  // ... and of many sizes (SNMP traps from ephemeral ports) at the same rate: no flood.
  const traps = spread.map((f, k) => ({
    ...f,
    features: { [MAX]: 40 + k % 90, [MIN]: 40 + k % 90 },
  }));
  assert.deepEqual(names(traps), []);
});

Deno.test("reflection and amplification are keyed by the victim", () => {
  const agg = aggregator();
  const synAcks = range(500).map((k): TestFlow => ({
    src: `198.51.100.${k % 250}`,
    dst: "10.7.7.7",
    srcPort: 80,
    dstPort: 1024 + k,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000,
    state: "OTH",
    fwdPackets: 1,
    bwdPackets: 0,
    features: { [SYN_FLAGS]: 1 },
  }));
  const snmp = range(500).map((k): TestFlow => ({
    src: `203.0.113.${k % 200}`,
    dst: "10.8.8.8",
    srcPort: 161,
    dstPort: 2000 + k,
    protocol: 17,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000,
    fwdPackets: 1,
    bwdPackets: 0,
    features: { [FWD_BYTES]: 1400 },
  }));
  const a = valid(run(agg, scored([...synAcks, ...snmp], VERDICT_BENIGN, 0)));
  assert.deepEqual(a.map((x) => `${x.alert.name} -> ${x.dest_ip}`).sort(), [
    "TCP SYN-ACK reflection -> 10.7.7.7",
    "UDP amplification (SNMP) -> 10.8.8.8",
  ]);
});

Deno.test("ICMP port-unreachable replies belong to the UDP scan they answer, never to the victim", () => {
  const agg = aggregator();
  const probes = range(30).map((k): TestFlow => ({
    src: "10.66.0.66",
    dst: "10.66.0.10",
    srcPort: 34011,
    dstPort: 100 + k,
    protocol: 17,
    startMicros: T0 + k * 1000,
    endMicros: T0 + k * 1000,
    fwdPackets: 1,
    bwdPackets: 0,
  }));
  const replies = range(30).map((k): TestFlow => ({
    src: "10.66.0.10",
    dst: "10.66.0.66",
    srcPort: 3, // ICMP type: destination unreachable
    dstPort: 3, // code: port unreachable
    protocol: 1,
    startMicros: T0 + k * 1000 + 100,
    endMicros: T0 + k * 1000 + 100,
    fwdPackets: 1,
    bwdPackets: 0,
  }));
  // The model claims the victim's replies as attack flows: they still are not the victim's alert.
  run(agg, scored(replies, VERDICT_KNOWN, 1));
  const lines = valid([...run(agg, scored(probes, VERDICT_BENIGN, 0)), ...agg.flush()]);
  assert(lines.length >= 1);
  for (const a of lines) {
    assert.equal(a.src_ip, "10.66.0.66");
    assert.equal(a.alert.name, "UDP scan");
  }
  assert.equal(lines.at(-1)!.alert.evidence?.error_replies, 30);
  assert.equal(agg.volume.errorReplies, 30);
});

/** 25 requests from 10.4.0.1 trickling into 10.4.0.2:80 for 30 s, never answered (slowloris). */
function slowlorisFlows(): TestFlow[] {
  return range(25).map((k): TestFlow => ({
    src: "10.4.0.1",
    dst: "10.4.0.2",
    srcPort: 41000 + k,
    dstPort: 80,
    startMicros: T0 + k * 1000,
    endMicros: T0 + 30 * S,
    fwdPackets: 12,
    bwdPackets: 6,
    features: { [FWD_BYTES]: 400, [BWD_BYTES]: 0 },
  }));
}

Deno.test("brute force: 25 completed SSH logins from one source; slow DoS: 25 unanswered trickling requests", () => {
  const agg = aggregator();
  const ssh = range(25).map((k): TestFlow => ({
    src: "10.3.0.1",
    dst: "10.3.0.2",
    srcPort: 40000 + k,
    dstPort: 22,
    startMicros: T0 + k * 2 * S,
    endMicros: T0 + k * 2 * S + S,
    fwdPackets: 12,
    bwdPackets: 10,
    features: { [FWD_BYTES]: 900, [BWD_BYTES]: 1500 },
  }));
  const slow = slowlorisFlows();
  const names = valid([...run(agg, scored([...ssh, ...slow], VERDICT_BENIGN, 0))])
    .map((a) => a.alert.name).sort();
  assert.deepEqual(names, ["SSH brute force", "slow HTTP DoS (slowloris)"]);
});

Deno.test("slow read: 25 connections whose tiny window lets the answer crawl out are a slow read DoS; a slow phone's downloads are not", () => {
  const columns = [...COLUMNS, "Init_Win_bytes_forward"];
  const INIT_WIN_FWD = 4;
  const connections = (src: string, count: number, window: number, bwdBytes: number) =>
    range(count).map((k): TestFlow => ({
      src,
      dst: "10.4.0.2",
      srcPort: 42000 + k,
      dstPort: 80,
      startMicros: T0 + k * 20_000,
      endMicros: T0 + 20 * S,
      fwdPackets: 12,
      bwdPackets: 3,
      features: { [FWD_BYTES]: 120, [BWD_BYTES]: bwdBytes, [INIT_WIN_FWD]: window },
    }));
  const agg = aggregator({ featureNames: columns });
  const reads = valid(
    run(
      agg,
      scored(connections("10.4.0.9", 25, 1152, 1152), VERDICT_BENIGN, 0, 0.9, columns.length),
    ),
  );
  assert.deepEqual(reads.map((a) => `${a.alert.name} ${a.src_ip}`), [
    "slow HTTP DoS (slow read) 10.4.0.9",
  ]);
  // The same crawl with a phone's 65,535-byte window: a slow link, not an attack.
  const phone = aggregator({ featureNames: columns });
  const slowLink = run(
    phone,
    scored(connections("10.4.0.10", 25, 65535, 12_000), VERDICT_BENIGN, 0, 0.9, columns.length),
  );
  assert.deepEqual(valid([...slowLink, ...phone.flush()]), []);
});

/** `n` connections from one client to 10.4.0.2:443 that the server reset without a byte of answer. */
function resetClientFlows(n: number, t: number): TestFlow[] {
  return range(n).map((k): TestFlow => ({
    src: "10.4.0.7",
    dst: "10.4.0.2",
    srcPort: 50000 + k,
    dstPort: 443,
    startMicros: t + k * 200_000,
    endMicros: t + k * 200_000 + 5000,
    state: "RSTR",
    fwdPackets: 4,
    bwdPackets: 2,
    features: { [FWD_BYTES]: 500, [BWD_BYTES]: 0 },
  }));
}

Deno.test("slow DoS: other clients' failed connections to the victim are its effect, folded into its alert and counted", () => {
  const slow = slowlorisFlows();
  const during = aggregator();
  const first = valid(run(during, scored(slow, VERDICT_BENIGN, 0)));
  assert.deepEqual(first.map((a) => a.alert.name), ["slow HTTP DoS (slowloris)"]);
  run(during, scored(resetClientFlows(6, T0 + 31 * S), VERDICT_UNKNOWN, -1, 5));
  const later = valid([...during.advance(T0 + 40 * S), ...during.flush()]);
  assert.deepEqual(later.filter((a) => a.src_ip !== "10.4.0.1"), [], "no alert but the DoS's");
  assert.equal(during.volume.foldedFlows, 6);
  // The same client flows with no DoS on the server are alerted (the rule above still holds).
  const alone = aggregator();
  run(alone, scored(resetClientFlows(6, T0 + 31 * S), VERDICT_UNKNOWN, -1, 5));
  const alert = only([...alone.advance(T0 + 40 * S), ...alone.flush()]);
  assert.equal(alert.alert.name, "unknown TCP anomaly");
  assert.equal(alert.src_ip, "10.4.0.7");
});

/**
 * `n` connections from one source to one web service, seen live: rows of
 * the same connections at `ages` seconds (interim, then a final row),
 * `shape` giving each row's client bytes, server bytes and last-packet age.
 */
function liveRows(
  src: string,
  dstPort: number,
  n: number,
  ages: number[],
  shape: (age: number) => { fwd: number; bwd: number; lastAge: number },
): TestFlow[][] {
  return ages.map((age, seq) =>
    range(n).map((k): TestFlow => {
      const start = T0 + k * 20_000;
      const { fwd, bwd, lastAge } = shape(age);
      return {
        src,
        dst: "10.4.0.2",
        srcPort: 43000 + k,
        dstPort,
        startMicros: start,
        endMicros: start + lastAge * S,
        fwdPackets: 3 + seq,
        bwdPackets: 2 + seq,
        features: { [FWD_BYTES]: fwd, [BWD_BYTES]: bwd },
        interim: seq < ages.length - 1,
        exportSeq: seq,
      };
    })
  );
}

Deno.test("slow DoS live: held-open connections are counted slow on the later row where their trickle shows, once each", () => {
  const agg = aggregator();
  // Slowloris: a partial request at once, a header every 5 s, never an answer.
  const rows = liveRows("10.4.0.1", 80, 25, [1, 5.25, 10.25, 12], (age) => ({
    fwd: 180 + 24 * Math.floor(age / 5),
    bwd: 0,
    lastAge: age < 5 ? 0.01 : 5 * Math.floor(age / 5),
  }));
  const lines = rows.map((batch) =>
    valid([...run(agg, scored(batch, VERDICT_BENIGN, 0))]).map((a) => a.alert)
  );
  // The first rows (1 s) show nothing slow yet; the first trickle (5 s) names it.
  assert.deepEqual(lines[0], []);
  assert.deepEqual(lines[1].map((a) => [a.name, a.stage, a.count]), [
    ["slow HTTP DoS (slowloris)", "first", 25],
  ]);
  assert.deepEqual([...lines[2], ...lines[3]], []);
  // Later rows and the final rows count no connection twice.
  const final = valid(agg.flush()).map((a) => [a.alert.name, a.alert.count]);
  assert.ok(final.every(([, count]) => count === 25), JSON.stringify(final));
});

Deno.test("slow DoS live: keep-alive, long-poll and one zero-window stall are not slowloris", () => {
  const agg = aggregator();
  const ages = [1, 3, 7, 15, 31, 40];
  // Keep-alive HTTP: a request now and then, each answered.
  const keepAlive = liveRows("10.5.0.1", 80, 25, ages, (age) => ({
    fwd: 300 * Math.ceil(age / 10),
    bwd: 4000 * Math.ceil(age / 10),
    lastAge: age - 0.5,
  }));
  // Long-poll: one request, no answer until an event at 40 s, nothing sent meanwhile.
  const longPoll = liveRows("10.5.0.2", 443, 25, [1, 40], (age) => ({
    fwd: 500,
    bwd: age < 40 ? 0 : 900,
    lastAge: age < 40 ? 0.05 : 40,
  }));
  // A zero-window stall: window probes trickle, nothing comes back; one connection.
  const stall = liveRows("10.5.0.3", 80, 1, ages, (age) => ({
    fwd: 100 + Math.floor(age),
    bwd: 0,
    lastAge: age - 0.2,
  }));
  const names: string[] = [];
  for (const batch of [...keepAlive, ...longPoll, ...stall]) {
    names.push(...valid(run(agg, scored(batch, VERDICT_BENIGN, 0))).map((a) => a.alert.name));
  }
  names.push(...valid(agg.flush()).map((a) => a.alert.name));
  assert.deepEqual(names, []);
});

Deno.test("slow DoS: headers trickling slower than the server's timeout, answered 408 on every connection, are slowloris; long-polls answered 200 are not", () => {
  // Apache (mod_reqtimeout) answers "408 Request Timeout" 20 s after a partial request that
  // got no more bytes (slowhttptest -H -i 60); a long-poll is answered 200 as late.
  const answered = (src: string, timedOut: boolean) =>
    liveRows(src, 8080, 25, [1, 20.5], (age) => ({
      fwd: 190,
      bwd: age < 20 ? 0 : 447,
      lastAge: age < 20 ? 0.01 : 20.4,
    })).map((batch, seq) =>
      batch.map((f): TestFlow => ({ ...f, loginsFailed: timedOut && seq === 1 ? 1 : 0 }))
    );
  const agg = aggregator();
  const names: string[] = [];
  for (const batch of [...answered("10.4.0.1", true), ...answered("10.5.0.2", false)]) {
    names.push(
      ...valid(run(agg, scored(batch, VERDICT_BENIGN, 0))).map((a) =>
        `${a.alert.name} ${a.src_ip}`
      ),
    );
  }
  names.push(...valid(agg.flush()).map((a) => `${a.alert.name} ${a.src_ip}`));
  assert.deepEqual([...new Set(names)], ["slow HTTP DoS (slowloris) 10.4.0.1"]);
});

Deno.test("web brute force right after a flood from the same source to the same service alerts in that window", () => {
  const classes = [...CLASSES, "http-brute-force"];
  const brute = classes.length - 1;
  const agg = aggregator({ classNames: classes });
  // A SYN flood from the attacker's own address to the web server: 3,000 unanswered attempts.
  const flood = range(3000).map((k): TestFlow => ({
    src: "10.5.0.66",
    dst: "10.5.0.10",
    srcPort: 1024 + k,
    dstPort: 80,
    startMicros: T0 + k * 2000,
    endMicros: T0 + k * 2000 + 100,
    state: "S0",
    fwdPackets: 1,
    bwdPackets: 0,
  }));
  run(agg, scored(flood, VERDICT_KNOWN, 3));
  // Then 30 completed logins a second later, each voted http-brute-force by the model.
  const logins = range(30).map((k): TestFlow => ({
    src: "10.5.0.66",
    dst: "10.5.0.10",
    srcPort: 50000 + k,
    dstPort: 80,
    startMicros: T0 + 7 * S + k * 30_000,
    endMicros: T0 + 7 * S + k * 30_000 + 100_000,
    fwdPackets: 6,
    bwdPackets: 5,
    features: { [FWD_BYTES]: 139, [BWD_BYTES]: 371 },
  }));
  const alerts = valid(run(agg, scored(logins, VERDICT_KNOWN, brute)));
  assert(
    alerts.some((a) => a.alert.name === "HTTP brute force"),
    `no brute force alert in the window: ${alerts.map((a) => a.alert.name).join(", ")}`,
  );
});

Deno.test("connection flood: 1,500 HTTPS connections at 1,000 a second are an HTTP flood; at 20 a second, a client", () => {
  const flood = valid([
    ...run(aggregator(), scored(pairFlows("10.6.0.1", 1500, 1000), VERDICT_BENIGN, 0)),
  ]);
  assert.deepEqual(flood.map((a) => [a.alert.name, a.src_ip, a.dest_port]), [
    ["HTTP flood (a connection per request)", "10.6.0.1", 443],
  ]);
  assert.ok(flood[0].alert.score >= 1000, JSON.stringify(flood[0].alert));
  // The same count at 20 connections a second (an API client without keep-alive) spans 75 s:
  // no window holds 1,000 at 200 a second.
  const agg = aggregator();
  assert.deepEqual(run(agg, scored(pairFlows("10.6.0.1", 1500, 50_000), VERDICT_BENIGN, 0)), []);
  assert.deepEqual(agg.flush(), []);
});

/** `n` completed PostgreSQL connections from 10.8.0.1, `gap` apart, each with the given login outcomes. */
function postgresConnections(n: number, gap: number, loginsFailed: number, loginsOk: number) {
  return range(n).map((k): TestFlow => ({
    src: "10.8.0.1",
    dst: "10.8.0.2",
    srcPort: 45000 + k,
    dstPort: 5432,
    startMicros: T0 + k * gap,
    endMicros: T0 + k * gap + 20_000,
    fwdPackets: 8,
    bwdPackets: 7,
    features: { [FWD_BYTES]: 300, [BWD_BYTES]: 700 },
    loginsFailed,
    loginsOk,
  }));
}

Deno.test("brute force on a cleartext login service: logins it said succeeded are an application, failures a guesser", () => {
  // An application opening a connection per query (pgbench -C): 200 connections, each logged in.
  const app = aggregator();
  assert.deepEqual(run(app, scored(postgresConnections(200, 50_000, 0, 1), VERDICT_BENIGN, 0)), []);
  assert.deepEqual(app.flush(), []);
  // The same connections with no outcome seen (TLS, a cut capture): the connection rule stands.
  const unseen = valid([
    ...run(aggregator(), scored(postgresConnections(200, 50_000, 0, 0), VERDICT_BENIGN, 0)),
  ]);
  assert.deepEqual(unseen.map((a) => a.alert.name), ["PostgreSQL brute force"]);
  // Three connections that each failed four logins: too few connections, enough failures.
  const guesses = valid([
    ...run(aggregator(), scored(postgresConnections(3, 2 * S, 4, 0), VERDICT_BENIGN, 0)),
  ]);
  assert.deepEqual(guesses.map((a) => [a.alert.name, a.alert.score, a.alert.threshold]), [
    ["PostgreSQL brute force", 12, 10],
  ]);
  assert.equal(guesses[0].alert.evidence?.login_failures, 12);
});

Deno.test("failed logins either side of a minute add up; two minutes apart they do not", () => {
  // Two connections failing 4 logins each late in one window, one failing 4 early in the next.
  const at = (flows: TestFlow[], offset: number) =>
    flows.map((f) => ({
      ...f,
      startMicros: f.startMicros + offset,
      endMicros: f.endMicros + offset,
    }));
  const agg = aggregator();
  assert.deepEqual(
    run(agg, scored(at(postgresConnections(2, S, 4, 0), 50 * S), VERDICT_BENIGN, 0)),
    [],
  );
  const next = valid([
    ...run(agg, scored(at(postgresConnections(1, S, 4, 0), 65 * S), VERDICT_BENIGN, 0)),
  ]);
  assert.deepEqual(next.map((a) => [a.alert.name, a.alert.score]), [[
    "PostgreSQL brute force",
    12,
  ]]);
  // The same failures with a quiet minute between: each window holds 8 or 4, never 10.
  const apart = aggregator();
  assert.deepEqual(
    run(apart, scored(at(postgresConnections(2, S, 4, 0), 50 * S), VERDICT_BENIGN, 0)),
    [],
  );
  assert.deepEqual(
    run(apart, scored(at(postgresConnections(1, S, 4, 0), 125 * S), VERDICT_BENIGN, 0)),
    [],
  );
  assert.deepEqual(apart.flush(), []);
});

Deno.test("brute force needs repetition at a rate: 22 short SSH sessions over 7 minutes are an admin at work", () => {
  const agg = aggregator();
  const admin = range(22).map((k): TestFlow => ({
    src: "10.3.0.9",
    dst: "10.3.0.2",
    srcPort: 42000 + k,
    dstPort: 22,
    startMicros: T0 + k * 20 * S,
    endMicros: T0 + k * 20 * S + 5 * S,
    fwdPackets: 30,
    bwdPackets: 40,
    features: { [FWD_BYTES]: 3000, [BWD_BYTES]: 9000 },
  }));
  // Ended flows may reach the sensor together (end of input, idle timeouts): one batch.
  assert.deepEqual(run(agg, scored(admin, VERDICT_BENIGN, 0)), []);
  assert.deepEqual(agg.flush(), []);
});

Deno.test("windows: evidence starts afresh in each window, and weak vote groups are counted once", () => {
  const agg = aggregator();
  // 10 ports probed in one window and 10 others six windows later (past the 5-minute horizon
  // of a scan's ports): no scan in either.
  run(agg, scored(synProbes("10.50.0.1", "10.0.0.5", 10, T0), VERDICT_BENIGN, 0));
  const later = synProbes("10.50.0.1", "10.0.0.5", 20, T0 + 370 * S).slice(10);
  assert.deepEqual(run(agg, scored(later, VERDICT_BENIGN, 0)), []);
  run(agg, scored(pairFlows("10.50.0.2", 1), VERDICT_UNKNOWN, -1, 1.1));
  for (const t of [440, 500, 560]) {
    run(
      agg,
      scored(
        [{ ...pairFlows("10.50.0.3", 1)[0], startMicros: T0 + t * S, endMicros: T0 + t * S }],
        VERDICT_BENIGN,
        0,
      ),
    );
  }
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 1, bulkFlows: 0 });
});

Deno.test("open set: one flow claimed as a behaviour class is never alerted under that class, and is counted", () => {
  const agg = aggregator();
  run(agg, scored(pairFlows("10.0.0.21", 1), VERDICT_KNOWN, 1, 0.99));
  const gated = scored(pairFlows("10.0.0.22", 1), VERDICT_UNKNOWN, -1, 1.1);
  gated.decisions.nearestClass!.fill(3);
  run(agg, gated);
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 2, flows: 2, bulkFlows: 0 });
});

Deno.test("open set: a class one flow can show (SQL injection) is alerted from one flow, at once", () => {
  const agg = aggregator();
  const a = only(run(agg, scored(pairFlows("10.0.0.23", 1), VERDICT_KNOWN, 4, 0.97)));
  assert.equal(a.alert.name, "SQL injection");
  assert.equal(a.alert.verdict, "known");
  assert.deepEqual(agg.flush(), []);
});

Deno.test("unknown rule: one weak anomaly-only flow is not alerted, and is counted", () => {
  const agg = aggregator();
  run(agg, scored(pairFlows("10.0.0.21", 1), VERDICT_UNKNOWN, -1, 1.1));
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 1, bulkFlows: 0 });
});

Deno.test("unknown rule: a few weak flows to one port (a browser's connections) are not alerted", () => {
  const agg = aggregator();
  run(agg, scored(pairFlows("10.0.0.21", 8), VERDICT_UNKNOWN, -1, 1.9));
  assert.deepEqual(agg.advance(T0 + 61 * S), []);
  assert.equal(agg.openAlerts, 0);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 8, bulkFlows: 0 });
});

Deno.test("unknown rule: weak anomaly-only flows at a rate are one unknown alert, after the grace", () => {
  const agg = aggregator();
  assert.deepEqual(run(agg, scored(pairFlows("10.0.0.66", 25), VERDICT_UNKNOWN, -1, 1.1)), []);
  const alert = only(agg.advance(T0 + 3 * S));
  assert.equal(alert.alert.verdict, "unknown");
  assert.equal(alert.alert.name, "unknown TCP anomaly");
  assert.equal(alert.alert.count, 25);
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 0, flows: 0, bulkFlows: 0 });
});

Deno.test("unknown rule: one flow at the strong threshold alone is not alerted; two answered ones are", () => {
  const one = aggregator();
  run(one, scored(pairFlows("10.0.0.66", 1), VERDICT_UNKNOWN, -1, 2));
  assert.deepEqual(one.flush(), []);
  assert.deepEqual(one.suppressedUnknowns, { groups: 1, flows: 1, bulkFlows: 0 });
  const two = aggregator();
  run(two, scored(pairFlows("10.0.0.66", 2, 5 * S), VERDICT_UNKNOWN, -1, 2));
  const alert = only(two.advance(T0 + 9 * S));
  assert.equal(alert.alert.name, "unknown TCP anomaly");
  assert.equal(alert.alert.count, 2);
  assert.equal(alert.alert.score, 2);
});

Deno.test("unknown rule: a client's anomalous flows fold into the HTTP monitor's line on it; another client's do not", () => {
  const flood = (client: string) => ({
    kind: "http-keepalive-flood" as const,
    atMicros: T0 + 1 * S,
    firstMicros: T0,
    clientIp: client,
    clientPort: 40000,
    serverIp: "10.0.0.9",
    serverPort: 443,
    requests: 1000,
    targets: 1,
    responses: 1000,
    clientErrors: 0,
    connections: 10,
    example: "/",
    vlan: 0,
  });
  const named = aggregator();
  run(named, scored(pairFlows("10.0.0.66", 2, 5 * S), VERDICT_UNKNOWN, -1, 2));
  assert.deepEqual(named.addPacketFindings([flood("10.0.0.66")]).map((e) => e.alert.alert.name), [
    "HTTP flood (keep-alive requests)",
  ]);
  // The same two strongly anomalous flows alone are an unknown line (the test above).
  assert.deepEqual(named.advance(T0 + 9 * S), []);
  assert.deepEqual(named.flush(), []);
  assert.equal(named.volume.foldedFlows, 2);
  const other = aggregator();
  run(other, scored(pairFlows("10.0.0.66", 2, 5 * S), VERDICT_UNKNOWN, -1, 2));
  other.addPacketFindings([flood("10.0.0.67")]);
  assert.equal(only(other.advance(T0 + 9 * S)).alert.name, "unknown TCP anomaly");
});

Deno.test("unknown rule: strongly anomalous bulk transfers (iperf3 -R's 1.6 GB against a 37-byte cookie) are not alerted, and are counted", () => {
  const bulk = (features: Record<number, number>) =>
    pairFlows("10.70.1.2", 2, 5 * S).map((f): TestFlow => ({
      ...f,
      fwdPackets: 22363,
      bwdPackets: 1135164,
      features,
    }));
  const agg = aggregator();
  run(agg, scored(bulk({ [FWD_BYTES]: 37, [BWD_BYTES]: 1637674880 }), VERDICT_UNKNOWN, -1, 8));
  assert.deepEqual(agg.advance(T0 + 9 * S), []);
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 2, bulkFlows: 2 });
  // The same two flows with a request for every answer (a tenth of the bytes back) are.
  const chatty = aggregator();
  run(chatty, scored(bulk({ [FWD_BYTES]: 2e8, [BWD_BYTES]: 2e9 }), VERDICT_UNKNOWN, -1, 8));
  assert.equal(only(chatty.advance(T0 + 9 * S)).alert.name, "unknown TCP anomaly");
});

Deno.test("unknown rule: strongly anomalous attempts nobody answered (a dead server) are not alerted", () => {
  const agg = aggregator();
  const unanswered = pairFlows("10.0.0.21", 6, 50_000).map((f): TestFlow => ({
    ...f,
    state: "S0",
    fwdPackets: 8,
    bwdPackets: 0,
    features: {},
  }));
  run(agg, scored(unanswered, VERDICT_UNKNOWN, -1, 5));
  assert.deepEqual(agg.advance(T0 + 9 * S), []);
  assert.deepEqual(agg.flush(), []);
  assert.deepEqual(agg.suppressedUnknowns, { groups: 1, flows: 6, bulkFlows: 0 });
});

Deno.test("volume: 200 scanners in one minute give at most the cap's lines; the rest is counted and carried", () => {
  const agg = aggregator({ maxAlertsPerMinute: 10 });
  const lines: EmittedAlert[] = [];
  for (let k = 0; k < 200; k++) {
    lines.push(
      ...run(
        agg,
        scored(
          synProbes(`10.20.${k >> 8}.${k & 255}`, "10.0.0.1", 20, T0 + k * 100_000),
          VERDICT_BENIGN,
          0,
        ),
      ),
    );
  }
  lines.push(...agg.flush());
  const alerts = valid(lines);
  assert.equal(alerts.length, 10);
  const v = agg.volume;
  assert.equal(v.groups, 200);
  // 200 first lines were due (10 written), then 190 closing lines for the groups never reported.
  assert.equal(v.suppressedLines, 380);
  assert.equal(v.lines, 10);
  // The cap let the first ten through; what it held back after them has no line yet to ride on.
  const carried = alerts.reduce((n, a) => n + (a.alert.suppressed?.lines ?? 0), 0);
  assert.equal(carried, 0);
  // The next minute has room again, and its first line says what the cap held back before.
  const later = only(
    run(agg, scored(synProbes("10.30.0.1", "10.0.0.1", 20, T0 + 120 * S), VERDICT_BENIGN, 0)),
  );
  assert.equal(later.alert.suppressed?.lines, 380 - carried);
});

Deno.test("alert windows contain their flows' times; line timestamps never go back", () => {
  const agg = aggregator();
  const lines: EmittedAlert[] = [];
  // A scan across a window boundary, then a late flow (idle timeout) of the first window.
  lines.push(
    ...run(agg, scored(synProbes("10.40.0.1", "10.0.0.2", 30, T0 + 50 * S), VERDICT_BENIGN, 0)),
  );
  lines.push(
    ...run(agg, scored(synProbes("10.40.0.2", "10.0.0.3", 30, T0 + 65 * S), VERDICT_BENIGN, 0)),
  );
  lines.push(
    ...run(agg, scored(synProbes("10.40.0.3", "10.0.0.4", 30, T0 + 10 * S), VERDICT_BENIGN, 0)),
  );
  lines.push(...agg.flush());
  const alerts = valid(lines);
  assert(alerts.length >= 3);
  let previous = "";
  for (const a of alerts) {
    assert(a.timestamp >= previous, `${a.timestamp} after ${previous}`);
    previous = a.timestamp;
    assert(
      a.alert.window.start <= a.flow.start && a.flow.end <= a.alert.window.end,
      JSON.stringify(a),
    );
  }
});

Deno.test("naming: specific classes in plain words, generic classes and anomalies from evidence", () => {
  const quiet: FlowEvidence = {
    protocol: 6,
    flows: 1,
    noReplyFlows: 0,
    fwdPackets: 5,
    bwdPackets: 5,
    fwdBytes: 300,
    bwdBytes: 2000,
    durationMicros: 2 * S,
    distinctDestPorts: 1,
    destPort: 443,
  };
  assert.equal(nameAlert("DoS Hulk", quiet).name, "HTTP flood (Hulk)");
  assert.equal(nameAlert("SSH-Patator", quiet).name, "SSH brute force");
  assert.equal(nameAlert("neptune", quiet).name, "SYN flood");
  assert.equal(nameAlert("Web Attack \u2013 Sql Injection", quiet).name, "SQL injection");
  assert.equal(nameAlert("dos", quiet).name, "denial of service");
  assert.equal(nameAlert("unknown", quiet).name, "unknown anomaly");
  assert.equal(nameAlert("Weird Thing", quiet).name, "Weird Thing");
  assert.equal(nameFromEvidence(quiet), null);
  // One unanswered flow with a fixed source port and many SYNs is a flood too.
  assert.equal(
    nameFromEvidence({ ...quiet, noReplyFlows: 1, fwdPackets: 5000, bwdPackets: 0 })?.name,
    "SYN flood",
  );
  assert.equal(
    nameFromEvidence({ ...quiet, protocol: 1, fwdPackets: 5000, bwdPackets: 0 })?.name,
    "ICMP flood",
  );
  assert.equal(
    nameFromEvidence({ ...quiet, protocol: 17, fwdPackets: 5000, bwdPackets: 0 })?.name,
    "UDP flood",
  );
});

Deno.test("top_features: largest standardised deviations from the bundle baseline", () => {
  const agg = aggregator({
    topFeatures: 2,
    baseline: {
      columns: COLUMNS,
      center: Float32Array.from([10, 100, 100, 5]),
      scale: Float32Array.from([1, 10, 10, 1]),
      logColumns: new Uint8Array(4),
    },
  });
  const flow: TestFlow = {
    src: "10.5.0.1",
    dst: "10.5.0.2",
    srcPort: 1,
    dstPort: 2,
    startMicros: T0,
    endMicros: T0,
    fwdPackets: 1,
    bwdPackets: 1,
    features: { 0: 11, 1: 600, 2: 100, 3: -15 },
  };
  const a = only(run(agg, scored([flow], VERDICT_KNOWN, 4)));
  assert.deepEqual(a.alert.top_features, [
    { name: "Total Length of Fwd Packets", value: 600, baseline: 100, zscore: 50 },
    { name: "SYN Flag Count", value: -15, baseline: 5, zscore: -20 },
  ]);
});

Deno.test("the EVE schema rejects malformed alerts", () => {
  const agg = aggregator();
  const good = only(run(agg, scored(pairFlows("10.6.0.1", 1), VERDICT_KNOWN, 4)));
  assert(!AlertSchema.safeParse({ ...good, timestamp: "yesterday" }).success);
  assert(!AlertSchema.safeParse({ ...good, event_type: "flow" }).success);
  assert(!AlertSchema.safeParse({ ...good, alert: { ...good.alert, severity: 4 } }).success);
  assert(!AlertSchema.safeParse({ ...good, alert: { ...good.alert, verdict: "benign" } }).success);
  assert(!AlertSchema.safeParse({ ...good, alert: { ...good.alert, stage: "middle" } }).success);
});

Deno.test("ensemble: the alert lists the members that voted on its highest-scoring flow", () => {
  const voters = ["gbdt", "lstm-ae", "iforest"];
  const agg = aggregator({ modelNames: { classifier: "forest", anomaly: "ensemble", voters } });
  // Two strongly anomalous answered flows: one alone is never an unknown alert.
  const s = scored(pairFlows("10.0.0.66", 2, 5 * S), VERDICT_UNKNOWN, -1, 2);
  s.scores.outputs.push({
    name: "ensemble",
    role: "anomaly",
    columns: 1,
    values: Float32Array.of(2, 2),
    votes: Float32Array.of(0, 1, 1, 0, 1, 1),
    voteColumns: 3,
  });
  run(agg, s);
  const alert = only(agg.flush());
  assert.deepEqual(alert.alert.voters, ["lstm-ae", "iforest"]);
  // Without an ensemble there is no voters field at all.
  const plain = aggregator();
  run(plain, scored(pairFlows("10.0.0.66", 2, 5 * S), VERDICT_UNKNOWN, -1, 2));
  assert.equal(only(plain.flush()).alert.voters, undefined);
});

Deno.test("packet members: the alert lists the ensemble's and the packet members' voters", () => {
  const agg = aggregator({
    modelNames: {
      classifier: "forest",
      anomaly: "ensemble",
      voters: ["gbdt", "lstm-ae"],
      packetVoters: ["lof@packet-sequence", "kitnet@afterimage"],
    },
  });
  const s = scored(pairFlows("10.0.0.67", 2, 5 * S), VERDICT_UNKNOWN, -1, 2);
  s.scores.outputs.push({
    name: "ensemble",
    role: "anomaly",
    columns: 1,
    values: Float32Array.of(2, 2),
    votes: Float32Array.of(0, 1, 0, 1),
    voteColumns: 2,
  });
  // LOF voted on both flows, KitNET on neither.
  agg.add(s.batch, s.decisions, s.scores, Uint8Array.of(1, 0, 1, 0));
  assert.deepEqual(only(agg.flush()).alert.voters, ["lstm-ae", "lof@packet-sequence"]);
  // Packet members without an ensemble: only they are listed.
  const packetsOnly = aggregator({ modelNames: { packetVoters: ["lof@packet-sequence"] } });
  const t = scored(pairFlows("10.0.0.68", 2, 5 * S), VERDICT_UNKNOWN, -1, 2);
  packetsOnly.add(t.batch, t.decisions, t.scores, Uint8Array.of(0, 1));
  assert.deepEqual(only(packetsOnly.flush()).alert.voters, ["lof@packet-sequence"]);
  // ... and none voted: no voters field.
  const noVote = aggregator({ modelNames: { packetVoters: ["lof@packet-sequence"] } });
  const u = scored(pairFlows("10.0.0.69", 2, 5 * S), VERDICT_UNKNOWN, -1, 2);
  noVote.add(u.batch, u.decisions, u.scores, Uint8Array.of(0, 0));
  assert.equal(only(noVote.flush()).alert.voters, undefined);
});

Deno.test("distinct rows: the explained flow's feature errors and votes are read through the row map", () => {
  const voters = ["gbdt", "lstm-ae", "iforest"];
  const agg = aggregator({
    modelNames: { classifier: "forest", anomaly: "ensemble", voters },
    topFeatures: 1,
  });
  // Three strongly anomalous answered flows; the third scores highest and explains the alert.
  const s = scored(pairFlows("10.0.0.70", 3, 5 * S), VERDICT_UNKNOWN, -1, 2);
  s.decisions.score[2] = 3;
  s.scores.outputs.push({
    name: "ensemble",
    role: "anomaly",
    columns: 1,
    values: Float32Array.of(2, 2, 3),
    // Two distinct rows: flows 0 and 1 are row 0, flow 2 is row 1.
    featureErrors: Float32Array.of(9, 0, 0, 0, 0, 0, 7, 0),
    votes: Float32Array.of(1, 0, 0, 0, 1, 1),
    voteColumns: 3,
    detailRowOf: Int32Array.of(0, 0, 1),
  });
  run(agg, s);
  const alert = only(agg.flush());
  assert.deepEqual(alert.alert.voters, ["lstm-ae", "iforest"]);
  assert.equal(alert.alert.top_features[0].name, "Total Length of Bwd Packets");
  assert.equal(alert.alert.top_features[0].reconstruction_error, 7);
});
