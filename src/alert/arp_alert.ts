/**
 * Alert lines for what the ARP monitor found (src/features/arp_monitor.ts):
 * the same EVE shape as every other alert, proto "ARP", no ports, no
 * Community ID (it is defined for IP flows only), and an `arp` object with
 * the MAC addresses involved.
 */
import type { ArpFinding } from "../features/mod.ts";
import { ARP_SWEEP_TARGETS } from "../features/mod.ts";
import type { Alert } from "./schema.ts";
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

/** The alert line of `finding`; `windowMicros` is the alert window the line's `window` is cut on. */
export function arpAlert(
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
    src_ip: sweep ? finding.senderIp : finding.claimedIp,
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
