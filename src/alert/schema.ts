/**
 * The alert record, in the shape of Suricata's EVE JSON so SIEMs that ingest
 * EVE take it as is. One record stands for every flow of one
 * (source, target, class) within one aggregation window; `alert.count` says
 * how many. docs/alerts.md describes every field.
 */
import { z } from "zod";

/** ISO 8601 timestamp with milliseconds and zone, e.g. `2026-01-02T03:04:05.678Z`. */
const isoTimestamp = z.string().regex(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  "ISO 8601 timestamp",
);

/** A feature that drove the alert, with how far it sits from normal. */
export const TopFeatureSchema = z.object({
  name: z.string(),
  value: z.number(),
  /** Benign mean of the feature (from the bundle's preprocessing spec), when known. */
  baseline: z.number().optional(),
  /** Standardised deviation from the benign mean, when the bundle keeps means and scales. */
  zscore: z.number().optional(),
  /** Autoencoder: this feature's squared reconstruction error (preprocessed units). */
  reconstruction_error: z.number().optional(),
});
export type TopFeature = z.infer<typeof TopFeatureSchema>;

/** Flow totals of the aggregated flows (Suricata's `flow` object). */
export const AlertFlowSchema = z.object({
  pkts_toserver: z.number().int().nonnegative(),
  pkts_toclient: z.number().int().nonnegative(),
  bytes_toserver: z.number().nonnegative(),
  bytes_toclient: z.number().nonnegative(),
  /** First packet of the first flow. */
  start: isoTimestamp,
  /** Last packet of the last flow. */
  end: isoTimestamp,
  /** Zeek connection state of the first flow (S0, SF, REJ, ...). */
  state: z.string(),
});

/** The detection itself. */
export const AlertBodySchema = z.object({
  verdict: z.enum(["known", "unknown"]),
  /** Classifier class name, or "unknown" for an anomaly. */
  class: z.string(),
  /** Plain words: "SYN flood", "port scan", "SSH brute force", ... */
  name: z.string(),
  /** Highest class probability (known) or anomaly score (unknown) in the window. */
  score: z.number(),
  threshold: z.number(),
  /** Model name from the bundle. */
  model: z.string(),
  /** 1 high, 2 medium, 3 low (Suricata's convention). */
  severity: z.number().int().min(1).max(3),
  top_features: z.array(TopFeatureSchema),
  /**
   * Bundles whose anomaly model is an ensemble of model families (`train
   * --models`): the members that voted on the group's highest-scoring flow.
   */
  voters: z.array(z.string()).optional(),
  /** Flows aggregated into this alert. */
  count: z.number().int().positive(),
  /** The aggregation window. */
  window: z.object({ start: isoTimestamp, end: isoTimestamp, seconds: z.number().positive() }),
  /** Distinct destination ports the source touched on this target in the window. */
  distinct_dest_ports: z.number().int().nonnegative(),
  /**
   * Unknown verdicts of the open-set class gate: the known class the classifier
   * claimed, which the flows resemble but are too far from to be (then `score`
   * is the distance to that class's profile and `threshold` its gate threshold).
   */
  nearest_class: z.string().optional(),
  /**
   * "first": the group's evidence just became enough (written at once);
   * "final": the evidence window closed with more flows than the first line said.
   */
  stage: z.enum(["first", "final"]).optional(),
  /** Distinct sources of the evidence (floods: estimated with a HyperLogLog sketch). */
  sources: z.number().int().nonnegative().optional(),
  /** Distinct targets of the evidence (sweeps, scans of several hosts). */
  targets: z.number().int().nonnegative().optional(),
  /** Packets of the evidence flows. */
  packets: z.number().int().nonnegative().optional(),
  /** What the host-level evidence counted. */
  evidence: z.object({
    /** scan, stealth-scan, sweep, syn-flood, tcp-ack-flood, tcp-rst-flood, tcp-fin-flood, udp-flood, icmp-flood, reflection, amplification, brute-force, slow-dos, slow-read, connection-flood, model; arp-sweep, arp-spoof, nd-sweep, nd-spoof, nd-rogue-router, dhcp-starvation, dhcp-rogue-server, dns-tunnel, dns-spoof, http-scan, http-keepalive-flood, icmp-tunnel, mac-flood and the IP anomalies for the packet monitors' lines. */
    behaviour: z.string(),
    /** Evidence packets (floods) or flows per second over the evidence span. */
    rate_pps: z.number().nonnegative(),
    /** TCP attempts never answered (S0, RSTOS0, SH). */
    half_open: z.number().int().nonnegative(),
    /** TCP attempts refused (REJ). */
    rejected: z.number().int().nonnegative(),
    /** ICMP errors (port unreachable) the targets sent back: counted here, never as their own alerts. */
    error_replies: z.number().int().nonnegative(),
    /** Flows of the evidence the model flagged (known or unknown). */
    model_flagged: z.number().int().nonnegative(),
    /** Brute force on a cleartext login service: the logins it said failed and succeeded. */
    login_failures: z.number().int().nonnegative().optional(),
    login_successes: z.number().int().nonnegative().optional(),
  }).optional(),
  /** Lines the volume cap held back since the previous line, and the flows they stood for. */
  suppressed: z.object({
    lines: z.number().int().nonnegative(),
    flows: z.number().int().nonnegative(),
  }).optional(),
});

