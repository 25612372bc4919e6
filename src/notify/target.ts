/**
 * Notification targets, one URL scheme for all of them:
 *
 * - `smtp://[user:pass@]host:port?to=a@b.example&from=ids@x.example&starttls=1`
 * - `http://...`, `https://...`: a generic JSON webhook (the EVE alert as the body)
 * - `slack://hooks.slack.com/services/T/B/X` or `slack://T/B/X` (Slack incoming webhook)
 * - `discord://discord.com/api/webhooks/ID/TOKEN` or `discord://ID/TOKEN`
 * - `syslog://host:514?proto=udp|tcp` (RFC 5424, the EVE JSON as the message)
 *
 * Every target also takes `min_severity=high|medium|low` (or 1..3; alerts
 * of that severity or higher are sent, default low = all) and
 * `rate=N/S` (at most N messages per S seconds, default 30/60; past it one
 * digest summarises what was held back). Slack and Discord take `base=URL`
 * to send to another server than the service's (tests, proxies).
 */

/** Which kind of receiver a target is. */
export type NotifyKind = "smtp" | "webhook" | "slack" | "discord" | "syslog";

/** A parsed `--notify` URL. */
export interface NotifyTarget {
  kind: NotifyKind;
  /** The URL as given (passwords and webhook secrets stay in it: never log it, use `label`). */
  url: string;
  /** Printable name: scheme, host and port; no credentials, no path secrets. */
  label: string;
  /** Alerts with a severity number above this (1 high .. 3 low) are not sent. */
  minSeverity: 1 | 2 | 3;
  /** At most `count` messages per `seconds`; what exceeds is summarised in one digest. */
  rate: { count: number; seconds: number };
  /** webhook, slack, discord: where the JSON is POSTed. */
  endpoint?: string;
  /** smtp: nodemailer connection settings and envelope. */
  smtp?: {
    host: string;
    port: number;
    user?: string;
    pass?: string;
    /** true: implicit TLS (smtps:// or port 465). */
    secure: boolean;
    /** "require": STARTTLS or fail; "off": never upgrade; "opportunistic": if offered. */
    starttls: "require" | "off" | "opportunistic";
    from: string;
    to: string[];
  };
  /** syslog: where RFC 5424 messages go. */
  syslog?: {
    host: string;
    port: number;
    proto: "udp" | "tcp";
    /** Facility number (16 = local0). */
    facility: number;
    /** APP-NAME field. */
    appName: string;
  };
}

/** A `--notify` URL that cannot be used: the message says which part and why. */
export class NotifyTargetError extends Error {
  override name = "NotifyTargetError";
}

/** Query parameters every target understands (removed before a webhook URL is called). */
const COMMON_PARAMS = ["min_severity", "rate", "base"];

const SEVERITY_WORDS: Record<string, 1 | 2 | 3> = { high: 1, medium: 2, low: 3 };

const SYSLOG_FACILITIES: Record<string, number> = {
  user: 1,
  daemon: 3,
  auth: 4,
  security: 4,
  authpriv: 10,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** Parses and checks one `--notify` URL. */
export function parseNotifyTarget(text: string): NotifyTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new NotifyTargetError(`--notify "${redact(text)}" is not a URL`);
  }
  const scheme = url.protocol.replace(/:$/, "");
  const params = url.searchParams;
  const common = {
    url: text,
    minSeverity: parseSeverity(params.get("min_severity"), text),
    rate: parseRate(params.get("rate"), text),
  };
  switch (scheme) {
    case "http":
    case "https":
      return {
        kind: "webhook",
        ...common,
        label: `${scheme}://${url.host}`,
        endpoint: withoutCommonParams(url).href,
      };
    case "slack":
    case "discord":
      return { kind: scheme, ...common, ...chatEndpoint(scheme, url, text) };
    case "smtp":
    case "smtps":
      return { kind: "smtp", ...common, ...smtpSettings(scheme, url, text) };
    case "syslog":
      return { kind: "syslog", ...common, ...syslogSettings(url, text) };
    default:
      throw new NotifyTargetError(
        `--notify "${redact(text)}": unknown scheme "${scheme}:"; ` +
          "use smtp://, http(s)://, slack://, discord:// or syslog://",
      );
  }
}

/** The URL with any password replaced by `***`, for messages. */
export function redact(text: string): string {
  return text.replace(/\/\/([^/@:]*):[^/@]*@/, "//$1:***@");
}

function parseSeverity(value: string | null, text: string): 1 | 2 | 3 {
  if (value === null) return 3;
  const word = SEVERITY_WORDS[value.toLowerCase()];
  if (word) return word;
  if (value === "1" || value === "2" || value === "3") return Number(value) as 1 | 2 | 3;
  throw new NotifyTargetError(
    `--notify "${redact(text)}": min_severity must be high, medium, low or 1..3, got "${value}"`,
  );
}

