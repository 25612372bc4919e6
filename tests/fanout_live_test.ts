/**
 * Several capture workers on one interface (PACKET_FANOUT by host pair,
 * src/ffi/fanout_program.ts): a real capture replayed by tcpreplay across a
 * veth pair reaches the workers complete (every packet once), both workers
 * get a share, and every host pair's packets, both directions, every
 * connection, reach one worker only: what lets each worker keep its own flow
 * table and its packet monitors count a pair's connections together.
 */
import assert from "node:assert/strict";
import { type LivePacketBatch, openLiveCapture, readCaptureFile } from "../src/capture/mod.ts";
import {
  DETECTION_METER_DEFAULTS,
  type FlowBatch,
  flowRecordAt,
  meterFlows,
} from "../src/features/mod.ts";
import { CaptureWorkerMeters } from "../src/engine/mod.ts";
import { createVethPair, vethUnavailableReason } from "./support/veth_pair.ts";
import { repoRoot, toolAvailable } from "./support/environment.ts";
import { writeSyntheticCapture } from "../scripts/bench/synthetic_capture.ts";

const reason = vethUnavailableReason() ??
  (toolAvailable("tcpreplay") ? null : "needs tcpreplay (apt-get install tcpreplay)");
if (reason) console.warn(`fanout live test: skipped, ${reason}`);

const PACKETS = 20_000;

