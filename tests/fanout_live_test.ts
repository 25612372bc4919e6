/**
 * Several capture workers on one interface (PACKET_FANOUT, hash mode): a real
 * capture replayed by tcpreplay across a veth pair reaches the workers
 * complete (every packet once), both workers get a share, and every flow's
 * packets, both directions, reach one worker only: what lets each worker
 * keep its own flow table.
 */
import assert from "node:assert/strict";
import { type LivePacketBatch, openLiveCapture } from "../src/capture/mod.ts";
import { createVethPair, vethUnavailableReason } from "./support/veth_pair.ts";
import { toolAvailable } from "./support/environment.ts";
import { writeSyntheticCapture } from "../scripts/bench/synthetic_capture.ts";

const reason = vethUnavailableReason() ??
  (toolAvailable("tcpreplay") ? null : "needs tcpreplay (apt-get install tcpreplay)");
if (reason) console.warn(`fanout live test: skipped, ${reason}`);

const PACKETS = 20_000;

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
  name: "fanout: 2 capture workers on one veth share a tcpreplay'd capture by whole flows",
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
      assert.ok(
        perWorker[0] > 0 && perWorker[1] > 0,
        `both workers get flows: ${perWorker.join(" / ")}`,
      );
      assert.ok(workerOf.size > 100, `${workerOf.size} flows`);
    } finally {
      pair.remove();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
