/**
 * Names an alert in plain words. A specific class name from the model
 * ("DoS Hulk", "neptune", "SSH-Patator") maps to words an operator knows
 * ("HTTP flood (Hulk)", "SYN flood", "SSH brute force"). When the class is
 * generic ("dos", "probe", "attack") or the verdict is an unknown anomaly, the
 * name comes from what the flows did: SYNs without replies, many ports on one
 * target, many short connections to a login service, long trickling HTTP
 * connections, UDP to many ports.
 */
import { LOGIN_SERVICES } from "../evidence/mod.ts";

/** What the aggregated flows of one alert did. */
export interface FlowEvidence {
  /** IP protocol number of the flows. */
  protocol: number;
  flows: number;
  /** TCP flows whose SYN got no answer, or was refused (S0, REJ, RSTOS0, SH, or no backward packet). */
  noReplyFlows: number;
  fwdPackets: number;
  bwdPackets: number;
  fwdBytes: number;
  bwdBytes: number;
  /** Sum of flow durations, microseconds. */
  durationMicros: number;
  /** Distinct destination ports this source used on this target in the window. */
  distinctDestPorts: number;
  /** Destination port of the first flow. */
  destPort: number;
}

/** Plain-words name and Suricata-style severity (1 high .. 3 low). */
export interface AlertName {
  name: string;
  severity: 1 | 2 | 3;
}

/** Services where many short connections mean password guessing (the evidence layer's list). */
export const AUTH_SERVICE_PORTS: ReadonlyMap<number, string> = LOGIN_SERVICES;

const HTTP_PORTS = new Set([80, 443, 8000, 8080, 8443, 8888]);

/** Thresholds of the evidence heuristics. */
export const NAMING_LIMITS = {
  /** Distinct ports on one target that make a scan. */
  scanPorts: 10,
  /** Unanswered SYN flows (one target port) that make a flood. */
  synFloodFlows: 20,
  /** Packets of a single unanswered flow that make a flood (fixed source port). */
  synFloodPackets: 100,
  /** Connections to a login service that make a brute force. */
  bruteForceFlows: 5,
  /** Longest mean connection time of a brute force, seconds. */
  bruteForceMaxSeconds: 30,
  /** Shortest mean duration of a slowloris connection, seconds. */
  slowMinSeconds: 20,
  /** Most bytes per second from the client in a slowloris connection. */
  slowMaxBytesPerSecond: 200,
  /** Flows or packets that make a UDP / ICMP flood. */
  floodPackets: 1000,
} as const;