/** The direction-free host pair of an IPv4 packet of an Ethernet frame, or null. */
function pairKey(batch: LivePacketBatch, i: number): string | null {
  const d = batch.data;
  const at = batch.offset[i];
  if (d[at + 12] !== 0x08 || d[at + 13] !== 0x00) return null;
  const ip = at + 14;
  const a = d.subarray(ip + 12, ip + 16).join("."), b = d.subarray(ip + 16, ip + 20).join(".");
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/** A direction-free key of an IPv4 TCP/UDP packet of an Ethernet frame, or null. */
function flowKey(batch: LivePacketBatch, i: number): string | null {
  const d = batch.data;
  const at = batch.offset[i];
  if (d[at + 12] !== 0x08 || d[at + 13] !== 0x00) return null;
  const ip = at + 14;
  const protocol = d[ip + 9];
  if (protocol !== 6 && protocol !== 17) return null;
  const l4 = ip + (d[ip] & 0x0f) * 4;
  const a = `${d[ip + 12]}.${d[ip + 13]}.${d[ip + 14]}.${d[ip + 15]}:${(d[l4] << 8) | d[l4 + 1]}`;
  const b = `${d[ip + 16]}.${d[ip + 17]}.${d[ip + 18]}.${d[ip + 19]}:${
    (d[l4 + 2] << 8) | d[l4 + 3]
  }`;
  return `${protocol} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
}

Deno.test({
  name: "fanout: 2 capture workers on one veth share a tcpreplay'd capture by whole host pairs",
  ignore: reason !== null,
  sanitizeResources: false,
  async fn() {
    const pair = createVethPair();
    const dir = await Deno.makeTempDir({ prefix: "ids-fanout-" });
    try {
      const file = `${dir}/flows.pcap`;
      const written = await writeSyntheticCapture(file, { packets: PACKETS, concurrentFlows: 400 });
      const capture = openLiveCapture({
        interfaces: [pair.captureSide],
        workersPerInterface: 2,
        bufferBytes: 8 << 20,
      });
      await capture.ready;
      const workerOf = new Map<string, number>();
      const workerOfPair = new Map<string, number>();
      let pairSplit = 0;
      const perWorker = [0, 0];
      let packets = 0;
      let split = 0;
      let other = 0;
      const replay = new Deno.Command("ip", {
        args: [
          "netns",
          "exec",
          pair.namespace,
          "tcpreplay",
          "--quiet",
          "--pps",
          "20000",
          "-i",
          pair.peerSide,
          file,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      // Stop once every packet arrived, or a while after the replay ended.
      replay.then(() => setTimeout(() => capture.stop(), 3000));
      for await (const batch of capture) {
        for (let i = 0; i < batch.count; i++) {
          const key = flowKey(batch, i);
          if (key === null) {
            other++;
            continue;
          }
          packets++;
          perWorker[batch.captureWorker]++;
          const seen = workerOf.get(key);
          if (seen === undefined) workerOf.set(key, batch.captureWorker);
          else if (seen !== batch.captureWorker) split++;
          const pair = pairKey(batch, i)!;
          const pairSeen = workerOfPair.get(pair);
          if (pairSeen === undefined) workerOfPair.set(pair, batch.captureWorker);
          else if (pairSeen !== batch.captureWorker) pairSplit++;
        }
        if (packets >= written.packets) capture.stop();
      }
      const replayed = await replay;
      assert.ok(replayed.success, new TextDecoder().decode(replayed.stderr));
      const stats = capture.stats();
      assert.equal(stats.length, 2);
      const dropped = stats.reduce((n, s) => n + s.kernelDropped, 0);
      assert.equal(dropped, 0, "kernel drops at 20 kpps");
      assert.equal(packets, written.packets, `every replayed packet once (other frames: ${other})`);
      assert.equal(split, 0, "packets of one flow reached two workers");
      assert.equal(pairSplit, 0, "packets of one host pair reached two workers");
      assert.ok(
        perWorker[0] > 0 && perWorker[1] > 0,
        `both workers get flows: ${perWorker.join(" / ")}`,
      );
      assert.ok(workerOf.size > 100, `${workerOf.size} flows`);
      assert.ok(workerOfPair.size > 100, `${workerOfPair.size} host pairs`);
    } finally {
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/**
 * Packets per direction-free flow key: each flow's latest row (an interim row
 * is a flow's last when nothing came after it), added over the flows of one
 * key (a flow cut in two counts once).
 */
class PacketsByFlow {
  readonly #latest = new Map<string, { seq: number; packets: number }>();

  add(flows: FlowBatch): void {
    for (let i = 0; i < flows.count; i++) {
      const r = flowRecordAt(flows, i);
      const a = `${r.srcIp}:${r.srcPort}`;
      const b = `${r.dstIp}:${r.dstPort}`;
      const flow = `${r.protocol} ${a < b ? `${a} ${b}` : `${b} ${a}`}\t${r.startMicros}`;
      const seen = this.#latest.get(flow);
      if (seen && seen.seq > flows.exportSeq[i]) continue;
      this.#latest.set(flow, {
        seq: flows.exportSeq[i],
        packets: flows.fwdPackets[i] + flows.bwdPackets[i],
      });
    }
  }

  byKey(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [flow, { packets }] of this.#latest) {
      const key = flow.split("\t")[0];
      out.set(key, (out.get(key) ?? 0) + packets);
    }
    return out;
  }
}

Deno.test({
  name: "fanout: 2 capture workers meter their own packets; flows as metered from the file",
  ignore: reason !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pair = createVethPair();
    const dir = await Deno.makeTempDir({ prefix: "ids-fanout-" });
    try {
      const file = `${dir}/flows.pcap`;
      const written = await writeSyntheticCapture(file, { packets: PACKETS, concurrentFlows: 400 });
      const fromFile = new PacketsByFlow();
      for await (const flows of meterFlows(readCaptureFile(file), DETECTION_METER_DEFAULTS)) {
        fromFile.add(flows);
      }
      const offline = fromFile.byKey();
      const meters = new CaptureWorkerMeters(2);
      const capture = openLiveCapture({
        interfaces: [pair.captureSide],
        workersPerInterface: 2,
        bufferBytes: 8 << 20,
        inWorker: meters.inWorker,
      });
      await capture.ready;
      const replay = new Deno.Command("ip", {
        args: ["netns", "exec", pair.namespace, "tcpreplay", "--quiet", "--pps", "20000"]
          .concat(["-i", pair.peerSide, file]),
        stdout: "null",
        stderr: "piped",
      }).output();
      // The workers' meters report their packets twice a second: stop once all are in.
      const stopWhenMetered = setInterval(() => {
        if (meters.counters().decode.packets >= written.packets) capture.stop();
      }, 200);
      replay.then(() => setTimeout(() => capture.stop(), 5000));
      const fromWorkers = new PacketsByFlow();
      let batches = 0;
      for await (const flows of meters.flows(capture, () => capture.stop())) {
        fromWorkers.add(flows);
        batches++;
      }
      const live = fromWorkers.byKey();
      clearInterval(stopWhenMetered);
      const replayed = await replay;
      assert.ok(replayed.success, new TextDecoder().decode(replayed.stderr));
      const stats = capture.stats();
      assert.equal(stats.reduce((n, s) => n + s.kernelDropped, 0), 0, "kernel drops at 20 kpps");
      const counters = meters.counters();
      assert.ok(counters.decode.packets >= written.packets, `${counters.decode.packets} metered`);
      assert.equal(counters.flowsLive, 0, "every table flushed at the end");
      assert.ok(batches > 0);
      assert.ok(offline.size > 100, `${offline.size} flows in the file`);
      // Frames other than the capture's (IPv6 router solicitations of the new link) may add flows.
      const missing = [...offline].filter(([key, n]) => live.get(key) !== n);
      assert.deepEqual(missing, [], "flows whose packets differ from the file's");
    } finally {
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fanout: two captures with 2 workers each on one veth each get every packet",
  ignore: reason !== null,
  sanitizeResources: false,
  async fn() {
    // Each capture's group gets an id the kernel picks, so two sensors never share a group
    // (with ids chosen by the sensors, a collision would split the packets between them).
    const pair = createVethPair();
    try {
      const captures = [0, 1].map(() =>
        openLiveCapture({
          interfaces: [pair.captureSide],
          workersPerInterface: 2,
          bufferBytes: 4 << 20,
        })
      );
      await Promise.all(captures.map((capture) => capture.ready));
      const DATAGRAMS = 300;
      const counted = captures.map(async (capture) => {
        let udp = 0;
        for await (const batch of capture) {
          for (let i = 0; i < batch.count; i++) {
            const at = batch.offset[i];
            // IPv4 UDP to port 5353 (the pair's datagrams; the new link also sends IPv6 frames).
            if (batch.data[at + 12] === 0x08 && batch.data[at + 23] === 17) udp++;
          }
          if (udp >= DATAGRAMS) capture.stop();
        }
        return udp;
      });
      await pair.sendUdp(DATAGRAMS, 20, 5353);
      const timer = setTimeout(() => captures.forEach((capture) => capture.stop()), 20_000);
      const seen = await Promise.all(counted);
      clearTimeout(timer);
      assert.deepEqual(seen, [DATAGRAMS, DATAGRAMS], "datagrams seen by each capture");
    } finally {
      pair.remove();
    }
  },
});

Deno.test({
  name:
    "fanout: 2 capture workers get IP fragments as sent, not reassembled (nmap -f's tiny fragments)",
  ignore: reason !== null,
  sanitizeResources: false,
  async fn() {
    // The kernel's flow-hash fanout needed FLAG_DEFRAG, which delivered the reassembled datagram
    // and hid fragment attacks from the IP anomaly monitor; the host-pair hash needs no reassembly.
    const file = `${repoRoot}tests/fixtures/ip-anomalies/nmap-fragmented-scan.pcap`;
    let fragmentsInFile = 0, packetsInFile = 0;
    for await (const batch of readCaptureFile(file)) {
      for (let i = 0; i < batch.count; i++) {
        packetsInFile++;
        if (isFragment(batch.data, batch.offset[i])) fragmentsInFile++;
      }
    }
    let fragments = 0;
    await replayToTwoWorkers(file, (batch, i) => {
      if (isFragment(batch.data, batch.offset[i])) fragments++;
    });
    assert.ok(fragmentsInFile > 100, `${fragmentsInFile} fragments of ${packetsInFile} packets`);
    assert.equal(fragments, fragmentsInFile);
  },
});

/** Replays `file` at top speed into a veth captured by 2 workers; `each` sees every packet captured. */
async function replayToTwoWorkers(
  file: string,
  each: (batch: LivePacketBatch, i: number) => void,
): Promise<void> {
  const pair = createVethPair();
  try {
    const capture = openLiveCapture({ interfaces: [pair.captureSide], workersPerInterface: 2 });
    await capture.ready;
    const replay = new Deno.Command("ip", {
      args: ["netns", "exec", pair.namespace, "tcpreplay", "--quiet", "--topspeed", "-i"]
        .concat([pair.peerSide, file]),
      stdout: "null",
      stderr: "piped",
    }).output();
    replay.then(() => setTimeout(() => capture.stop(), 2000));
    for await (const batch of capture) {
      for (let i = 0; i < batch.count; i++) each(batch, i);
    }
    const replayed = await replay;
    assert.ok(replayed.success, new TextDecoder().decode(replayed.stderr));
  } finally {
    pair.remove();
  }
}

/** An IPv4 fragment (more fragments, or an offset) in an Ethernet frame. */
function isFragment(d: Uint8Array, at: number): boolean {
  if (d[at + 12] !== 0x08 || d[at + 13] !== 0x00) return false;
  return (((d[at + 20] << 8) | d[at + 21]) & 0x3fff) !== 0;
}

Deno.test({
  name:
    "fanout: 2 capture workers, every connection between two hosts to one (dig's 80 queries from 80 ports)",
  ignore: reason !== null,
  sanitizeResources: false,
  async fn() {
    // The packet monitors count per host pair across connections (a DNS tunnel's queries, an HTTP
    // path scan's connections): the kernel's flow hash split them over the workers.
    const file = `${repoRoot}tests/fixtures/dns/dig-exfil.pcap`;
    const workersOf = new Map<string, Set<number>>();
    const flows = new Set<string>();
    await replayToTwoWorkers(file, (batch, i) => {
      const hosts = pairKey(batch, i);
      const flow = flowKey(batch, i);
      if (hosts === null || flow === null) return;
      flows.add(flow);
      if (!workersOf.has(hosts)) workersOf.set(hosts, new Set());
      workersOf.get(hosts)!.add(batch.captureWorker);
    });
    assert.ok(flows.size >= 80, `${flows.size} flows`);
    assert.deepEqual([...workersOf.values()].map((w) => w.size), [1]);
  },
});
