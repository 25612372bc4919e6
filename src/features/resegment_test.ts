import assert from "node:assert/strict";
import {
  DETECTION_METER_DEFAULTS,
  FEATURE_INDEX,
  FlowMeter,
  type FlowMeterOptions,
} from "./mod.ts";
import {
  ACK,
  batchOf,
  FIN,
  PSH,
  SYN,
  tcp4,
  type TestPacket,
} from "../../tests/support/flow_packets.ts";

/** A connection whose server sends 10,000 bytes in one offload frame (TSO/GRO), then closes. */
function offloadConnection(): TestPacket[] {
  let t = 1.7e15;
  return [
    { ts: t += 100, data: tcp4(1, 2, 40000, 80, SYN) },
    { ts: t += 100, data: tcp4(2, 1, 80, 40000, SYN | ACK) },
    { ts: t += 100, data: tcp4(1, 2, 40000, 80, ACK | PSH, 80) },
    // 20 + 20 header bytes + 10,000: a 10,040-byte datagram.
    { ts: t += 100, data: tcp4(2, 1, 80, 40000, ACK | PSH | FIN, 10_000) },
    { ts: t += 100, data: tcp4(1, 2, 40000, 80, ACK | FIN) },
  ];
}

function row(options: FlowMeterOptions) {
  const meter = new FlowMeter({ ...options, interimExportSeconds: 0 });
  meter.push(batchOf(offloadConnection()));
  meter.flush();
  const batches = meter.drain();
  assert.equal(batches.length, 1);
  const b = batches[0], k = (name: string) => b.features[FEATURE_INDEX[name]];
  return {
    bwdPackets: k("Total Backward Packets"),
    bwdBytes: k("Total Length of Bwd Packets"),
    bwdMax: k("Bwd Packet Length Max"),
    bwdMin: k("Bwd Packet Length Min"),
    psh: k("PSH Flag Count"),
    fin: k("FIN Flag Count"),
    resegmented: meter.counters().resegmented,
  };
}

Deno.test("resegmenting: a 10,000-byte offload frame is metered as a 1,500-byte wire's 7 segments, FIN and PSH on the last", () => {
  assert.deepEqual(row({ resegmentAboveBytes: 1500 }), {
    bwdPackets: 8, // the SYN-ACK, 6 full segments of 1,460 bytes, the last 1,240
    bwdBytes: 10_000,
    bwdMax: 1460,
    bwdMin: 0,
    psh: 2,
    fin: 2,
    resegmented: { frames: 1, segments: 7 },
  });
  // The detecting sensor does it (and labelled rows: LABELLED_METER_DEFAULTS); `flows` meters the
  // frame as captured, as CICFlowMeter does.
  assert.equal(DETECTION_METER_DEFAULTS.resegmentAboveBytes, 1500);
  assert.deepEqual(row({}), {
    bwdPackets: 2,
    bwdBytes: 10_000,
    bwdMax: 10_000,
    bwdMin: 0,
    psh: 2,
    fin: 2,
    resegmented: undefined,
  });
  assert.throws(() => new FlowMeter({ resegmentAboveBytes: 100 }), /at least 576/);
});

Deno.test("resegmenting: a short frame whose IP header claims 10,040 bytes is one packet, not seven", () => {
  let t = 1.7e15;
  const forged = tcp4(2, 1, 80, 40000, ACK | PSH, 60);
  // IPv4 total length (after the 14-byte Ethernet header): 10,040, on a 114-byte frame.
  forged[16] = 10_040 >> 8;
  forged[17] = 10_040 & 0xff;
  const meter = new FlowMeter({ resegmentAboveBytes: 1500, interimExportSeconds: 0 });
  meter.push(batchOf([{ ts: t += 100, data: forged }]));
  meter.flush();
  const b = meter.drain()[0];
  assert.equal(b.features[FEATURE_INDEX["Total Fwd Packets"]], 1);
  assert.deepEqual(meter.counters().resegmented, { frames: 0, segments: 0 });
});
