/**
 * Live capture through the FFI path (pcap_dispatch + pcap_dump into the
 * shared ring) on veth pairs in network namespaces: exact packet counts and
 * sizes for a known number of datagrams, several interfaces merged, stop by
 * duration, and clear errors for a bad interface or filter.
 */
import assert from "node:assert/strict";
import { type LivePacketBatch, openLiveCapture } from "../src/capture/live_source.ts";
import { stopOnSignals } from "../src/capture/live_signals.ts";
import { PcapError } from "../src/ffi/mod.ts";
import { isRoot } from "./support/environment.ts";
import { createVethPair, vethUnavailableReason } from "./support/veth_pair.ts";

const vethReason = vethUnavailableReason();
if (vethReason) console.warn(`live capture tests: skipped, ${vethReason}`);
const rootReason = isRoot() ? null : "needs root to open a live capture";
if (rootReason) console.warn(`live capture error tests: skipped, ${rootReason}`);

const ETHERNET_IPV4_UDP_HEADERS = 14 + 20 + 8;
const LINKTYPE_ETHERNET = 1;

/** Counts per interface, checking every packet's size, link type and payload. */
interface Tally {
  packets: Map<string, number>;
  sizeMismatches: number;
  payloadMismatches: number;
  linkTypeMismatches: number;
  timestampsBackwards: number;
}

function tallyBatch(
  batch: LivePacketBatch,
  payloadBytes: number,
  tally: Tally,
  last: Map<string, number>,
) {
  const expected = ETHERNET_IPV4_UDP_HEADERS + payloadBytes;
  let previous = last.get(batch.interfaceName) ?? 0;
  for (let i = 0; i < batch.count; i++) {
    if (batch.capturedLength[i] !== expected || batch.wireLength[i] !== expected) {
      tally.sizeMismatches++;
    }
    if (batch.linkType[i] !== LINKTYPE_ETHERNET) tally.linkTypeMismatches++;
    const start = batch.offset[i] + ETHERNET_IPV4_UDP_HEADERS;
    for (let at = start; at < batch.offset[i] + batch.capturedLength[i]; at++) {
      if (batch.data[at] !== 0x78) {
        tally.payloadMismatches++;
        break;
      }
    }
    if (batch.timestampMicros[i] < previous) tally.timestampsBackwards++;
    previous = batch.timestampMicros[i];
  }
  last.set(batch.interfaceName, previous);
  tally.packets.set(
    batch.interfaceName,
    (tally.packets.get(batch.interfaceName) ?? 0) + batch.count,
  );
}

function newTally(): Tally {
  return {
    packets: new Map(),
    sizeMismatches: 0,
    payloadMismatches: 0,
    linkTypeMismatches: 0,
    timestampsBackwards: 0,
  };
}

/**
 * Consumes `capture` until `expectedTotal` packets arrived (or a generous
 * safety limit passes), then stops it and keeps consuming until it ends, so
 * anything extra would be counted too.
 */
async function consumeAll(
  capture: ReturnType<typeof openLiveCapture>,
  payloadBytes: number,
  expectedTotal: number,
): Promise<Tally> {
  const tally = newTally();
  const last = new Map<string, number>();
  const safety = setTimeout(() => capture.stop(), 20_000);
  let total = 0;
  try {
    for await (const batch of capture) {
      tallyBatch(batch, payloadBytes, tally, last);
      total += batch.count;
      if (total >= expectedTotal) capture.stop();
    }
  } finally {
    clearTimeout(safety);
  }
  return tally;
}

Deno.test({
  name: "live capture: exact count and sizes of datagrams sent across a veth, through a BPF filter",
  ignore: vethReason !== null,
  async fn() {
    const pair = createVethPair();
    try {
      const port = 40000 + (Deno.pid % 1000);
      const capture = openLiveCapture({
        interfaces: [pair.captureSide],
        filter: `udp and dst port ${port}`,
      });
      const [ready] = await capture.ready;
      assert.deepEqual(ready.linkType, LINKTYPE_ETHERNET);
      const count = 300;
      const payloadBytes = 200;
      // Datagrams to another port must be filtered out in the kernel.
      await pair.sendUdp(25, payloadBytes, port + 1);
      await pair.sendUdp(count, payloadBytes, port);
      const tally = await consumeAll(capture, payloadBytes, count);
      assert.deepEqual(tally.packets.get(pair.captureSide), count);
      assert.deepEqual(tally.sizeMismatches, 0);
      assert.deepEqual(tally.payloadMismatches, 0);
      assert.deepEqual(tally.linkTypeMismatches, 0);
      assert.deepEqual(tally.timestampsBackwards, 0);
      const [stats] = capture.stats();
      assert.deepEqual(stats.interfaceName, pair.captureSide);
      assert.deepEqual(stats.captured, count);
      assert.deepEqual(stats.received, count);
      assert.deepEqual(stats.kernelDropped, 0);
    } finally {
      pair.remove();
    }
  },
});

