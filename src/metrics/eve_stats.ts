/**
 * The periodic `stats` event of the EVE output, in the shape of Suricata's
 * (`stats.uptime`, `stats.capture.kernel_packets/kernel_drops/kernel_ifdrops`,
 * `stats.decoder.pkts/bytes`, `stats.flow.*`, `stats.detect.alert`), plus an
 * `ids` section for what Suricata has no word for (verdicts, inference).
 */
import type { LiveInterfaceStats } from "../capture/mod.ts";
import type { DetectionProgress } from "../engine/mod.ts";
import type { NotifierStats } from "../notify/mod.ts";

/** One `stats` event. */
export interface StatsEvent {
  timestamp: string;
  event_type: "stats";
  stats: {
    uptime: number;
    capture?: {
      kernel_packets: number;
      kernel_drops: number;
      kernel_ifdrops: number;
      ring_overruns: number;
    };
    decoder: {
      pkts: number;
      bytes: number;
      invalid: number;
      not_metered: Record<string, number>;
      /** Packets read from inside tunnels, by the innermost tunnel (VXLAN, GRE, ...). */
      tunnels: Record<string, number>;
    };
    flow: {
      total: number;
      active: number;
      ended: number;
      end: Record<string, number>;
      memuse: number;
      /** Suricata's name: times the flow table entered emergency mode. */
      emerg_mode_entered: number;
    };
    detect: { alert: number };
    ids: {
      verdicts: { benign: number; known: number; unknown: number };
      inference: { rows: number; batches: number; worker_ms: number };
      /** Rows not scored because inference fell behind live capture. */
      shed: { final_rows: number; interim_rows: number };
      unknown_suppressed_flows: number;
      /** Flagged bulk transfers not counted as strong anomalies or toward a rate (vote_rule.ts). */
      unknown_bulk_flows: number;
      /**
       * Conversations seen one side only (Suricata's stream.async-oneside,
       * Zeek's possible_split_routing): TCP connections that proved it, the
       * TCP connections seen both ways, flows and model votes not counted
       * as evidence for it, host pairs proven one-way now.
       */
      one_sided: {
        tcp_one_side: number;
        tcp_two_way: number;
        flows_excused: number;
        votes_excused: number;
        pairs: number;
      };
      notify?: {
        target: string;
        sent: number;
        failures: number;
        spool: number;
        spool_dropped: number;
      }[];
    };
  };
}

/** Builds the stats event from the engine's totals and, when live, the capture statistics. */
export function makeStatsEvent(
  progress: DetectionProgress,
  bytes: number,
  capture: readonly LiveInterfaceStats[] = [],
  notify: readonly NotifierStats[] = [],
  now = new Date(),
): StatsEvent {
  const m = progress.meter;
  const d = progress.detector;
  const notMetered = Object.fromEntries(
    Object.entries(m.decode.byOutcome).filter(([k, n]) => k !== "metered" && n > 0),
  );
  const sum = (pick: (s: LiveInterfaceStats) => number) => capture.reduce((t, s) => t + pick(s), 0);
  return {
    timestamp: now.toISOString(),
    event_type: "stats",
    stats: {
      uptime: Math.round(progress.elapsedSeconds),
      ...(capture.length > 0
        ? {
          capture: {
            kernel_packets: sum((s) => s.received),
            kernel_drops: sum((s) => s.kernelDropped),
            kernel_ifdrops: sum((s) => s.interfaceDropped),
            ring_overruns: sum((s) => s.ringOverruns),
          },
        }
        : {}),
      decoder: {
        pkts: m.decode.packets,
        bytes,
        invalid: Object.values(notMetered).reduce((t, n) => t + n, 0),
        not_metered: notMetered,
        tunnels: { ...m.decode.tunnels },
      },
      flow: {
        total: m.flowsCreated,
        active: m.flowsLive,
        ended: m.flowsEnded,
        end: { ...m.flowsEndedByReason },
        memuse: m.tableBytes,
        emerg_mode_entered: m.emergencyEntered ?? 0,
      },
      detect: { alert: d.alerts },
      ids: {
        verdicts: { benign: d.benign, known: d.known, unknown: d.unknown },
        inference: {
          rows: d.inference.rows,
          batches: d.inference.batches,
          worker_ms: d.inference.workerMs,
        },
        shed: { final_rows: d.shed?.finalRows ?? 0, interim_rows: d.shed?.interimRows ?? 0 },
        unknown_suppressed_flows: d.unknownSuppressedFlows,
        unknown_bulk_flows: d.unknownBulkFlows ?? 0,
        one_sided: {
          tcp_one_side: d.oneSided?.proofFlows ?? 0,
          tcp_two_way: d.oneSided?.twoWayTcpFlows ?? 0,
          flows_excused: d.oneSided?.excusedFlows ?? 0,
          votes_excused: d.oneSided?.excusedVotes ?? 0,
          pairs: d.oneSided?.pairs ?? 0,
        },
        ...(notify.length > 0
          ? {
            notify: notify.map((n) => ({
              target: n.target,
              sent: n.sent,
              failures: n.failures,
              spool: n.spoolSize,
              spool_dropped: n.spoolDropped,
            })),
          }
          : {}),
      },
    },
  };
}