/** Specific class names (normalised) to plain words; `null` marks a generic class. */
const CLASS_NAMES: ReadonlyMap<string, AlertName | null> = new Map<string, AlertName | null>([
  // CIC-IDS2017 / CSE-CIC-IDS2018 labels
  ["dos hulk", { name: "HTTP flood (Hulk)", severity: 1 }],
  ["dos goldeneye", { name: "HTTP flood (GoldenEye)", severity: 1 }],
  ["dos slowloris", { name: "slowloris", severity: 1 }],
  ["dos slowhttptest", { name: "slow HTTP attack", severity: 1 }],
  ["ddos", { name: "DDoS flood", severity: 1 }],
  ["ddos loic http", { name: "HTTP flood (LOIC)", severity: 1 }],
  ["ddos loic udp", { name: "UDP flood (LOIC)", severity: 1 }],
  ["ddos hoic", { name: "HTTP flood (HOIC)", severity: 1 }],
  ["portscan", { name: "port scan", severity: 2 }],
  ["ftp patator", { name: "FTP brute force", severity: 1 }],
  ["ssh patator", { name: "SSH brute force", severity: 1 }],
  ["ftp bruteforce", { name: "FTP brute force", severity: 1 }],
  ["ssh bruteforce", { name: "SSH brute force", severity: 1 }],
  ["web attack brute force", { name: "web login brute force", severity: 1 }],
  ["brute force web", { name: "web login brute force", severity: 1 }],
  ["web attack xss", { name: "cross-site scripting", severity: 2 }],
  ["brute force xss", { name: "cross-site scripting", severity: 2 }],
  ["web attack sql injection", { name: "SQL injection", severity: 1 }],
  ["sql injection", { name: "SQL injection", severity: 1 }],
  ["bot", { name: "botnet traffic", severity: 1 }],
  ["infiltration", { name: "infiltration", severity: 1 }],
  ["infilteration", { name: "infiltration", severity: 1 }],
  ["heartbleed", { name: "Heartbleed exploit", severity: 1 }],
  // The project's own range (src/lab) scenario names
  ["syn scan", { name: "SYN port scan", severity: 2 }],
  ["udp scan", { name: "UDP scan", severity: 2 }],
  ["syn flood", { name: "SYN flood", severity: 1 }],
  ["slowloris", { name: "slowloris", severity: 1 }],
  ["http brute force", { name: "web login brute force", severity: 1 }],
  // NSL-KDD attack names
  ["neptune", { name: "SYN flood", severity: 1 }],
  ["smurf", { name: "ICMP flood (smurf)", severity: 1 }],
  ["pod", { name: "ping of death", severity: 1 }],
  ["teardrop", { name: "fragment overlap attack (teardrop)", severity: 1 }],
  ["land", { name: "land attack", severity: 1 }],
  ["back", { name: "HTTP denial of service (back)", severity: 1 }],
  ["apache2", { name: "HTTP denial of service (apache2)", severity: 1 }],
  ["processtable", { name: "process table exhaustion", severity: 1 }],
  ["mailbomb", { name: "mail bomb", severity: 1 }],
  ["udpstorm", { name: "UDP flood", severity: 1 }],
  ["portsweep", { name: "port scan", severity: 2 }],
  ["nmap", { name: "port scan (nmap)", severity: 2 }],
  ["satan", { name: "vulnerability scan", severity: 2 }],
  ["saint", { name: "vulnerability scan", severity: 2 }],
  ["mscan", { name: "vulnerability scan", severity: 2 }],
  ["ipsweep", { name: "ping sweep", severity: 3 }],
  ["guess passwd", { name: "password guessing", severity: 1 }],
  ["ftp write", { name: "FTP write abuse", severity: 1 }],
  ["imap", { name: "IMAP exploit", severity: 1 }],
  ["phf", { name: "CGI exploit (phf)", severity: 1 }],
  ["multihop", { name: "multi-hop intrusion", severity: 1 }],
  ["warezmaster", { name: "warez upload", severity: 2 }],
  ["warezclient", { name: "warez download", severity: 3 }],
  ["spy", { name: "spying", severity: 2 }],
  ["buffer overflow", { name: "buffer overflow", severity: 1 }],
  ["loadmodule", { name: "privilege escalation (loadmodule)", severity: 1 }],
  ["perl", { name: "privilege escalation (perl)", severity: 1 }],
  ["rootkit", { name: "rootkit", severity: 1 }],
  // Generic classes: the flows decide the name.
  ["dos", null],
  ["ddos generic", null],
  ["probe", null],
  ["r2l", null],
  ["u2r", null],
  ["attack", null],
  ["malicious", null],
  ["anomaly", null],
  ["unknown", null],
]);

/** Names used when neither the class nor the evidence says more. */
const GENERIC_FALLBACK: ReadonlyMap<string, AlertName> = new Map<string, AlertName>([
  ["dos", { name: "denial of service", severity: 1 }],
  ["probe", { name: "reconnaissance", severity: 2 }],
  ["r2l", { name: "remote access attempt", severity: 1 }],
  ["u2r", { name: "privilege escalation", severity: 1 }],
]);

/**
 * Classes that stand for a behaviour of a host over many flows (scans,
 * floods, brute force, slow DoS): one flow of them proves nothing, so the
 * host-level evidence must show the behaviour before the class is named.
 * Every other class (SQL injection, XSS, Heartbleed, an unlisted class of a
 * user's model) can show in a single flow and keeps its per-flow verdict.
 */
const BEHAVIOUR_CLASSES: ReadonlySet<string> = new Set([
  "dos hulk",
  "dos goldeneye",
  "dos slowloris",
  "dos slowhttptest",
  "ddos",
  "ddos loic http",
  "ddos loic udp",
  "ddos hoic",
  "portscan",
  "ftp patator",
  "ssh patator",
  "ftp bruteforce",
  "ssh bruteforce",
  "web attack brute force",
  "brute force web",
  "syn scan",
  "udp scan",
  "syn flood",
  "slowloris",
  "http brute force",
  "neptune",
  "smurf",
  "processtable",
  "mailbomb",
  "udpstorm",
  "portsweep",
  "nmap",
  "satan",
  "saint",
  "mscan",
  "ipsweep",
  "guess passwd",
  "dos",
  "ddos generic",
  "probe",
  "r2l",
  "u2r",
  "attack",
  "malicious",
  "anomaly",
  "unknown",
  "benign",
  "normal",
]);

