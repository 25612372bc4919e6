/**
 * Alert lines for what the meter's packet monitors found: ARP sweeps and
 * spoofing (src/features/arp_monitor.ts; proto "ARP", no ports, no
 * Community ID, which is defined for IP flows only, and an `arp` object
 * with the MAC addresses involved), IPv6 neighbour discovery (sweeps,
 * spoofed advertisements, rogue routers: src/features/nd_monitor.ts; proto
 * "IPv6-ICMP", ports the ICMPv6 type and its counterpart, no Community ID,
 * as the message is no flow of its own, and an `nd` object), DHCP
 * (starvation, rogue servers: src/features/dhcp_monitor.ts; proto "UDP"
 * between ports 67 and 68, a `dhcp` object), DNS tunnels
 * (src/features/dns_monitor.ts; the client's query to port 53, a `dns`
 * object with the domain), spoofed DNS answers
 * (src/features/dns_spoof_monitor.ts; a `dns_spoof` object with both
 * answers), HTTP path scans (src/features/http_monitor.ts;
 * the client's requests to the web server, an `http` object), ICMP tunnels
 * (src/features/icmp_monitor.ts; an `icmp` object), MAC floods
 * (src/features/mac_flood_monitor.ts; proto "ETH", no addresses of its own,
 * a `link` object) and IP
 * anomalies (land attacks, bad fragments:
 * src/features/ip_anomalies.ts; an `ip_anomaly` object). The same EVE
 * shape as every other alert.
 */
import type {
  ArpFinding,
  DhcpFinding,
  DnsFinding,
  DnsSpoofFinding,
  HttpFinding,
  IcmpFinding,
  IpAnomalyFinding,
  MacFloodFinding,
  NdFinding,
  PacketFinding,
} from "../features/mod.ts";
import {
  ARP_SWEEP_TARGETS,
  DHCP_STARVATION_CLIENTS,
  DNS_TUNNEL_NAMES,
  HTTP_FLOOD_RATE,
  HTTP_SCAN_TARGETS,
  ICMP_TUNNEL_BYTES,
  MAC_FLOOD_SOURCES,
  ND_SWEEP_TARGETS,
  PROTOCOL_SCAN_PROTOCOLS,
} from "../features/mod.ts";
import { type Alert, protocolName } from "./schema.ts";
import type { SuppressedLines } from "./volume.ts";
import { alertWindow, isoTime, round } from "./line_fields.ts";

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

/** Plain-words names, classes and severities of ND findings. */
export const ND_NAMES = {
  sweep: { name: "IPv6 ND sweep (host discovery)", class: "nd-sweep", severity: 3 },
  claimConflict: {
    name: "IPv6 ND spoofing (address claimed by a second MAC)",
    class: "nd-spoofing",
    severity: 1,
  },
  newRouter: {
    name: "IPv6 rogue router advertisement (new router)",
    class: "nd-rogue-router",
    severity: 2,
  },
  forgedRouter: {
    name: "IPv6 router advertisement forged (in a known router's name)",
    class: "nd-rogue-router",
    severity: 1,
  },
  killRouter: {
    name: "IPv6 router kill (lifetime 0 in a known router's name)",
    class: "nd-rogue-router",
    severity: 1,
  },
} as const;

/** Plain-words names, classes and severities of DHCP findings. */
export const DHCP_NAMES = {
  starvation: { name: "DHCP starvation (lease exhaustion)", class: "dhcp-starvation", severity: 2 },
  rogueServer: {
    name: "DHCP rogue server (another router, subnet or DNS than the link's server)",
    class: "dhcp-rogue-server",
    severity: 1,
  },
} as const;

/** Plain-words names and severities of the single-kind monitors' findings (classes are their kinds). */
export const MONITOR_NAMES = {
  "dns-tunnel": { name: "DNS tunnel (data in query names)", severity: 2 },
  "dns-spoof": { name: "DNS spoofing (two different answers to one query)", severity: 1 },
  "http-scan": { name: "HTTP path scan (many paths not found)", severity: 2 },
  "http-keepalive-flood": { name: "HTTP flood (keep-alive requests)", severity: 1 },
  "icmp-tunnel": { name: "ICMP tunnel (data in echo payloads)", severity: 2 },
  "mac-flood": { name: "MAC flooding (switch address table overflow)", severity: 2 },
} as const;

