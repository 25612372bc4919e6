import assert from "node:assert/strict";
import { FEATURE_INDEX } from "../features/mod.ts";
import { createFlowLabeller } from "./flow_labeller.ts";
import { labelCapture } from "./label_flows.ts";
import { repoRoot } from "../../tests/support/environment.ts";

Deno.test("labelled rows are metered as the sensor meters them: offload frames as a 1,500-byte wire's segments", async () => {
  // 16 s of page fetches captured on a host whose segmentation offload made frames of up to 64 KiB.
  const capture = `${repoRoot}tests/fixtures/web-clients/page-fetches.pcap`;
  let largest = 0, flows = 0;
  const summary = await labelCapture(capture, createFlowLabeller([]), (batch) => {
    for (let i = 0; i < batch.count; i++, flows++) {
      const k = i * batch.width;
      largest = Math.max(
        largest,
        batch.features[k + FEATURE_INDEX["Fwd Packet Length Max"]],
        batch.features[k + FEATURE_INDEX["Bwd Packet Length Max"]],
      );
    }
  });
  assert.equal(summary.flows, flows);
  assert.ok(flows > 0);
  // No segment longer than a 1,500-byte datagram's payload (no IP options, a 20-byte TCP header).
  assert.ok(largest <= 1460, `largest segment ${largest} bytes`);
  assert.deepEqual(summary.meter.counters().resegmented, { frames: 230, segments: 2499 });
});