/** One alert line. */
export const AlertSchema = z.object({
  /** When the alert was emitted. */
  timestamp: isoTimestamp,
  event_type: z.literal("alert"),
  src_ip: z.string(),
  src_port: z.number().int().min(0).max(65535),
  dest_ip: z.string(),
  dest_port: z.number().int().min(0).max(65535),
  /** "TCP", "UDP", "ICMP", "IPv6-ICMP", or the protocol number as text. */
  proto: z.string(),
  vlan: z.array(z.number().int()).optional(),
  community_id: z.string(),
  flow: AlertFlowSchema,
  /** ARP alerts (proto "ARP"): the MAC addresses involved. */
  arp: z.object({
    /** The MAC that sent the sweep's requests, or the spoofed reply (its Ethernet source). */
    sender_mac: z.string(),
    /** Spoofing: the MAC of the host the reply went to (whose cache it poisons). */
    target_mac: z.string().optional(),
    /** Spoofing: the address the reply claims for sender_mac. */
    claimed_ip: z.string().optional(),
    /** Spoofing: the MAC the reply claims for claimed_ip, when it is not the frame's sender (sender_mac). */
    claimed_mac: z.string().optional(),
    /** Spoofing: the MAC that held claimed_ip before (within five minutes), when one did. */
    previous_mac: z.string().optional(),
  }).optional(),
  /** DHCP alerts (model "dhcp-monitor"): the clients and servers involved. */
  dhcp: z.object({
    /** Starvation: the client hardware address of the request that made the line (forged, as all of them); a rogue server: the client it answered. */
    client_mac: z.string(),
    /** Starvation: distinct client hardware addresses asking for leases in the episode. */
    clients: z.number().int().nonnegative().optional(),
    /** Starvation through a relay: the relay's address (giaddr). */
    relay: z.string().optional(),
    /** A rogue server: its Ethernet source, the address it offered, its router and subnet. */
    server_mac: z.string().optional(),
    offered_ip: z.string().optional(),
    router: z.string().optional(),
    subnet: z.string().optional(),
    /** A rogue server: the server seen first on the link, its router and subnet. */
    known_server: z.string().optional(),
    known_router: z.string().optional(),
    known_subnet: z.string().optional(),
    /** A rogue server: what its answer names differently from the known server's. */
    differs: z.array(z.enum(["router", "subnet", "dns"])).optional(),
  }).optional(),
  /** DNS tunnel alerts (model "dns-monitor"): the domain whose names carry data. */
  dns: z.object({
    /** The domain (its last two labels, three under a country's co/com/net/org/ac/gov/edu). */
    domain: z.string(),
    /** Distinct names under it that carried data (a subdomain of 40 characters or more, or a NULL or TXT query) within a minute. */
    names: z.number().int().nonnegative(),
    /** Queries for the domain in that minute, and the characters of subdomain they carried. */
    queries: z.number().int().nonnegative(),
    subdomain_chars: z.number().int().nonnegative(),
    /** The name that made the line, printable ASCII (others "?"), at most 120 characters. */
    example: z.string(),
  }).optional(),
  /** HTTP path scan and keep-alive flood alerts (model "http-monitor"): what the client asked for and was answered, within a minute. */
  http: z.object({
    requests: z.number().int().nonnegative(),
    /** Distinct request targets (path and query; linear counting). */
    targets: z.number().int().nonnegative(),
    responses: z.number().int().nonnegative(),
    /** Responses with a 4xx status other than 401 and 407. */
    client_errors: z.number().int().nonnegative(),
    /** Connections the requests came on (distinct client ports; linear counting, at most 1,024 counted). */
    connections: z.number().int().nonnegative().optional(),
    /** The request target that made the line, printable ASCII (others "?"), at most 100 characters. */
    example: z.string(),
  }).optional(),
  /** ICMP tunnel alerts (model "icmp-monitor"): the pair's echo messages within a minute. */
  icmp: z.object({
    requests: z.number().int().nonnegative(),
    replies: z.number().int().nonnegative(),
    payload_bytes: z.number().int().nonnegative(),
    /** Distinct payload contents (bytes 16-47, past a ping's timestamp; linear counting on 256 bits). */
    contents: z.number().int().nonnegative(),
  }).optional(),
  /** DNS spoofing alerts (model "dns-spoof-monitor"): the query and its two different answers. */
  dns_spoof: z.object({
    /** The question's name. */
    name: z.string(),
    /** The addresses (A and AAAA, at most 4) of the first and second answers, and their response codes. */
    first_answer: z.array(z.string()),
    second_answer: z.array(z.string()),
    first_rcode: z.number().int().nonnegative(),
    second_rcode: z.number().int().nonnegative(),
    /** Milliseconds between the two answers. */
    apart_ms: z.number().int().nonnegative(),
  }).optional(),
  /** MAC flooding alerts (model "mac-flood-monitor", proto "ETH"): the link's distinct source MACs within 10 s. */
  link: z.object({
    source_macs: z.number().int().nonnegative(),
    frames: z.number().int().nonnegative(),
    /** The source MAC of the frame that made the line (forged, as all of them). */
    example_mac: z.string(),
  }).optional(),
  /** IPv6 neighbour discovery alerts (model "nd-monitor"): the MAC addresses involved. */
  nd: z.object({
    /** The frame's Ethernet source: the sweep's solicitations, the claim, the router advertisement. */
    sender_mac: z.string(),
    /** Spoofing: the address the advertisement (Override flag set) claims. */
    claimed_ip: z.string().optional(),
    /** Spoofing: the MAC its target link-layer option claims, when it is not sender_mac. */
    claimed_mac: z.string().optional(),
    /** Spoofing: the MAC claimed_ip was bound to within five minutes; a forged router advertisement: the known router's MAC. */
    previous_mac: z.string().optional(),
    /** Router advertisements: the router lifetime in seconds (0: not a default router; kill_router6). */
    router_lifetime: z.number().int().nonnegative().optional(),
    /** Router advertisements: "new" (a router not heard in the learning period), "other-mac" (a known router's address from another MAC), "unlike-its-own" (its address and MAC, but a hop limit or flags unlike its own advertisements'). */
    router_check: z.enum(["new", "other-mac", "unlike-its-own"]).optional(),
  }).optional(),
  /** IP anomaly alerts (land attack, bad fragments): what was wrong. */
  ip_anomaly: z.object({
    /** land, fragment-overrun, fragment-overlap, tiny-fragment, protocol-scan or syn-fin-rst. */
    kind: z.string(),
    /** Protocol scans: distinct IP protocols (other than TCP, UDP, ICMP, ICMPv6) when the line was made. */
    protocols: z.number().int().nonnegative().optional(),
    /** Fragments: the datagram's IP id and the offending fragment's first and last byte + 1. */
    ip_id: z.number().int().nonnegative().optional(),
    fragment_start: z.number().int().nonnegative().optional(),
    fragment_end: z.number().int().nonnegative().optional(),
  }).optional(),
  alert: AlertBodySchema,
});
/** One alert, as written by every sink. */
export type Alert = z.infer<typeof AlertSchema>;

/** Suricata's protocol names for the common IP protocol numbers. */
export function protocolName(protocol: number): string {
  switch (protocol) {
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 58:
      return "IPv6-ICMP";
    case 132:
      return "SCTP";
    case 47:
      return "GRE";
    default:
      return String(protocol);
  }
}