/** Plain-words names and severities of IP anomalies (classes are their kinds). */
export const IP_ANOMALY_NAMES = {
  "land": { name: "land attack (SYN to itself)", severity: 2 },
  "fragment-overrun": { name: "ping of death (fragment past 65,535 bytes)", severity: 2 },
  "fragment-overlap": { name: "teardrop (overlapping IP fragments)", severity: 2 },
  "tiny-fragment": { name: "tiny IP fragments (TCP header split across fragments)", severity: 2 },
  "protocol-scan": { name: "IP protocol scan", severity: 2 },
  "syn-fin-rst": { name: "TCP SYN with FIN or RST (OS fingerprinting)", severity: 2 },
} as const;

/** The alert line of a packet monitor's finding; `windowMicros` is the window its `window` is cut on. */
export function packetFindingAlert(
  finding: PacketFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  switch (finding.kind) {
    case "arp-sweep":
    case "arp-spoof":
      return arpAlert(finding, windowMicros, suppressed);
    case "nd-sweep":
    case "nd-spoof":
    case "nd-rogue-router":
      return ndAlert(finding, windowMicros, suppressed);
    case "dhcp-starvation":
    case "dhcp-rogue-server":
      return dhcpAlert(finding, windowMicros, suppressed);
    case "dns-tunnel":
      return dnsAlert(finding, windowMicros, suppressed);
    case "dns-spoof":
      return dnsSpoofAlert(finding, windowMicros, suppressed);
    case "http-scan":
    case "http-keepalive-flood":
      return httpAlert(finding, windowMicros, suppressed);
    case "icmp-tunnel":
      return icmpAlert(finding, windowMicros, suppressed);
    case "mac-flood":
      return macFloodAlert(finding, windowMicros, suppressed);
    default:
      return ipAnomalyAlert(finding, windowMicros, suppressed);
  }
}

/** What a packet monitor's line says; the rest of the line is the same for all of them. */
interface PacketLine {
  atMicros: number;
  firstMicros: number;
  lastMicros: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  proto: string;
  vlan: number;
  packets: number;
  bytes: number;
  state: string;
  /** The monitor's own object (`arp`, `nd`, `dhcp`, `ip_anomaly`), after `flow`. */
  detail: Pick<
    Alert,
    "arp" | "nd" | "dhcp" | "dns" | "dns_spoof" | "http" | "icmp" | "link" | "ip_anomaly"
  >;
  className: string;
  name: string;
  score: number;
  threshold: number;
  model: string;
  severity: number;
  stage?: "first" | "final";
  targets: number;
  behaviour: string;
}

/** A packet monitor's alert line: verdict known, no ports' fan-out, no model evidence, no Community ID. */
function packetLine(
  l: PacketLine,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  const spanSeconds = (l.lastMicros - l.firstMicros) / 1e6;
  return {
    timestamp: isoTime(l.atMicros),
    event_type: "alert",
    src_ip: l.srcIp,
    src_port: l.srcPort,
    dest_ip: l.dstIp,
    dest_port: l.dstPort,
    proto: l.proto,
    ...(l.vlan ? { vlan: [l.vlan] } : {}),
    // Community ID is defined for IP flows only.
    community_id: "",
    flow: {
      pkts_toserver: l.packets,
      pkts_toclient: 0,
      bytes_toserver: l.bytes,
      bytes_toclient: 0,
      start: isoTime(l.firstMicros),
      end: isoTime(l.lastMicros),
      state: l.state,
    },
    ...l.detail,
    alert: {
      verdict: "known",
      class: l.className,
      name: l.name,
      score: l.score,
      threshold: l.threshold,
      model: l.model,
      severity: l.severity,
      top_features: [],
      count: l.packets,
      window: alertWindow(l.firstMicros, l.lastMicros, windowMicros),
      distinct_dest_ports: 0,
      ...(l.stage ? { stage: l.stage } : {}),
      targets: l.targets,
      packets: l.packets,
      evidence: {
        behaviour: l.behaviour,
        rate_pps: spanSeconds > 0 ? round(l.packets / spanSeconds) : 0,
        half_open: 0,
        rejected: 0,
        error_replies: 0,
        model_flagged: 0,
      },
      ...(suppressed ? { suppressed } : {}),
    },
  };
}

