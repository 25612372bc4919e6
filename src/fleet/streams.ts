/**
 * The JetStream streams of the fleet, created when missing by whoever comes
 * first (sensor or console), with the same configuration on both sides.
 */
import {
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { EVENTS_STREAM, FLOWS_STREAM } from "./subjects.ts";

const NANOS_PER_SECOND = 1_000_000_000;

/** Limits of the fleet's streams (the CLI's defaults). */
export interface StreamLimits {
  /** How long alerts and stats stay in JetStream (default 7 days). */
  eventsMaxAgeSeconds?: number;
  /** Bytes of feature rows kept (oldest dropped first; default 1 GiB). */
  flowsMaxBytes?: number;
  /** JetStream's de-duplication window on Nats-Msg-Id (default 10 minutes). */
  duplicateWindowSeconds?: number;
}

/** Creates the fleet's streams if they do not exist yet. */
export async function ensureFleetStreams(
  jsm: JetStreamManager,
  limits: StreamLimits = {},
): Promise<void> {
  const duplicates = (limits.duplicateWindowSeconds ?? 600) * NANOS_PER_SECOND;
  const wanted = [
    {
      name: EVENTS_STREAM,
      subjects: ["ids.*.alerts", "ids.*.stats"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: (limits.eventsMaxAgeSeconds ?? 7 * 86_400) * NANOS_PER_SECOND,
      duplicate_window: duplicates,
    },
    {
      name: FLOWS_STREAM,
      subjects: ["ids.*.flows"],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_bytes: limits.flowsMaxBytes ?? 1024 ** 3,
      discard: DiscardPolicy.Old,
      duplicate_window: duplicates,
    },
  ];
  for (const config of wanted) {
    try {
      await jsm.streams.info(config.name);
    } catch {
      try {
        await jsm.streams.add(config);
      } catch (error) {
        // Another sensor or the console created it in between.
        try {
          await jsm.streams.info(config.name);
        } catch {
          throw error;
        }
      }
    }
  }
}