function parseRate(value: string | null, text: string): { count: number; seconds: number } {
  if (value === null) return { count: 30, seconds: 60 };
  const match = /^(\d+)\/(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value);
  const count = match ? Number(match[1]) : NaN;
  const unit = match?.[3] === "h" ? 3600 : match?.[3] === "m" ? 60 : 1;
  const seconds = match ? Number(match[2]) * unit : NaN;
  if (!(count >= 1 && seconds > 0)) {
    throw new NotifyTargetError(
      `--notify "${redact(text)}": rate must be N/SECONDS with N >= 1 (e.g. rate=10/60 or ` +
        `rate=100/1h), got "${value}"`,
    );
  }
  return { count, seconds };
}

function withoutCommonParams(url: URL): URL {
  const copy = new URL(url.href);
  for (const name of COMMON_PARAMS) copy.searchParams.delete(name);
  return copy;
}

function chatEndpoint(
  scheme: "slack" | "discord",
  url: URL,
  text: string,
): { endpoint: string; label: string } {
  // slack://T/B/X and discord://ID/TOKEN are shorthands (the host is then the first path part).
  const hostIsService = url.hostname.includes(".");
  const service = scheme === "slack" ? "hooks.slack.com" : "discord.com";
  const prefix = scheme === "slack" ? "/services" : "/api/webhooks";
  const path = hostIsService ? url.pathname : `${prefix}/${url.host}${url.pathname}`;
  const parts = path.split("/").filter((p) => p !== "");
  // services/T/B/X and api/webhooks/ID/TOKEN both have four parts.
  if (parts.length < 4) {
    throw new NotifyTargetError(
      `--notify "${redact(text)}": a ${scheme} URL needs the whole webhook path ` +
        (scheme === "slack"
          ? "(slack://hooks.slack.com/services/T.../B.../XXX or slack://T.../B.../XXX)"
          : "(discord://discord.com/api/webhooks/ID/TOKEN or discord://ID/TOKEN)"),
    );
  }
  const base = url.searchParams.get("base");
  let origin = `https://${hostIsService ? url.host : service}`;
  if (base !== null) {
    try {
      origin = new URL(base).origin;
    } catch {
      throw new NotifyTargetError(`--notify "${redact(text)}": base must be a URL, got "${base}"`);
    }
  }
  const endpoint = new URL(path, origin);
  for (const [k, v] of withoutCommonParams(url).searchParams) endpoint.searchParams.set(k, v);
  return { endpoint: endpoint.href, label: `${scheme} via ${origin}` };
}

function smtpSettings(
  scheme: string,
  url: URL,
  text: string,
): { smtp: NonNullable<NotifyTarget["smtp"]>; label: string } {
  const params = url.searchParams;
  const secure = scheme === "smtps" || url.port === "465";
  const port = url.port ? Number(url.port) : secure ? 465 : 25;
  const to = (params.getAll("to").join(",")).split(",").map((s) => s.trim()).filter(Boolean);
  if (to.length === 0) {
    throw new NotifyTargetError(`--notify "${redact(text)}": smtp needs to=ADDRESS (one or more)`);
  }
  const starttlsText = params.get("starttls");
  const starttls = starttlsText === null
    ? "opportunistic"
    : ["1", "true", "yes", "require"].includes(starttlsText)
    ? "require"
    : ["0", "false", "no", "off"].includes(starttlsText)
    ? "off"
    : null;
  if (starttls === null) {
    throw new NotifyTargetError(
      `--notify "${redact(text)}": starttls must be 1 or 0, got "${starttlsText}"`,
    );
  }
  if (!url.hostname) throw new NotifyTargetError(`--notify "${redact(text)}": smtp needs a host`);
  return {
    label: `smtp://${url.host}`,
    smtp: {
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      pass: url.password ? decodeURIComponent(url.password) : undefined,
      secure,
      starttls,
      from: params.get("from") ?? "ids-sensor@localhost",
      to,
    },
  };
}

function syslogSettings(
  url: URL,
  text: string,
): { syslog: NonNullable<NotifyTarget["syslog"]>; label: string } {
  const params = url.searchParams;
  const proto = params.get("proto") ?? "udp";
  if (proto !== "udp" && proto !== "tcp") {
    throw new NotifyTargetError(
      `--notify "${redact(text)}": proto must be udp or tcp, got "${proto}"`,
    );
  }
  const facilityText = params.get("facility") ?? "local0";
  const facility = SYSLOG_FACILITIES[facilityText] ??
    (/^\d+$/.test(facilityText) && Number(facilityText) <= 23 ? Number(facilityText) : undefined);
  if (facility === undefined) {
    throw new NotifyTargetError(
      `--notify "${redact(text)}": facility must be a name (local0..local7, daemon, ...) ` +
        `or 0..23, got "${facilityText}"`,
    );
  }
  if (!url.hostname) throw new NotifyTargetError(`--notify "${redact(text)}": syslog needs a host`);
  const port = url.port ? Number(url.port) : 514;
  return {
    label: `syslog://${url.host} (${proto})`,
    syslog: {
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port,
      proto,
      facility,
      appName: params.get("app") ?? "ids-sensor",
    },
  };
}
