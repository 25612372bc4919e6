/**
 * What a notifier queues, spools and sends: one alert, or a digest of the
 * alerts a rate limit held back. Formatting for each kind of receiver
 * (webhook JSON, Slack, Discord, syslog RFC 5424, e-mail) happens at send
 * time, so the spool keeps the plain record.
 */
import { type Alert, formatAlertLine } from "../alert/mod.ts";

/** Alerts held back by a target's rate limit, summarised. */
export interface Digest {
  event_type: "notification_digest";
  /** When the digest was made. */
  timestamp: string;
  /** Alerts not sent one by one. */
  held_back: number;
  /** The rate-limit window the held-back alerts fell into. */
  window: { start: string; end: string };
  /** Held-back alerts by name and severity, most frequent first. */
  by_name: { name: string; class: string; severity: number; count: number }[];
  /** Sources with the most held-back alerts, most first (at most 10). */
  top_sources: { src_ip: string; count: number }[];
}

/** One queued notification. */
export type NotifyMessage =
  | { type: "alert"; alert: Alert }
  | { type: "digest"; digest: Digest };

/** Builds the digest of `held` alerts of one rate-limit window. */
export function makeDigest(
  held: readonly Alert[],
  heldCount: number,
  windowStartMs: number,
  windowEndMs: number,
): Digest {
  const byName = new Map<string, Digest["by_name"][number]>();
  const bySource = new Map<string, number>();
  for (const a of held) {
    const key = `${a.alert.name}\u0000${a.alert.severity}`;
    const entry = byName.get(key) ??
      { name: a.alert.name, class: a.alert.class, severity: a.alert.severity, count: 0 };
    entry.count++;
    byName.set(key, entry);
    bySource.set(a.src_ip, (bySource.get(a.src_ip) ?? 0) + 1);
  }
  return {
    event_type: "notification_digest",
    timestamp: new Date().toISOString(),
    held_back: heldCount,
    window: {
      start: new Date(windowStartMs).toISOString(),
      end: new Date(windowEndMs).toISOString(),
    },
    by_name: [...byName.values()].sort((a, b) => b.count - a.count),
    top_sources: [...bySource.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)
      .map(([src_ip, count]) => ({ src_ip, count })),
  };
}

/** One line of plain words (mail subjects, chat text, logs). */
export function summaryLine(message: NotifyMessage): string {
  if (message.type === "alert") {
    const a = message.alert;
    return `[ids-sensor] sev${a.alert.severity} ${a.alert.name}: ${a.src_ip} -> ` +
      `${a.dest_ip}:${a.dest_port} ${a.proto} (${a.alert.count} flow${
        a.alert.count === 1 ? "" : "s"
      })`;
  }
  const d = message.digest;
  const names = d.by_name.slice(0, 3).map((n) => `${n.name} x${n.count}`).join(", ");
  return `[ids-sensor] ${d.held_back} more alert${d.held_back === 1 ? "" : "s"} held back by ` +
    `the rate limit (${d.window.start} to ${d.window.end})${names ? `: ${names}` : ""}`;
}

/** The event as JSON (the EVE alert itself, or the digest object). */
export function eventJson(message: NotifyMessage): Alert | Digest {
  return message.type === "alert" ? message.alert : message.digest;
}

/** Plain-text body (e-mail): the readable line, then the EVE JSON. */
export function textBody(message: NotifyMessage): string {
  const first = message.type === "alert"
    ? formatAlertLine(message.alert, false)
    : summaryLine(message);
  return `${first}\n\n${JSON.stringify(eventJson(message), null, 2)}\n`;
}

/** Slack incoming-webhook payload: `text` plus a block with the details. */
export function slackPayload(message: NotifyMessage): unknown {
  const text = summaryLine(message);
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${escapeSlack(text)}*` } },
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: "```" + JSON.stringify(eventJson(message), null, 1).slice(0, 2900) + "```",
        },
      },
    ],
  };
}

const DISCORD_COLORS: Record<number, number> = { 1: 0xd0312d, 2: 0xf2a20c, 3: 0x2b8fd6 };

/** Discord webhook payload: `content` plus one embed with fields. */
export function discordPayload(message: NotifyMessage): unknown {
  const content = summaryLine(message).slice(0, 2000);
  if (message.type === "digest") {
    const d = message.digest;
    return {
      content,
      embeds: [{
        title: `${d.held_back} alerts held back`,
        timestamp: d.timestamp,
        fields: d.by_name.slice(0, 25).map((n) => ({
          name: `${n.name} (sev${n.severity})`,
          value: String(n.count),
          inline: true,
        })),
      }],
    };
  }
  const a = message.alert;
  return {
    content,
    embeds: [{
      title: a.alert.name,
      color: DISCORD_COLORS[a.alert.severity],
      timestamp: a.timestamp,
      fields: [
        { name: "source", value: `${a.src_ip}:${a.src_port}`, inline: true },
        { name: "target", value: `${a.dest_ip}:${a.dest_port} ${a.proto}`, inline: true },
        { name: "verdict", value: `${a.alert.verdict} ${a.alert.class}`, inline: true },
        { name: "score", value: `${a.alert.score} >= ${a.alert.threshold}`, inline: true },
        { name: "flows", value: String(a.alert.count), inline: true },
        { name: "community_id", value: a.community_id, inline: false },
      ],
    }],
  };
}

function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Syslog severity for an alert severity (1 -> crit, 2 -> err, 3 -> warning); digests are notice. */
export function syslogSeverity(message: NotifyMessage): number {
  if (message.type === "digest") return 5;
  return ({ 1: 2, 2: 3, 3: 4 } as Record<number, number>)[message.alert.alert.severity] ?? 4;
}

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`,
 * MSGID `alert` or `digest`, no structured data, the EVE JSON as MSG.
 */
export function rfc5424(
  message: NotifyMessage,
  facility: number,
  appName: string,
  hostname: string,
  pid: number,
): string {
  const pri = facility * 8 + syslogSeverity(message);
  // Header fields are printable US-ASCII with RFC 5424's length limits.
  const field = (s: string, max: number) => (s.replace(/[^\x21-\x7e]/g, "").slice(0, max) || "-");
  return `<${pri}>1 ${new Date().toISOString()} ${field(hostname, 255)} ` +
    `${field(appName, 48)} ${pid} ${message.type} - ${JSON.stringify(eventJson(message))}`;
}
