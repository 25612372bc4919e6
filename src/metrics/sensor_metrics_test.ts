import assert from "node:assert/strict";
import { SensorMetrics } from "./sensor_metrics.ts";
import { numberedAlert as sampleAlert } from "../../tests/support/sample_alert.ts";
import { createPacketBatch } from "../capture/mod.ts";
import { promtoolCheck, promtoolMissing } from "../../tests/support/loopback.ts";

const promtoolReason = promtoolMissing();
if (promtoolReason) console.log(`skipping the promtool check: ${promtoolReason}`);

Deno.test("sensor metrics: alerts by class and severity, bytes, histograms, handler", async () => {
  const metrics = new SensorMetrics({
    notify: () => [{
      target: "http://127.0.0.1:1",
      kind: "webhook",
      sent: 2,
      failures: 5,
      rejected: 0,
      belowSeverity: 0,
      heldBack: 1,
      digests: 1,
      queued: 0,
      spooled: 3,
      spoolSize: 3,
      spoolDropped: 0,
      down: true,
    }],
  });
  const sink = metrics.alertSink();
  await sink.write([sampleAlert(1, 1), sampleAlert(2, 1), sampleAlert(3, 3)]);
  metrics.observeBatch(100, 12);
  const batch = createPacketBatch(4, 64);
  batch.count = 3;
  batch.wireLength.set([60, 1500, 40]);
  async function* one() {
    yield batch;
  }
  for await (const _ of metrics.countBytes(one())) { /* counted on the way */ }
  // Capture workers that meter their own packets count their bytes themselves.
  metrics.addByteCount(() => 400);
  metrics.setModel("models/default");
  const handler = metrics.handler();
  const response = handler(new Request("http://x/metrics"));
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  assert.match(text, /^ids_sensor_alerts_total\{class="syn-scan",severity="1"\} 2$/m);
  assert.match(text, /^ids_sensor_alerts_total\{class="syn-scan",severity="3"\} 1$/m);
  assert.match(text, /^ids_sensor_bytes_total 2000$/m);
  assert.match(text, /^ids_sensor_inference_batch_flows_count 1$/m);
  assert.match(text, /^ids_sensor_inference_latency_seconds_sum 0\.012$/m);
  assert.match(
    text,
    /^ids_sensor_notify_spool_messages\{target="http:\/\/127\.0\.0\.1:1",kind="webhook"\} 3$/m,
  );
  assert.match(text, /^ids_sensor_notify_target_up\{[^}]*\} 0$/m);
  assert.equal(handler(new Request("http://x/other")).status, 404);
  assert.equal(handler(new Request("http://x/metrics", { method: "POST" })).status, 405);
  if (!promtoolReason) {
    const lint = await promtoolCheck(text);
    assert.equal(lint.code, 0, lint.said);
    assert.equal(lint.said.trim(), "", lint.said);
  }
});
