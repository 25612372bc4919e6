/**
 * The behaviours the host-level evidence names, the limits that make each
 * one, and their plain-words names. A behaviour is a property of a host over
 * many flows (a scan touches many ports, a flood sends many unanswered
 * packets at a rate), so none of these is ever named from one flow.
 *
 * Limits follow the tools defenders already trust where they exist (Zeek's
 * scan detection: 15 ports on one host, 25 hosts; Zeek's SSH guessing) and
 * were otherwise set on the development part of the public captures and the
 * range (see docs/alerts.md), never on the held-out part.
 */

/** What a finding says a host did. */
export type Behaviour =
  | "scan"
  | "stealth-scan"
  | "sweep"
  | "syn-flood"
  | "tcp-ack-flood"
  | "tcp-rst-flood"
  | "tcp-fin-flood"
  | "udp-flood"
  | "icmp-flood"
  | "reflection"
  | "amplification"
  | "brute-force"
  | "slow-dos"
  | "slow-read"
  | "connection-flood"
  | "model";

/** Thresholds of the behaviours, per evidence window. */
export const BEHAVIOUR_LIMITS = {
  /** Distinct destination ports probed on one target (failed or unanswered attempts) for a port scan. */
  scanPorts: 15,
  /** Distinct hosts probed by one source for a sweep. */
  sweepHosts: 25,
  /** SYN packets of attempts without payload (or unsolicited SYN-ACKs / amplified replies) at one target for a flood. */
  floodPackets: 200,
  /** Their rate, packets per second over the evidence span. */
  floodRate: 50,
  /**
   * One-way UDP or ICMP packets at one target for a UDP or ICMP flood; TCP
   * segments that open nothing (no SYN, no handshake, no payload: ACK, RST,
   * FIN floods) for a TCP flood of those.
   */
  volumeFloodPackets: 1000,
  /** Their rate, packets per second. */
  volumeFloodRate: 100,
  /**
   * One-way UDP whose datagrams mostly vary in size needs this many times
   * the packets and the rate. Flood tools send one datagram over and over;
   * one-way telemetry (a syslog forwarder at 400 lines a second, NetFlow,
   * statsd) sends records of many lengths at hundreds a second.
   */
  variedUdpFloodScale: 10,
  /**
   * A flood spread over a host's ports (spoofed sources, a port each): at
   * least this many distinct sources and ports (HyperLogLog estimates) on
   * the host's any-port evidence, so one scanner's sweep of ports is never
   * a flood (it has one source), many scanners neither (below), and a flood
   * on one port stays that port's.
   */
  spreadFloodSources: 100,
  spreadFloodPorts: 10,
  /** ... sending at most this many evidence flows per source (spoofed: about one each). */
  spreadFloodFlowsPerSource: 4,
  /** A flood concentrates on few ports: attempts per distinct port at least this (else it is a scan). */
  floodAttemptsPerPort: 10,
  /** Completed connections from one source to one login service for a brute force. */
  bruteForceConnections: 20,
  /**
   * Failed logins a cleartext login service answered to one source (FTP 530,
   * IMAP NO, PostgreSQL 28P01, ...: login_outcomes.ts; SSH's read from its
   * segment sizes, ssh_auth.ts) in a window for a
   * brute force, however few connections carried them. fail2ban's default
   * bans after 5 failures in 10 minutes; a user who mistyped fails a few
   * times, not 10 in a minute. Where the service said most connections
   * logged in, many connections are an application, not a brute force.
   */
  bruteForceFailures: 10,
  /** Longest mean connection time of a brute force, seconds. */
  bruteForceMaxSeconds: 30,
  /**
   * Slowest brute force, connections per second over their span (first start
   * to last end): password guessing repeats fast; an administrator's twenty
   * SSH sessions in a quarter of an hour do not (a range run of other benign
   * clients alerted on exactly that without this limit).
   */
  bruteForceRate: 0.2,
  /** Share of a web brute force's completed exchanges the model flagged (HTTP needs the model's word). */
  webBruteForceFlagged: 0.5,
  /** Slow connections (a request trickling in, never answered) from one source to one web service. */
  slowConnections: 20,
  /**
   * Shortest span of a slow connection's request (first to last packet, no
   * answer), seconds. A client sends its request within a round trip; slow
   * DoS tools trickle a header every 5 to 15 s (slowhttptest, slowloris), and
   * servers wait 20 to 60 s for the headers. The first trickle ends the span.
   */
  slowMinSeconds: 3,
  /** Most client payload bytes per second of a slow connection. */
  slowMaxBytesPerSecond: 200,
  /**
   * Slow read (slowhttptest -X): the client asks, then advertises a window
   * this small (initial, bytes) and the server's answer crawls out at most
   * slowReadMaxBytesPerSecond; counted with the slow connections above.
   * Desktop and phone stacks open with 29,200 to 65,535 bytes.
   */
  slowReadMaxWindow: 4096,
  slowReadMaxBytesPerSecond: 1024,
  /**
   * Connection flood (an HTTP GET flood opening a connection per request: ab,
   * hulk, LOIC's HTTP mode): completed connections from one source to one
   * web service of one target, and their rate over their span. A browser
   * keeps 6 connections per host open; a crawler or an API client without
   * keep-alive opens a few to a few tens a second; the tools open thousands.
   * Web ports only: applications that connect to their database or cache
   * per query (pgbench -C: 240 a second) do the same on other ports.
   */
  connectionFloodConnections: 1000,
  connectionFloodRate: 200,
} as const;

