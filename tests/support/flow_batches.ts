/** Hand-made flow batches for the alert and detector tests. */
import {
  CONN_STATES,
  type ConnState,
  createFlowBatch,
  type FlowBatch,
} from "../../src/features/mod.ts";

/** One flow to append with `addFlow`. */
export interface TestFlow {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** 6 TCP (default), 17 UDP, 1 ICMP. */
  protocol?: number;
  startMicros: number;
  endMicros: number;
  state?: ConnState;
  fwdPackets: number;
  bwdPackets: number;
  /** Feature values by column index. */
  features?: Record<number, number>;
  /** An interim row of a flow still open (default: the flow ended). */
  interim?: boolean;
  /** Rows of this flow before this one (default 0: its first row). */
  exportSeq?: number;
  /** Logins the service said failed and succeeded in this row (FlowBatch.logins), default none. */
  loginsFailed?: number;
  loginsOk?: number;
}

function ipv4Mapped(ip: string, out: Uint8Array, offset: number): void {
  out.fill(0, offset, offset + 16);
  out[offset + 10] = 0xff;
  out[offset + 11] = 0xff;
  ip.split(".").forEach((part, k) => (out[offset + 12 + k] = Number(part)));
}

/** An empty batch with room for `capacity` flows of `width` features. */
export function emptyBatch(capacity: number, width: number): FlowBatch {
  return createFlowBatch(capacity, width);
}

/** Appends an IPv4 flow to `batch`. */
export function addFlow(batch: FlowBatch, f: TestFlow): void {
  const i = batch.count++;
  ipv4Mapped(f.src, batch.srcAddr, i * 16);
  ipv4Mapped(f.dst, batch.dstAddr, i * 16);
  batch.srcPort[i] = f.srcPort;
  batch.dstPort[i] = f.dstPort;
  batch.protocol[i] = f.protocol ?? 6;
  batch.ipVersion[i] = 4;
  batch.vlan[i] = 0;
  batch.startMicros[i] = f.startMicros;
  batch.endMicros[i] = f.endMicros;
  batch.connState[i] = CONN_STATES.indexOf(f.state ?? "SF");
  batch.endReason[i] = 0;
  batch.interim[i] = f.interim ? 1 : 0;
  batch.exportSeq[i] = f.exportSeq ?? 0;
  batch.logins[i] = (f.loginsFailed ?? 0) | ((f.loginsOk ?? 0) << 4);
  batch.fwdPackets[i] = f.fwdPackets;
  batch.bwdPackets[i] = f.bwdPackets;
  batch.features.fill(0, i * batch.width, (i + 1) * batch.width);
  for (const [c, v] of Object.entries(f.features ?? {})) {
    batch.features[i * batch.width + Number(c)] = v;
  }
}
