import assert from "node:assert/strict";
import { type FlowBatch, flowRecordAt } from "../features/mod.ts";
import { type Decisions, VERDICT_BENIGN } from "../inference/mod.ts";
import { addFlow, emptyBatch, type TestFlow } from "../../tests/support/flow_batches.ts";
import { HostEvidence } from "./host_evidence.ts";
import { HORIZON_WINDOWS, PortHorizon, PORTS_PER_PAIR } from "./port_horizon.ts";

const S = 1e6;
const T0 = Date.UTC(2026, 0, 2, 3, 4, 0) * 1000; // a window boundary (60 s multiple)

function evidence(horizonPairs?: number): HostEvidence {
  return new HostEvidence({
    fwdBytesColumn: 0,
    bwdBytesColumn: 1,
    synFlagsColumn: 2,
    describeFlow: flowRecordAt,
    horizonPairs,
    voteRule: {
      minFlows: 3,
      minPorts: 10,
      rateFlows: 20,
      ratePerSecond: 1,
      singleFlowClass: new Uint8Array(1),
      bruteForceClass: new Uint8Array(1),
    },
  });
}

/** A SYN probe answered by RST (nmap -sS at a closed port) at `at` microseconds. */
function probe(src: string, dst: string, port: number, at: number): TestFlow {
  return {
    src,
    dst,
    srcPort: 45000,
    dstPort: port,
    startMicros: at,
    endMicros: at + 300,
    state: "REJ",
    fwdPackets: 1,
    bwdPackets: 1,
    features: { 2: 1 },
  };
}

interface Seen {
  name: string;
  atMicros: number;
  ports: number;
  flows: number;
  firstMicros: number;
}

/**
 * Feeds each flow as its own batch, as the aggregator does (roll the window
 * by the flow's end, read and reset a closed window, observe): the scan
 * findings opened and the ports they counted.
 */
function feed(e: HostEvidence, flows: TestFlow[]): Seen[] {
  const seen: Seen[] = [];
  let watermark = 0;
  for (const f of flows) {
    const batch: FlowBatch = emptyBatch(1, 3);
    addFlow(batch, f);
    const decisions: Decisions = {
      rows: 1,
      verdict: new Uint8Array(1).fill(VERDICT_BENIGN),
      classIndex: new Int16Array(1).fill(-1),
      score: new Float32Array(1),
      threshold: new Float32Array(1).fill(0.5),
    };
    watermark = Math.max(watermark, f.endMicros);
    if (e.roll(watermark)) e.reset();
    for (const found of e.observe(batch, decisions, watermark)) {
      const sum = e.summary(found);
      seen.push({
        name: found.behaviour,
        atMicros: found.openedMicros,
        ports: sum.distinctDestPorts,
        flows: sum.flows,
        firstMicros: sum.firstMicros,
      });
    }
  }
  e.close();
  e.reset();
  return seen;
}

/** `n` ports from `first` probed one every `every` seconds from `start`. */
function slowScan(src: string, dst: string, n: number, every: number, start = T0, first = 1) {
  return Array.from({ length: n }, (_, k) => probe(src, dst, first + k, start + k * every * S));
}

Deno.test("slow scan: 20 ports at one every 5 s (12 a minute), and 16 at one every 18 s (over 5 windows), are port scans at their 15th port", () => {
  const e = evidence();
  const seen = feed(e, slowScan("10.85.0.1", "10.85.0.2", 20, 5, T0 + 10 * S));
  assert.equal(seen.length, 1, JSON.stringify(seen));
  assert.equal(seen[0].name, "scan");
  assert.equal(seen[0].ports, 15);
  // The 15th probe started 70 s after the first; the finding counts the probes from the first.
  assert.equal(seen[0].atMicros, T0 + 80 * S + 300);
  assert.equal(seen[0].flows, 15);
  assert.equal(seen[0].firstMicros, T0 + 10 * S);
  // 15 ports over 4 minutes 12 s: windows 0 to 4.
  const slower = feed(evidence(), slowScan("10.85.0.1", "10.85.0.2", 16, 18));
  assert.deepEqual(slower.map((s) => [s.name, s.ports, s.atMicros]), [
    ["scan", 15, T0 + 252 * S + 300],
  ]);
});

Deno.test("slow scan: 14 ports at one every 20 s (under 5 minutes) is not; nor 30 ports at one every 25 s (never 15 within the horizon)", () => {
  assert.deepEqual(feed(evidence(), slowScan("10.85.0.1", "10.85.0.2", 14, 20)), []);
  // 30 distinct ports over 12.5 minutes: at most 12 fall within any 5 windows.
  assert.deepEqual(feed(evidence(), slowScan("10.85.0.1", "10.85.0.2", 30, 25)), []);
  // The same port again and again (a client retrying one closed service) is one port.
  const retries = Array.from(
    { length: 40 },
    (_, k) => probe("10.85.0.1", "10.85.0.2", 8443, T0 + k * 5 * S),
  );
  assert.deepEqual(feed(evidence(), retries), []);
  // Ports to different targets do not add up per target (a sweep's limit is its own).
  const spread = Array.from(
    { length: 20 },
    (_, k) => probe("10.85.0.1", `10.85.0.${10 + (k % 2)}`, 1 + k, T0 + k * 5 * S),
  );
  assert.deepEqual(feed(evidence(), spread), []);
});

