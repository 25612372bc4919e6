/**
 * Alert lines for what the meter's packet monitors found: ARP sweeps and
 * spoofing (src/features/arp_monitor.ts; proto "ARP", no ports, no
 * Community ID, which is defined for IP flows only, and an `arp` object
 * with the MAC addresses involved) and IP anomalies (land attacks, bad
 * fragments: src/features/ip_anomalies.ts; an `ip_anomaly` object). The
 * same EVE shape as every other alert.
 */
import type { ArpFinding, IpAnomalyFinding, PacketFinding } from "../features/mod.ts";
import { ARP_SWEEP_TARGETS, PROTOCOL_SCAN_PROTOCOLS } from "../features/mod.ts";
import { type Alert, protocolName } from "./schema.ts";
import type { SuppressedLines } from "./volume.ts";

/** Plain-words names, classes and severities of ARP findings. */
export const ARP_NAMES = {
  sweep: { name: "ARP sweep (host discovery)", class: "arp-sweep", severity: 3 },
  claimConflict: {
    name: "ARP spoofing (IP claimed by a second MAC)",
    class: "arp-spoofing",
    severity: 1,
  },
  unsolicited: { name: "ARP spoofing (unsolicited reply)", class: "arp-spoofing", severity: 2 },
} as const;

const iso = (micros: number) => new Date(micros / 1000).toISOString();
const round = (value: number) => Math.round(value * 1000) / 1000;

/** Plain-words names and severities of IP anomalies (classes are their kinds). */
export const IP_ANOMALY_NAMES = {
  "land": { name: "land attack (SYN to itself)", severity: 2 },
  "fragment-overrun": { name: "ping of death (fragment past 65,535 bytes)", severity: 2 },
  "fragment-overlap": { name: "teardrop (overlapping IP fragments)", severity: 2 },
  "protocol-scan": { name: "IP protocol scan", severity: 2 },
} as const;

/** The alert line of a packet monitor's finding; `windowMicros` is the window its `window` is cut on. */
export function packetFindingAlert(
  finding: PacketFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  return finding.kind === "arp-sweep" || finding.kind === "arp-spoof"
    ? arpAlert(finding, windowMicros, suppressed)
    : ipAnomalyAlert(finding, windowMicros, suppressed);
}

/** The alert window of a finding at `micros`. */
function windowOf(micros: number, windowMicros: number) {
  const start = Math.floor(micros / windowMicros) * windowMicros;
  return { start: iso(start), end: iso(start + windowMicros), seconds: windowMicros / 1e6 };
}

function ipAnomalyAlert(
  finding: IpAnomalyFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  const named = IP_ANOMALY_NAMES[finding.kind];
  const at = iso(finding.atMicros);
  return {
    timestamp: at,
    event_type: "alert",
    src_ip: finding.srcIp,
    src_port: finding.srcPort,
    dest_ip: finding.dstIp,
    dest_port: finding.dstPort,
    // A protocol scan is over protocols: its line is about IP, not the last one tried.
    proto: finding.kind === "protocol-scan" ? "IP" : protocolName(finding.protocol),
    ...(finding.vlan ? { vlan: [finding.vlan] } : {}),
    community_id: "",
    flow: {
      pkts_toserver: 1,
      pkts_toclient: 0,
      bytes_toserver: 0,
      bytes_toclient: 0,
      start: at,
      end: at,
      state: "OTH",
    },
    ip_anomaly: {
      kind: finding.kind,
      ...(finding.kind === "protocol-scan" ? { protocols: finding.protocols } : {}),
      ...(finding.kind === "land" || finding.kind === "protocol-scan" ? {} : {
        ip_id: finding.ipId,
        fragment_start: finding.fragmentStart,
        fragment_end: finding.fragmentEnd,
      }),
    },
    alert: {
      verdict: "known",
      class: finding.kind,
      name: named.name,
      score: finding.kind === "protocol-scan" ? finding.protocols : 1,
      threshold: finding.kind === "protocol-scan" ? PROTOCOL_SCAN_PROTOCOLS : 1,
      model: "ip-anomaly-monitor",
      severity: named.severity,
      top_features: [],
      count: 1,
      window: windowOf(finding.atMicros, windowMicros),
      distinct_dest_ports: 0,
      targets: 1,
      packets: 1,
      evidence: {
        behaviour: finding.kind,
        rate_pps: 0,
        half_open: 0,
        rejected: 0,
        error_replies: 0,
        model_flagged: 0,
      },
      ...(suppressed ? { suppressed } : {}),
    },
  };
}

function arpAlert(
  finding: ArpFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  const sweep = finding.kind === "arp-sweep";
  const first = sweep ? finding.firstMicros : finding.atMicros;
  const last = sweep ? finding.lastMicros : finding.atMicros;
  const windowStart = Math.floor(first / windowMicros) * windowMicros;
  const windowEnd = Math.max(
    windowStart + windowMicros,
    Math.ceil(last / windowMicros) * windowMicros,
  );
  const named = sweep
    ? ARP_NAMES.sweep
    : finding.previousMac !== null
    ? ARP_NAMES.claimConflict
    : ARP_NAMES.unsolicited;
  const packets = sweep ? finding.requests : 1;
  const spanSeconds = (last - first) / 1e6;
  return {
    timestamp: iso(finding.atMicros),
    event_type: "alert",
    // Spoofing: the claimant's own address when it has shown one, else the address it claims.
    src_ip: sweep ? finding.senderIp : finding.senderIp ?? finding.claimedIp,
    src_port: 0,
    dest_ip: sweep ? finding.firstTarget : finding.targetIp,
    dest_port: 0,
    proto: "ARP",
    ...(finding.vlan ? { vlan: [finding.vlan] } : {}),
    community_id: "",
    flow: {
      pkts_toserver: packets,
      pkts_toclient: 0,
      bytes_toserver: sweep ? finding.bytes : 0,
      bytes_toclient: 0,
      start: iso(first),
      end: iso(last),
      state: "ARP",
    },
    arp: sweep ? { sender_mac: finding.senderMac } : {
      sender_mac: finding.senderMac,
      target_mac: finding.targetMac,
      claimed_ip: finding.claimedIp,
      ...(finding.claimedMac !== null ? { claimed_mac: finding.claimedMac } : {}),
      ...(finding.previousMac !== null ? { previous_mac: finding.previousMac } : {}),
    },
    alert: {
      verdict: "known",
      class: named.class,
      name: named.name,
      score: sweep ? finding.targets : 1,
      threshold: sweep ? ARP_SWEEP_TARGETS : 1,
      model: "arp-monitor",
      severity: named.severity,
      top_features: [],
      count: packets,
      window: {
        start: iso(windowStart),
        end: iso(windowEnd),
        seconds: (windowEnd - windowStart) / 1e6,
      },
      distinct_dest_ports: 0,
      ...(sweep ? { stage: finding.stage } : {}),
      targets: sweep ? finding.targets : 1,
      packets,
      evidence: {
        behaviour: finding.kind,
        rate_pps: spanSeconds > 0 ? round(packets / spanSeconds) : 0,
        half_open: 0,
        rejected: 0,
        error_replies: 0,
        model_flagged: 0,
      },
      ...(suppressed ? { suppressed } : {}),
    },
  };
}
