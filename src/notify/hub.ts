/**
 * Every notification target of a run behind one AlertSink. `update` swaps
 * the set of targets (SIGHUP): targets still listed keep their queue and
 * spool, new ones start, dropped ones deliver what they can and spool the
 * rest.
 */
import type { Alert, AlertSink } from "../alert/mod.ts";
import { join } from "node:path";
import {
  createNotifier,
  type Notifier,
  type NotifierOptions,
  type NotifierStats,
  spoolFolderName,
} from "./notifier.ts";
import { parseNotifyTarget } from "./target.ts";
import { countSpooled } from "./spool.ts";

/** The notifiers of a run, as one sink. */
export interface NotifyHub extends AlertSink {
  /** Replaces the targets with `urls` (parsed first: a bad URL changes nothing and throws). */
  update(urls: readonly string[]): Promise<{ added: string[]; removed: string[]; kept: string[] }>;
  /** Counters of every current target. */
  stats(): NotifierStats[];
  /** Alerts for which `skip` returns true are not notified (triage suppressions); null: none. */
  setFilter(skip: ((alert: Alert) => boolean) | null): void;
  /** Alerts the filter kept from every target. */
  readonly filtered: number;
}

/** Starts a notifier per URL (each URL is checked before any starts). */
export async function createNotifyHub(
  urls: readonly string[],
  options: NotifierOptions,
): Promise<NotifyHub> {
  let notifiers = new Map<string, Notifier>();
  async function update(next: readonly string[]) {
    const targets = next.map(parseNotifyTarget);
    const fresh = new Map<string, Notifier>();
    const added: string[] = [];
    const kept: string[] = [];
    for (const target of targets) {
      if (fresh.has(target.url)) continue;
      const existing = notifiers.get(target.url);
      if (existing) kept.push(target.label);
      else added.push(target.label);
      fresh.set(target.url, existing ?? await createNotifier(target, options));
    }
    const gone = [...notifiers.entries()].filter(([url]) => !fresh.has(url));
    notifiers = fresh;
    await Promise.all(gone.map(([, n]) => n.close()));
    return { added, removed: gone.map(([, n]) => n.target.label), kept };
  }
  await update(urls);
  await reportOrphanSpools(options, [...notifiers.values()]);
  let skip: ((alert: Alert) => boolean) | null = null;
  let filtered = 0;
  return {
    name: "notify",
    update,
    setFilter(next) {
      skip = next;
    },
    get filtered() {
      return filtered;
    },
    write(alerts) {
      if (notifiers.size === 0) return;
      let kept = alerts;
      if (skip) {
        kept = alerts.filter((a) => !skip!(a));
        filtered += alerts.length - kept.length;
      }
      if (kept.length === 0) return;
      for (const notifier of notifiers.values()) notifier.write(kept);
    },
    flush: () => Promise.resolve(),
    async close() {
      await Promise.all([...notifiers.values()].map((n) => n.close()));
    },
    stats: () => [...notifiers.values()].map((n) => n.stats()),
  };
}

/**
 * Spool folders of targets no longer configured still hold undelivered
 * messages: say so at start (they are kept, not deleted, and drain if the
 * target is configured again).
 */
async function reportOrphanSpools(options: NotifierOptions, current: Notifier[]): Promise<void> {
  const log = options.log ?? ((line: string) => console.error(line));
  const inUse = new Set(await Promise.all(current.map((n) => spoolFolderName(n.target))));
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(options.spoolDir));
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory || inUse.has(entry.name)) continue;
    const dir = join(options.spoolDir, entry.name);
    const waiting = await countSpooled(dir);
    if (waiting > 0) {
      log(
        `ids-sensor: notify: ${waiting} undelivered messages in ${dir} belong to a target ` +
          "that is no longer configured (kept; they drain when it is configured again)",
      );
    }
  }
}
