/**
 * Packet evidence: a bounded ring of the recent raw packets (copied batch by
 * batch) from which the packets of an alerted flow group are written as a
 * pcap when it alerts.
 */
export {
  type EvidenceLimits,
  type EvidencePcap,
  type EvidenceRequest,
  PacketRing,
  type PacketRingOptions,
  type PacketRingStats,
} from "./packet_ring.ts";
