/**
 * Console sink: one readable line per alert on stdout (or any writer),
 * coloured by severity when the output is a terminal.
 */
import type { Alert } from "../schema.ts";
import type { AlertSink } from "./sink.ts";

/** Options of the console sink. */
export interface ConsoleSinkOptions {
  /** Where lines go (default: Deno.stdout). */
  writer?: { writeSync(bytes: Uint8Array): number; isTerminal?(): boolean };
  /** Force colour on or off (default: when the writer is a terminal and NO_COLOR is unset). */
  color?: boolean;
}

const SEVERITY_COLOR: Record<number, string> = { 1: "\x1b[31m", 2: "\x1b[33m", 3: "\x1b[36m" };
const RESET = "\x1b[0m";
const BOLD = "\x1b[1m";

function endpoint(ip: string, port: number, proto: string): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return proto === "TCP" || proto === "UDP" || proto === "SCTP" ? `${host}:${port}` : host;
}

/** Formats one alert as a single line. */
export function formatAlertLine(a: Alert, color = false): string {
  const x = a.alert;
  const sev = color
    ? `${SEVERITY_COLOR[x.severity] ?? ""}${BOLD}sev${x.severity}${RESET}`
    : `sev${x.severity}`;
  const name = color ? `${BOLD}${x.name}${RESET}` : x.name;
  const what = x.verdict === "known" ? `known ${x.class}` : "unknown";
  const pkts = a.flow.pkts_toserver + a.flow.pkts_toclient;
  // ARP, ND and DHCP lines stand for no flows: their count is messages, and the MAC says who sent them
  // (a DHCP starvation's every request comes from another forged MAC: its count of them instead).
  const flows = a.dhcp?.clients !== undefined
    ? `${a.dhcp.clients} client addresses`
    : a.dns
    ? `${a.dns.names} names under ${a.dns.domain}`
    : a.dns_spoof
    ? `${a.dns_spoof.name}: ${a.dns_spoof.first_answer.join(" ") || "none"} then ${
      a.dns_spoof.second_answer.join(" ") || "none"
    }`
    : a.http && x.class === "http-keepalive-flood"
    ? `${a.http.requests} requests on ${
      a.http.connections ?? "?"
    } connections, ${a.http.targets} paths`
    : a.http
    ? `${a.http.targets} paths, ${a.http.client_errors} not found`
    : a.icmp
    ? `${a.icmp.requests} requests, ${a.icmp.replies} replies, ${a.icmp.contents} payloads`
    : a.link
    ? `${a.link.source_macs} source MACs in ${a.link.frames} frames`
    : a.proto === "ARP" || a.nd || a.dhcp
    ? `from ${
      a.arp?.sender_mac ?? a.nd?.sender_mac ?? a.dhcp?.server_mac ?? a.dhcp?.client_mac ?? "?"
    }${x.targets && x.targets > 1 ? `, ${x.targets} targets` : ""}`
    : x.count === 1
    ? "1 flow"
    : `${x.count} flows`;
  return `${a.timestamp} ${sev} ${name} ${endpoint(a.src_ip, a.src_port, a.proto)} -> ` +
    `${
      endpoint(a.dest_ip, a.dest_port, a.proto)
    } ${a.proto} (${what}, score ${x.score} >= ${x.threshold}, ` +
    `${flows}, ${pkts} pkts${
      x.distinct_dest_ports > 1 ? `, ${x.distinct_dest_ports} ports` : ""
    }) ` +
    `[${x.model}]`;
}

/** Creates the console sink. */
export function createConsoleSink(options: ConsoleSinkOptions = {}): AlertSink {
  const writer = options.writer ?? Deno.stdout;
  const color = options.color ??
    ((writer.isTerminal?.() ?? false) && !Deno.env.get("NO_COLOR"));
  const encoder = new TextEncoder();
  let closed = false;
  return {
    name: "console",
    write(alerts) {
      if (closed) throw new Error("console sink is closed");
      if (alerts.length === 0) return;
      const text = alerts.map((a) => formatAlertLine(a, color)).join("\n") + "\n";
      const bytes = encoder.encode(text);
      let off = 0;
      while (off < bytes.length) off += writer.writeSync(bytes.subarray(off));
    },
    flush() {
      return Promise.resolve();
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}
