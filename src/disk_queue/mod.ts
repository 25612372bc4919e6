/**
 * A bounded, ordered, persistent queue of JSON records on disk (segments of
 * JSON lines; oldest dropped and counted when full). Used by the fleet
 * publisher's buffer (src/fleet) and the notification spools (src/notify).
 *
 * ```ts
 * import { openDiskQueue } from "./mod.ts";
 * const queue = await openDiskQueue<{ id: string }>("/var/lib/x/queue", { maxBytes: 1 << 20 });
 * await queue.append([{ id: "a" }, { id: "b" }]);
 * const head = await queue.peek(); // { seq, records }
 * if (head) await queue.settle(head.seq); // delivered
 * ```
 */
export {
  countQueued,
  type DiskQueue,
  type DiskQueueOptions,
  openDiskQueue,
  type QueueSegment,
} from "./disk_queue.ts";
