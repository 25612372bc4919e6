/**
 * Copies of flow batches, for whoever keeps a batch past the meter's next
 * one (the detector's in-flight batches, capture workers posting their rows).
 */
import type { FlowBatch } from "../features/mod.ts";

/** Copies the valid part of a batch (bulk copies) so the flow meter may reuse its buffers. */
export function snapshotFlowBatch(b: FlowBatch): FlowBatch {
  const n = b.count;
  return {
    count: n,
    width: b.width,
    features: b.features.slice(0, n * b.width),
    srcAddr: b.srcAddr.slice(0, n * 16),
    dstAddr: b.dstAddr.slice(0, n * 16),
    srcPort: b.srcPort.slice(0, n),
    dstPort: b.dstPort.slice(0, n),
    protocol: b.protocol.slice(0, n),
    ipVersion: b.ipVersion.slice(0, n),
    vlan: b.vlan.slice(0, n),
    startMicros: b.startMicros.slice(0, n),
    endMicros: b.endMicros.slice(0, n),
    connState: b.connState.slice(0, n),
    endReason: b.endReason.slice(0, n),
    fwdPackets: b.fwdPackets.slice(0, n),
    bwdPackets: b.bwdPackets.slice(0, n),
    interim: b.interim.slice(0, n),
    exportSeq: b.exportSeq.slice(0, n),
  };
}