/** Whether a class names a multi-flow behaviour (its per-flow claims are votes, not alerts). */
export function isBehaviourClass(className: string): boolean {
  return BEHAVIOUR_CLASSES.has(normaliseClassName(className));
}

/** Whether a class names reconnaissance (its evidence is fan-out, not rate). */
export function isScanClass(className: string): boolean {
  return /scan|sweep|probe|nmap|satan|saint|mscan/.test(normaliseClassName(className));
}

/** Whether a class is a generic category (dos, probe, attack, ...) that names nothing itself. */
export function isGenericClass(className: string): boolean {
  return CLASS_NAMES.get(normaliseClassName(className)) === null;
}

/** Whether a class names password guessing (brute force, Patator, NSL-KDD guess_passwd). */
export function isBruteForceClass(className: string): boolean {
  return /brute|patator|guess passwd/.test(normaliseClassName(className));
}

/** Lower case, punctuation and dashes as single spaces: "SSH-Patator" -> "ssh patator". */
export function normaliseClassName(className: string): string {
  return className.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim();
}

/**
 * Names what the flows did, or returns null when no heuristic fits.
 * Order matters: a scan also leaves unanswered SYNs, so port counts are checked first.
 */
export function nameFromEvidence(e: FlowEvidence): AlertName | null {
  const L = NAMING_LIMITS;
  const seconds = e.durationMicros / 1e6;
  const meanSeconds = e.flows > 0 ? seconds / e.flows : 0;
  const packets = e.fwdPackets + e.bwdPackets;
  if (e.protocol === 6) {
    if (e.distinctDestPorts >= L.scanPorts) {
      return { name: e.noReplyFlows * 2 >= e.flows ? "SYN port scan" : "port scan", severity: 2 };
    }
    const mostlyUnanswered = e.noReplyFlows * 5 >= e.flows * 4;
    if (
      mostlyUnanswered &&
      (e.noReplyFlows >= L.synFloodFlows || e.fwdPackets >= L.synFloodPackets * e.flows)
    ) {
      return { name: "SYN flood", severity: 1 };
    }
    const service = AUTH_SERVICE_PORTS.get(e.destPort);
    if (
      service !== undefined && e.flows >= L.bruteForceFlows && meanSeconds <= L.bruteForceMaxSeconds
    ) {
      return { name: `${service} brute force`, severity: 1 };
    }
    if (
      HTTP_PORTS.has(e.destPort) && meanSeconds >= L.slowMinSeconds &&
      e.fwdBytes / Math.max(seconds, 1e-6) <= L.slowMaxBytesPerSecond
    ) {
      return { name: "slowloris", severity: 1 };
    }
    return null;
  }
  if (e.protocol === 17) {
    if (e.distinctDestPorts >= L.scanPorts) return { name: "UDP scan", severity: 2 };
    if (packets >= L.floodPackets && e.bwdPackets * 10 <= e.fwdPackets) {
      return { name: "UDP flood", severity: 1 };
    }
    return null;
  }
  if (e.protocol === 1 || e.protocol === 58) {
    if (packets >= L.floodPackets) return { name: "ICMP flood", severity: 1 };
  }
  return null;
}

/**
 * The alert's name: from a specific class name when the model gave one,
 * else from the flows' evidence, else a generic phrase.
 * `className` is "unknown" for anomaly verdicts.
 */
export function nameAlert(className: string, evidence: FlowEvidence): AlertName {
  const key = normaliseClassName(className);
  const specific = CLASS_NAMES.get(key);
  if (specific) return specific;
  const fromFlows = nameFromEvidence(evidence);
  if (fromFlows) return fromFlows;
  const fallback = GENERIC_FALLBACK.get(key);
  if (fallback) return fallback;
  if (specific === null || key === "") return { name: "unknown anomaly", severity: 2 };
  // A class this table does not know: its own name is the best plain word we have.
  return { name: className, severity: 2 };
}
