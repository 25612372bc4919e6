/**
 * Notifications: alerts to e-mail, webhooks (generic JSON, Slack, Discord)
 * and syslog, off the detection path, with retries, a bounded on-disk spool,
 * per-target minimum severity and rate limits with digests.
 *
 * ```ts
 * import { createNotifyHub } from "./mod.ts";
 * const hub = await createNotifyHub(["syslog://127.0.0.1:514?proto=udp"], { spoolDir: "spool" });
 * // hub is an AlertSink: pass it to the detector with the other sinks.
 * ```
 */
export {
  type NotifyKind,
  type NotifyTarget,
  NotifyTargetError,
  parseNotifyTarget,
  redact,
} from "./target.ts";
export {
  type Digest,
  discordPayload,
  makeDigest,
  type NotifyMessage,
  rfc5424,
  slackPayload,
  summaryLine,
} from "./message.ts";
export { createTransport, RejectedError, type Transport } from "./transport.ts";
export { countSpooled, openSpool, type Spool, type SpoolOptions } from "./spool.ts";
export {
  createNotifier,
  type Notifier,
  type NotifierOptions,
  type NotifierStats,
  spoolFolderName,
} from "./notifier.ts";
export { createNotifyHub, type NotifyHub } from "./hub.ts";
export { defaultSpoolDir } from "./spool_dir.ts";
