// The `flows` CSV written as bytes (writeFlowCsv) against the text the
// cell-by-cell formatter makes (String / formatFeature / join), on real captures.
import assert from "node:assert/strict";
import { readCaptureFile } from "../src/capture/mod.ts";
import {
  AsciiBytes,
  type FlowBatch,
  flowCsvLines,
  flowRecordAt,
  formatFeature,
  meterFlows,
  writeFlowCsv,
} from "../src/features/mod.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

function referenceCsv(batch: FlowBatch): string {
  let text = "";
  for (let i = 0; i < batch.count; i++) {
    const r = flowRecordAt(batch, i);
    const cells = [
      `${r.srcIp}-${r.dstIp}-${r.srcPort}-${r.dstPort}-${r.protocol}`,
      r.srcIp,
      String(r.srcPort),
      r.dstIp,
      String(r.dstPort),
      String(r.protocol),
      new Date(r.startMicros / 1000).toISOString(),
    ];
    for (let k = 0; k < batch.width; k++) {
      cells.push(formatFeature(batch.features[i * batch.width + k]));
    }
    cells.push(r.communityId, r.connState, String(r.vlan), r.endReason);
    text += cells.join(",") + "\n";
  }
  return text;
}

Deno.test("flows csv: bytes equal the cell-by-cell text on the range fixtures (IPv4, IPv6, every feature)", async () => {
  const decoder = new TextDecoder();
  const out = new AsciiBytes(16);
  let flows = 0, fractions = 0;
  for (const name of ["lab/mixed", "lab-wide/benign", "lab/syn-flood", "lab/udp-scan"]) {
    for await (const batch of meterFlows(readCaptureFile(`${FIXTURES}${name}/capture.pcap`))) {
      out.clear();
      writeFlowCsv(batch, out);
      const expected = referenceCsv(batch);
      assert.equal(decoder.decode(out.view()), expected, name);
      assert.equal(flowCsvLines(batch), expected, name);
      flows += batch.count;
      for (const v of batch.features) if (!Number.isInteger(v)) fractions++;
    }
  }
  assert(flows > 1000, `only ${flows} flows metered`);
  assert(fractions > 1000, "the fixtures exercise fractional features too");
});