Deno.test({
  name: "live capture: two interfaces merged, each batch tagged with its interface",
  ignore: vethReason !== null,
  async fn() {
    const first = createVethPair();
    const second = createVethPair();
    try {
      const port = 41000 + (Deno.pid % 1000);
      const capture = openLiveCapture({
        interfaces: [first.captureSide, second.captureSide],
        filter: `udp and dst port ${port}`,
        immediate: true,
      });
      await capture.ready;
      const payloadBytes = 64;
      await Promise.all([
        first.sendUdp(120, payloadBytes, port),
        second.sendUdp(80, payloadBytes, port),
      ]);
      const tally = await consumeAll(capture, payloadBytes, 200);
      assert.deepEqual(tally.packets.get(first.captureSide), 120);
      assert.deepEqual(tally.packets.get(second.captureSide), 80);
      assert.deepEqual(tally.sizeMismatches, 0);
      assert.deepEqual(tally.timestampsBackwards, 0);
      assert.deepEqual(capture.stats().map((stats) => stats.captured), [120, 80]);
    } finally {
      first.remove();
      second.remove();
    }
  },
});

Deno.test({
  name: "live capture: durationSeconds ends the iteration on a quiet link",
  ignore: vethReason !== null,
  async fn() {
    const pair = createVethPair();
    try {
      const capture = openLiveCapture({
        interfaces: [pair.captureSide],
        filter: "udp and dst port 9",
        durationSeconds: 1,
      });
      let packets = 0;
      for await (const batch of capture) packets += batch.count;
      assert.deepEqual(packets, 0);
      assert.deepEqual(capture.stats()[0].captured, 0);
    } finally {
      pair.remove();
    }
  },
});

Deno.test({
  name: "live capture: a missing interface is a PcapError naming it, from ready and from iteration",
  ignore: rootReason !== null,
  async fn() {
    const capture = openLiveCapture({ interfaces: ["ids-no-such0"] });
    await assert.rejects(capture.ready, (error) => {
      assert(error instanceof PcapError);
      assert.equal(error.kind, "no-such-device");
      assert.match(error.message, /ids-no-such0/);
      return true;
    });
    await assert.rejects(async () => {
      for await (const _ of capture) { /* nothing arrives */ }
    }, PcapError);
  },
});

Deno.test({
  name: "live capture: a filter that does not compile is a PcapError quoting it",
  ignore: rootReason !== null,
  async fn() {
    const capture = openLiveCapture({ interfaces: ["lo"], filter: "udp port" });
    await assert.rejects(capture.ready, (error) => {
      assert(error instanceof PcapError);
      assert.equal(error.kind, "bad-filter");
      assert.match(error.message, /"udp port"/);
      return true;
    });
    await assert.rejects(async () => {
      for await (const _ of capture) { /* nothing arrives */ }
    }, PcapError);
  },
});

Deno.test({
  name: "live capture: SIGTERM stops the capture and the iteration ends normally",
  ignore: rootReason !== null,
  async fn() {
    const capture = openLiveCapture({ interfaces: ["lo"], filter: "udp and dst port 9" });
    await capture.ready;
    const seen: Deno.Signal[] = [];
    const removeListeners = stopOnSignals(capture, (signal) => seen.push(signal));
    try {
      // SIGTERM: the test runner keeps SIGINT for itself (the capture CLI test covers SIGINT).
      Deno.kill(Deno.pid, "SIGTERM");
      for await (const _ of capture) { /* nothing expected on port 9 */ }
      assert.deepEqual(seen, ["SIGTERM"]);
    } finally {
      removeListeners();
    }
  },
});