function ipAnomalyAlert(
  finding: IpAnomalyFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  const named = IP_ANOMALY_NAMES[finding.kind];
  const scan = finding.kind === "protocol-scan";
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.atMicros,
      lastMicros: finding.atMicros,
      srcIp: finding.srcIp,
      srcPort: finding.srcPort,
      dstIp: finding.dstIp,
      dstPort: finding.dstPort,
      // A protocol scan is over protocols: its line is about IP, not the last one tried.
      proto: scan ? "IP" : protocolName(finding.protocol),
      vlan: finding.vlan,
      packets: 1,
      bytes: 0,
      state: "OTH",
      detail: {
        ip_anomaly: {
          kind: finding.kind,
          ...(scan ? { protocols: finding.protocols } : {}),
          ...(finding.kind === "land" || scan ? {} : {
            ip_id: finding.ipId,
            fragment_start: finding.fragmentStart,
            fragment_end: finding.fragmentEnd,
          }),
        },
      },
      className: finding.kind,
      name: named.name,
      score: scan ? finding.protocols : 1,
      threshold: scan ? PROTOCOL_SCAN_PROTOCOLS : 1,
      model: "ip-anomaly-monitor",
      severity: named.severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function arpAlert(
  finding: ArpFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  if (finding.kind === "arp-sweep") {
    return packetLine(
      {
        atMicros: finding.atMicros,
        firstMicros: finding.firstMicros,
        lastMicros: finding.lastMicros,
        srcIp: finding.senderIp,
        srcPort: 0,
        dstIp: finding.firstTarget,
        dstPort: 0,
        proto: "ARP",
        vlan: finding.vlan,
        packets: finding.requests,
        bytes: finding.bytes,
        state: "ARP",
        detail: { arp: { sender_mac: finding.senderMac } },
        className: ARP_NAMES.sweep.class,
        name: ARP_NAMES.sweep.name,
        score: finding.targets,
        threshold: ARP_SWEEP_TARGETS,
        model: "arp-monitor",
        severity: ARP_NAMES.sweep.severity,
        stage: finding.stage,
        targets: finding.targets,
        behaviour: finding.kind,
      },
      windowMicros,
      suppressed,
    );
  }
  const named = finding.previousMac !== null ? ARP_NAMES.claimConflict : ARP_NAMES.unsolicited;
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.atMicros,
      lastMicros: finding.atMicros,
      // The claimant's own address when it has shown one, else the address it claims.
      srcIp: finding.senderIp ?? finding.claimedIp,
      srcPort: 0,
      dstIp: finding.targetIp,
      dstPort: 0,
      proto: "ARP",
      vlan: finding.vlan,
      packets: 1,
      bytes: 0,
      state: "ARP",
      detail: {
        arp: {
          sender_mac: finding.senderMac,
          target_mac: finding.targetMac,
          claimed_ip: finding.claimedIp,
          ...(finding.claimedMac !== null ? { claimed_mac: finding.claimedMac } : {}),
          ...(finding.previousMac !== null ? { previous_mac: finding.previousMac } : {}),
        },
      },
      className: named.class,
      name: named.name,
      score: 1,
      threshold: 1,
      model: "arp-monitor",
      severity: named.severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function ndAlert(
  finding: NdFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  if (finding.kind === "nd-sweep") {
    return packetLine(
      {
        atMicros: finding.atMicros,
        firstMicros: finding.firstMicros,
        lastMicros: finding.lastMicros,
        srcIp: finding.senderIp,
        srcPort: 135,
        dstIp: finding.firstTarget,
        dstPort: 136,
        proto: "IPv6-ICMP",
        vlan: finding.vlan,
        packets: finding.solicitations,
        bytes: finding.bytes,
        state: "OTH",
        detail: { nd: { sender_mac: finding.senderMac } },
        className: ND_NAMES.sweep.class,
        name: ND_NAMES.sweep.name,
        score: finding.targets,
        threshold: ND_SWEEP_TARGETS,
        model: "nd-monitor",
        severity: ND_NAMES.sweep.severity,
        stage: finding.stage,
        targets: finding.targets,
        behaviour: finding.kind,
      },
      windowMicros,
      suppressed,
    );
  }
  if (finding.kind === "nd-spoof") {
    return packetLine(
      {
        atMicros: finding.atMicros,
        firstMicros: finding.atMicros,
        lastMicros: finding.atMicros,
        // The claimant's own address when it has shown one, else the address it claims.
        srcIp: finding.senderIp ?? finding.claimedIp,
        srcPort: 136,
        dstIp: finding.targetIp,
        dstPort: 135,
        proto: "IPv6-ICMP",
        vlan: finding.vlan,
        packets: 1,
        bytes: 0,
        state: "OTH",
        detail: {
          nd: {
            sender_mac: finding.senderMac,
            claimed_ip: finding.claimedIp,
            ...(finding.claimedMac !== null ? { claimed_mac: finding.claimedMac } : {}),
            previous_mac: finding.previousMac,
          },
        },
        className: ND_NAMES.claimConflict.class,
        name: ND_NAMES.claimConflict.name,
        score: 1,
        threshold: 1,
        model: "nd-monitor",
        severity: ND_NAMES.claimConflict.severity,
        targets: 1,
        behaviour: finding.kind,
      },
      windowMicros,
      suppressed,
    );
  }
  const named = finding.check === "new"
    ? ND_NAMES.newRouter
    : finding.routerLifetime === 0
    ? ND_NAMES.killRouter
    : ND_NAMES.forgedRouter;
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.atMicros,
      lastMicros: finding.atMicros,
      srcIp: finding.routerIp,
      srcPort: 134,
      // Router advertisements go to all nodes.
      dstIp: "ff02::1",
      dstPort: 133,
      proto: "IPv6-ICMP",
      vlan: finding.vlan,
      packets: 1,
      bytes: 0,
      state: "OTH",
      detail: {
        nd: {
          sender_mac: finding.senderMac,
          router_lifetime: finding.routerLifetime,
          router_check: finding.check,
          ...(finding.previousMac !== null ? { previous_mac: finding.previousMac } : {}),
        },
      },
      className: named.class,
      name: named.name,
      score: 1,
      threshold: 1,
      model: "nd-monitor",
      severity: named.severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function dhcpAlert(
  finding: DhcpFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  if (finding.kind === "dhcp-starvation") {
    return packetLine(
      {
        atMicros: finding.atMicros,
        firstMicros: finding.firstMicros,
        lastMicros: finding.lastMicros,
        // Clients asking have no address yet: 0.0.0.0 to the broadcast, or the relay to its server.
        srcIp: finding.relay ?? "0.0.0.0",
        srcPort: finding.relay === null ? 68 : 67,
        dstIp: "255.255.255.255",
        dstPort: 67,
        proto: "UDP",
        vlan: finding.vlan,
        packets: finding.requests,
        bytes: finding.bytes,
        state: "OTH",
        detail: {
          dhcp: {
            client_mac: finding.clientMac,
            clients: finding.clients,
            ...(finding.relay !== null ? { relay: finding.relay } : {}),
          },
        },
        className: DHCP_NAMES.starvation.class,
        name: DHCP_NAMES.starvation.name,
        score: finding.clients,
        threshold: DHCP_STARVATION_CLIENTS,
        model: "dhcp-monitor",
        severity: DHCP_NAMES.starvation.severity,
        stage: finding.stage,
        targets: finding.clients,
        behaviour: finding.kind,
      },
      windowMicros,
      suppressed,
    );
  }
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.atMicros,
      lastMicros: finding.atMicros,
      srcIp: finding.serverIp,
      srcPort: 67,
      dstIp: finding.offeredIp,
      dstPort: 68,
      proto: "UDP",
      vlan: finding.vlan,
      packets: 1,
      bytes: 0,
      state: "OTH",
      detail: {
        dhcp: {
          client_mac: finding.clientMac,
          ...(finding.serverMac !== "" ? { server_mac: finding.serverMac } : {}),
          offered_ip: finding.offeredIp,
          ...(finding.router !== null ? { router: finding.router } : {}),
          ...(finding.subnet !== null ? { subnet: finding.subnet } : {}),
          known_server: finding.knownServerIp,
          ...(finding.knownRouter !== null ? { known_router: finding.knownRouter } : {}),
          ...(finding.knownSubnet !== null ? { known_subnet: finding.knownSubnet } : {}),
          differs: finding.differs,
        },
      },
      className: DHCP_NAMES.rogueServer.class,
      name: DHCP_NAMES.rogueServer.name,
      score: 1,
      threshold: 1,
      model: "dhcp-monitor",
      severity: DHCP_NAMES.rogueServer.severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function dnsAlert(
  finding: DnsFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.firstMicros,
      lastMicros: finding.atMicros,
      srcIp: finding.clientIp,
      srcPort: finding.clientPort,
      dstIp: finding.serverIp,
      dstPort: 53,
      proto: "UDP",
      vlan: finding.vlan,
      packets: finding.queries,
      bytes: 0,
      state: "OTH",
      detail: {
        dns: {
          domain: finding.domain,
          names: finding.names,
          queries: finding.queries,
          subdomain_chars: finding.subdomainChars,
          example: finding.example,
        },
      },
      className: finding.kind,
      name: MONITOR_NAMES["dns-tunnel"].name,
      score: finding.names,
      threshold: DNS_TUNNEL_NAMES,
      model: "dns-monitor",
      severity: MONITOR_NAMES["dns-tunnel"].severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function httpAlert(
  finding: HttpFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  const flood = finding.kind === "http-keepalive-flood";
  // The monitor's rate is over 10 s at least (http_monitor.ts).
  const floodSeconds = Math.max(10, (finding.atMicros - finding.firstMicros) / 1e6);
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.firstMicros,
      lastMicros: finding.atMicros,
      srcIp: finding.clientIp,
      srcPort: finding.clientPort,
      dstIp: finding.serverIp,
      dstPort: finding.serverPort,
      proto: "TCP",
      vlan: finding.vlan,
      packets: finding.requests,
      bytes: 0,
      state: "SF",
      detail: {
        http: {
          requests: finding.requests,
          targets: finding.targets,
          responses: finding.responses,
          client_errors: finding.clientErrors,
          connections: finding.connections,
          example: finding.example,
        },
      },
      className: finding.kind,
      name: MONITOR_NAMES[finding.kind].name,
      // A scan's score is its distinct targets; a flood's its requests a second over the window.
      score: flood ? Math.round(finding.requests / floodSeconds) : finding.targets,
      threshold: flood ? HTTP_FLOOD_RATE : HTTP_SCAN_TARGETS,
      model: "http-monitor",
      severity: MONITOR_NAMES[finding.kind].severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function icmpAlert(
  finding: IcmpFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  const v6 = finding.protocol === 58;
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.firstMicros,
      lastMicros: finding.atMicros,
      srcIp: finding.clientIp,
      srcPort: v6 ? 128 : 8,
      dstIp: finding.serverIp,
      dstPort: v6 ? 129 : 0,
      proto: protocolName(finding.protocol),
      vlan: finding.vlan,
      packets: finding.requests + finding.replies,
      bytes: finding.payloadBytes,
      state: "OTH",
      detail: {
        icmp: {
          requests: finding.requests,
          replies: finding.replies,
          payload_bytes: finding.payloadBytes,
          contents: finding.contents,
        },
      },
      className: finding.kind,
      name: MONITOR_NAMES["icmp-tunnel"].name,
      score: finding.payloadBytes,
      threshold: ICMP_TUNNEL_BYTES,
      model: "icmp-monitor",
      severity: MONITOR_NAMES["icmp-tunnel"].severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function macFloodAlert(
  finding: MacFloodFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.firstMicros,
      lastMicros: finding.atMicros,
      // Frames from forged MACs, of any (or no) IP: the line is about the link.
      srcIp: "0.0.0.0",
      srcPort: 0,
      dstIp: "255.255.255.255",
      dstPort: 0,
      proto: "ETH",
      vlan: finding.vlan,
      packets: finding.frames,
      bytes: 0,
      state: "OTH",
      detail: {
        link: {
          source_macs: finding.sources,
          frames: finding.frames,
          example_mac: finding.exampleMac,
        },
      },
      className: finding.kind,
      name: MONITOR_NAMES["mac-flood"].name,
      score: finding.sources,
      threshold: MAC_FLOOD_SOURCES,
      model: "mac-flood-monitor",
      severity: MONITOR_NAMES["mac-flood"].severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}

function dnsSpoofAlert(
  finding: DnsSpoofFinding,
  windowMicros: number,
  suppressed: SuppressedLines | null,
): Alert {
  return packetLine(
    {
      atMicros: finding.atMicros,
      firstMicros: finding.firstMicros,
      lastMicros: finding.atMicros,
      // Both answers come from the server's address: the line is the server's answer to the client.
      srcIp: finding.serverIp,
      srcPort: 53,
      dstIp: finding.clientIp,
      dstPort: finding.clientPort,
      proto: "UDP",
      vlan: finding.vlan,
      packets: 2,
      bytes: 0,
      state: "OTH",
      detail: {
        dns_spoof: {
          name: finding.name,
          first_answer: finding.firstAnswer,
          second_answer: finding.secondAnswer,
          first_rcode: finding.firstRcode,
          second_rcode: finding.secondRcode,
          apart_ms: Math.round((finding.atMicros - finding.firstMicros) / 1000),
        },
      },
      className: finding.kind,
      name: MONITOR_NAMES["dns-spoof"].name,
      score: 2,
      threshold: 2,
      model: "dns-spoof-monitor",
      severity: MONITOR_NAMES["dns-spoof"].severity,
      targets: 1,
      behaviour: finding.kind,
    },
    windowMicros,
    suppressed,
  );
}
