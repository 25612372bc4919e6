/**
 * Sending one message to one target: HTTP POST (webhook, Slack, Discord),
 * syslog over UDP or TCP, e-mail through nodemailer. A send either resolves
 * (the receiver took it) or throws; retries, backoff and the spool are the
 * notifier's business. nodemailer and node:dgram are imported on a target's
 * first send: a sensor without e-mail or UDP syslog targets never loads them.
 */
import type { Socket } from "node:dgram";
import type { Transporter } from "nodemailer";
import {
  discordPayload,
  eventJson,
  type NotifyMessage,
  rfc5424,
  slackPayload,
  summaryLine,
  textBody,
} from "./message.ts";
import type { NotifyTarget } from "./target.ts";

/** A connection to one target. */
export interface Transport {
  send(message: NotifyMessage): Promise<void>;
  close(): Promise<void>;
}

/** The receiver answered and refused the message for good (HTTP 4xx other than 408/429). */
export class RejectedError extends Error {
  override name = "RejectedError";
}

/** Options of every transport. */
export interface TransportOptions {
  /** A send that takes longer fails (default 10 000 ms). */
  timeoutMs?: number;
}

/** Opens the transport for `target` (connections are made lazily, on the first send). */
export function createTransport(target: NotifyTarget, options: TransportOptions = {}): Transport {
  const timeoutMs = options.timeoutMs ?? 10_000;
  switch (target.kind) {
    case "webhook":
      return httpTransport(target.endpoint!, eventJson, timeoutMs);
    case "slack":
      return httpTransport(target.endpoint!, slackPayload, timeoutMs);
    case "discord":
      return httpTransport(target.endpoint!, discordPayload, timeoutMs);
    case "syslog":
      return target.syslog!.proto === "udp"
        ? syslogUdp(target.syslog!)
        : syslogTcp(target.syslog!, timeoutMs);
    case "smtp":
      return smtpTransport(target.smtp!, timeoutMs);
  }
}

function httpTransport(
  endpoint: string,
  payload: (m: NotifyMessage) => unknown,
  timeoutMs: number,
): Transport {
  // close() cancels a request still in flight, so a hanging receiver cannot hold the process.
  const closing = new AbortController();
  return {
    async send(message) {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "ids-sensor" },
        body: JSON.stringify(payload(message)),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
      });
      await response.body?.cancel();
      if (response.ok) return;
      const status = response.status;
      const message_ = `HTTP ${status} ${response.statusText}`;
      // 408 and 429 say "later"; 5xx is the receiver's trouble: both are retried.
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        throw new RejectedError(message_);
      }
      throw new Error(message_);
    },
    close() {
      closing.abort();
      return Promise.resolve();
    },
  };
}

function syslogUdp(settings: NonNullable<NotifyTarget["syslog"]>): Transport {
  let socket: Socket | null = null;
  let closes = 0;
  const hostname = Deno.hostname();
  return {
    async send(message) {
      if (socket === null) {
        const seen = closes;
        const { default: dgram } = await import("node:dgram");
        // Closed while the module loaded: no socket may outlive close().
        if (closes !== seen) throw new Error("syslog transport closed");
        socket ??= dgram.createSocket(settings.host.includes(":") ? "udp6" : "udp4");
      }
      const line = rfc5424(message, settings.facility, settings.appName, hostname, Deno.pid);
      return new Promise((resolve, reject) =>
        socket!.send(
          line,
          settings.port,
          settings.host,
          (error) => error ? reject(error) : resolve(),
        )
      );
    },
    close() {
      closes++;
      socket?.close();
      socket = null;
      return Promise.resolve();
    },
  };
}

/** TCP syslog with RFC 6587 octet counting (`LEN SP MSG`), one connection kept open. */
function syslogTcp(settings: NonNullable<NotifyTarget["syslog"]>, timeoutMs: number): Transport {
  let connection: Deno.TcpConn | null = null;
  const hostname = Deno.hostname();
  const encoder = new TextEncoder();
  return {
    async send(message) {
      const line = encoder.encode(
        rfc5424(message, settings.facility, settings.appName, hostname, Deno.pid),
      );
      const frame = new Uint8Array([...encoder.encode(`${line.length} `), ...line]);
      try {
        connection ??= await withTimeout(
          Deno.connect({ hostname: settings.host, port: settings.port }),
          timeoutMs,
          "connect",
        );
        let off = 0;
        while (off < frame.length) {
          off += await withTimeout(connection.write(frame.subarray(off)), timeoutMs, "write");
        }
      } catch (error) {
        try {
          connection?.close();
        } catch { /* already closed */ }
        connection = null;
        throw error;
      }
    },
    close() {
      try {
        connection?.close();
      } catch { /* already closed */ }
      connection = null;
      return Promise.resolve();
    },
  };
}

function smtpTransport(settings: NonNullable<NotifyTarget["smtp"]>, timeoutMs: number): Transport {
  // nodemailer's transporter connects on sendMail, so making it on the first send changes nothing.
  let transporter: Promise<Transporter> | null = null;
  const open = async () => {
    const { default: nodemailer } = await import("nodemailer");
    return nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      requireTLS: settings.starttls === "require",
      ignoreTLS: settings.starttls === "off",
      auth: settings.user ? { user: settings.user, pass: settings.pass ?? "" } : undefined,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
  };
  return {
    async send(message) {
      await (await (transporter ??= open())).sendMail({
        from: settings.from,
        to: settings.to,
        subject: summaryLine(message),
        text: textBody(message),
        headers: { "X-IDS-Sensor-Event": message.type },
      });
    },
    async close() {
      (await transporter)?.close();
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