/** Login services where many short connections mean password guessing. */
export const LOGIN_SERVICES: ReadonlyMap<number, string> = new Map([
  [21, "FTP"],
  [22, "SSH"],
  [23, "Telnet"],
  [25, "SMTP"],
  [110, "POP3"],
  [143, "IMAP"],
  [389, "LDAP"],
  [445, "SMB"],
  [587, "SMTP"],
  [993, "IMAP"],
  [995, "POP3"],
  [1433, "MSSQL"],
  [3306, "MySQL"],
  [3389, "RDP"],
  [5432, "PostgreSQL"],
  [5900, "VNC"],
]);

/** Web service ports (brute force through the model's word; slow DoS). */
export const WEB_PORTS: ReadonlySet<number> = new Set([80, 443, 8000, 8080, 8443, 8888]);

/** UDP services abused for reflection and amplification, by their source port. */
export const AMPLIFIER_SERVICES: ReadonlyMap<number, string> = new Map([
  [17, "QOTD"],
  [19, "CHARGEN"],
  [53, "DNS"],
  [69, "TFTP"],
  [111, "portmap"],
  [123, "NTP"],
  [137, "NetBIOS"],
  [161, "SNMP"],
  [389, "CLDAP"],
  [500, "ISAKMP"],
  [520, "RIP"],
  [1434, "MSSQL"],
  [1900, "SSDP"],
  [3283, "ARD"],
  [3702, "WS-Discovery"],
  [5353, "mDNS"],
  [11211, "memcached"],
  [27015, "Steam"],
  [47808, "BACnet"],
]);

/** Protocol words used in names. */
export function protocolWord(protocol: number): string {
  if (protocol === 6) return "TCP";
  if (protocol === 17) return "UDP";
  if (protocol === 132) return "SCTP";
  if (protocol === 1 || protocol === 58) return "ICMP";
  return `IP proto ${protocol}`;
}

/** Plain-words name and Suricata-style severity (1 high .. 3 low). */
export interface BehaviourName {
  name: string;
  severity: 1 | 2 | 3;
  /** Stable id for `alert.class` (`tcp-syn-scan`, `udp-flood`, ...). */
  id: string;
}

/** The name of a behaviour finding. `service` is a port (login service, amplifier, web). */
export function behaviourName(
  behaviour: Exclude<Behaviour, "model">,
  protocol: number,
  service = 0,
): BehaviourName {
  const p = protocolWord(protocol);
  const id = (words: string) => words.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  switch (behaviour) {
    case "scan": {
      const name = protocol === 6 ? "TCP SYN scan" : `${p} scan`;
      return { name, severity: 2, id: id(name) };
    }
    case "stealth-scan":
      return {
        name: "TCP stealth scan (no SYN: FIN, NULL, Xmas, ACK or Maimon)",
        severity: 2,
        id: "tcp-stealth-scan",
      };
    case "sweep": {
      const name = protocol === 6 ? "TCP SYN sweep" : `${p} sweep`;
      return { name, severity: 3, id: id(name) };
    }
    case "syn-flood":
      return { name: "TCP SYN flood", severity: 1, id: "tcp-syn-flood" };
    case "tcp-ack-flood":
      return { name: "TCP ACK flood", severity: 1, id: "tcp-ack-flood" };
    case "tcp-rst-flood":
      return { name: "TCP RST flood", severity: 1, id: "tcp-rst-flood" };
    case "tcp-fin-flood":
      return { name: "TCP FIN flood", severity: 1, id: "tcp-fin-flood" };
    case "udp-flood":
      return { name: "UDP flood", severity: 1, id: "udp-flood" };
    case "icmp-flood":
      return { name: "ICMP flood", severity: 1, id: "icmp-flood" };
    case "reflection":
      return { name: "TCP SYN-ACK reflection", severity: 1, id: "tcp-syn-ack-reflection" };
    case "amplification": {
      const what = AMPLIFIER_SERVICES.get(service);
      const name = what ? `UDP amplification (${what})` : "UDP amplification";
      return { name, severity: 1, id: "udp-amplification" };
    }
    case "brute-force": {
      const what = LOGIN_SERVICES.get(service) ?? (WEB_PORTS.has(service) ? "HTTP" : `${p}`);
      return { name: `${what} brute force`, severity: 1, id: id(`${what} brute force`) };
    }
    case "slow-dos":
      return { name: "slow HTTP DoS (slowloris)", severity: 1, id: "slow-http-dos" };
    case "slow-read":
      return { name: "slow HTTP DoS (slow read)", severity: 1, id: "slow-http-read-dos" };
    case "connection-flood":
      return { name: "HTTP flood (a connection per request)", severity: 1, id: "http-flood" };
  }
}