Deno.test("slow scan: ports probed again in a later window count once", () => {
  // 10 ports in the first minute, the same 10 again and 4 new in the next: 14 distinct, no scan.
  const again = [
    ...slowScan("10.85.0.1", "10.85.0.2", 10, 5),
    ...slowScan("10.85.0.1", "10.85.0.2", 14, 3, T0 + 61 * S),
  ];
  assert.deepEqual(feed(evidence(), again), []);
  // One new port more makes 15.
  const more = [...again, probe("10.85.0.1", "10.85.0.2", 100, T0 + 110 * S)];
  const seen = feed(evidence(), more);
  assert.deepEqual(seen.map((s) => [s.name, s.ports]), [["scan", 15]]);
});

Deno.test("split scan: 20 ports at one every 3 s across a minute's end (10 each side) is named in the second minute", () => {
  const seen = feed(evidence(), slowScan("10.85.0.1", "10.85.0.2", 20, 3, T0 + 30 * S));
  assert.deepEqual(seen.map((s) => [s.name, s.ports]), [["scan", 15]]);
  assert.equal(seen[0].atMicros, T0 + 72 * S + 300);
});

Deno.test("horizon: a named source is not handed on; ports older than 5 windows expire", () => {
  // A fast scan named in its first window, then 10 more ports in the next: no second line
  // from the carried ports (a fast scan's next window needs 15 of its own, as before).
  const fast = [
    ...Array.from({ length: 20 }, (_, k) => probe("10.85.0.1", "10.85.0.2", 1 + k, T0 + k * 1000)),
    ...slowScan("10.85.0.1", "10.85.0.2", 10, 2, T0 + 61 * S, 100),
  ];
  assert.deepEqual(feed(evidence(), fast).map((s) => s.ports), [15]);
  // 10 ports, then 5 more 5 windows later: the first 10 fell out of the horizon.
  const late = [
    ...slowScan("10.85.0.1", "10.85.0.3", 10, 1),
    ...slowScan("10.85.0.1", "10.85.0.3", 5, 1, T0 + HORIZON_WINDOWS * 60 * S, 100),
  ];
  const e = evidence();
  assert.deepEqual(feed(e, late), []);
  assert(e.stats().horizon.portsExpired >= 10);
  // 4 windows later they still count.
  const within = [
    ...slowScan("10.85.0.1", "10.85.0.4", 10, 1),
    ...slowScan("10.85.0.1", "10.85.0.4", 5, 1, T0 + (HORIZON_WINDOWS - 1) * 60 * S, 100),
  ];
  assert.deepEqual(feed(evidence(), within).map((s) => s.ports), [15]);
});

Deno.test("horizon: pairs beyond the capacity are dropped and counted, the memory never grows", () => {
  const h = new PortHorizon(64);
  const bytes = h.bytes;
  const key = new Uint32Array(9);
  h.begin(1, () => false);
  for (let pair = 0; pair < 10_000; pair++) {
    key[3] = pair;
    key[7] = 2;
    key[8] = 6;
    h.add(key, 1 + (pair % 7), 0, 1, T0);
  }
  // One pair with more ports than a scan leaves under the limit.
  key[3] = 99_999;
  for (let port = 1; port <= 20; port++) h.add(key, port, 0, 1, T0);
  h.finish();
  assert.equal(h.capacity, 64);
  assert(h.size <= 64);
  assert.equal(h.bytes, bytes, "no growth");
  assert(h.stats.pairsDropped >= 10_000 - 64, `dropped ${h.stats.pairsDropped}`);
  assert.equal(h.stats.portsDropped, 20 - PORTS_PER_PAIR);
  // The evidence layer: 5,000 one-port pairs in a window, carried in a 256-pair horizon.
  const e = evidence(256);
  const before = e.bytes;
  const many = Array.from(
    { length: 5000 },
    (_, k) => probe(`10.86.${k >> 8}.${k & 255}`, `10.87.${k >> 8}.${k & 255}`, 1, T0 + k * 1000),
  );
  assert.deepEqual(feed(e, many), []);
  assert.equal(e.bytes, before);
  const s = e.stats();
  assert(s.horizon.pairsDropped >= 5000 - 256, JSON.stringify(s.horizon));
  assert.equal(s.tables.horizon.capacity, 256);
});

Deno.test("horizon: a port hammered in a window (a flood's, a retrying client's) is not handed on as a scanned port", () => {
  // 100 unanswered SYNs at port 80 and one at port 443 in the first minute, then 14 new ports.
  const hammered = [
    ...Array.from({ length: 100 }, (_, k) => ({
      ...probe("10.85.0.1", "10.85.0.2", 80, T0 + k * 500_000),
      state: "S0" as const,
      bwdPackets: 0,
    })),
    probe("10.85.0.1", "10.85.0.2", 443, T0 + 55 * S),
  ];
  const scan = slowScan("10.85.0.1", "10.85.0.2", 14, 1, T0 + 70 * S, 1000);
  const seen = feed(evidence(), [...hammered, ...scan]);
  // Port 443 counts (15 ports), port 80 does not; the scan's count is its probes and 443's.
  assert.deepEqual(seen.map((s) => [s.name, s.ports, s.flows]), [["scan", 15, 15]]);
  assert.deepEqual(feed(evidence(), [...hammered, ...scan.slice(0, 13)]), []);
});
