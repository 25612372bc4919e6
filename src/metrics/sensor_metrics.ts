/**
 * The sensor's Prometheus metrics. Counters come from the engine's progress
 * snapshot (refreshed about once a second through `onProgress`), the capture
 * workers' statistics and the notifiers, read at scrape time; alerts are
 * counted by a sink; inference latency and batch sizes are observed per
 * scored batch. Names follow Prometheus conventions (`_total` counters,
 * base units: seconds, bytes).
 */
import type { Alert, AlertSink } from "../alert/mod.ts";
import type { LiveInterfaceStats, PacketBatch } from "../capture/mod.ts";
import type { DetectionProgress } from "../engine/mod.ts";
import type { NotifierStats } from "../notify/mod.ts";
import {
  exponentialBounds,
  EXPOSITION_CONTENT_TYPE,
  Histogram,
  type MetricFamily,
  renderExposition,
  type Sample,
} from "./exposition.ts";
import { makeStatsEvent, type StatsEvent } from "./eve_stats.ts";

/** Where the metrics read their numbers. */
export interface SensorMetricsSources {
  /** Per-interface capture statistics (live detection). */
  capture?: () => readonly LiveInterfaceStats[];
  /** Notification targets' counters. */
  notify?: () => readonly NotifierStats[];
}

const PREFIX = "ids_sensor";

/** The alert layer's volume counters (src/alert AlertVolumeStats), as far as metrics use them. */
interface AlertVolume {
  groups: number;
  suppressedLines: number;
  suppressedFlows: number;
  groupsRefused: number;
  evidenceEvictions: number;
  evidenceBytes: number;
}

/** Collects and renders the sensor's metrics. */
export class SensorMetrics {
  /** Seconds from a flow batch being read by the detector to its verdicts. */
  readonly inferenceLatency = new Histogram(exponentialBounds(0.0005, 2, 14));
  /** Flows per scored batch. */
  readonly batchRows = new Histogram(exponentialBounds(1, 4, 9));
  readonly #sources: SensorMetricsSources;
  readonly #startedMs = Date.now();
  #progress: DetectionProgress | null = null;
  #bytes = 0;
  #moreBytes: () => number = () => 0;
  #alerts = new Map<string, { class: string; severity: number; count: number }>();
  #reloads = { ok: 0, failed: 0 };
  #model = "";

  constructor(sources: SensorMetricsSources = {}) {
    this.#sources = sources;
  }

  /** Sets or replaces sources (capture and notify start after the metrics endpoint). */
  setSources(sources: SensorMetricsSources): void {
    Object.assign(this.#sources, sources);
  }

  /** Takes the engine's running totals (pass as, or call from, `onProgress`). */
  update(progress: DetectionProgress): void {
    this.#progress = progress;
  }

  /** Wire bytes of the packets counted by `countBytes` and by `addByteCount`'s source. */
  get bytes(): number {
    return this.#bytes + this.#moreBytes();
  }

  /** Counts bytes counted elsewhere too (capture workers that meter their own packets). */
  addByteCount(bytes: () => number): void {
    this.#moreBytes = bytes;
  }

  /** The latest progress snapshot, or null before the first. */
  get progress(): DetectionProgress | null {
    return this.#progress;
  }

  /** The EVE `stats` event for now (null before the first progress snapshot). */
  statsEvent(): StatsEvent | null {
    if (!this.#progress) return null;
    return makeStatsEvent(
      this.#progress,
      this.bytes,
      this.#sources.capture?.() ?? [],
      this.#sources.notify?.() ?? [],
    );
  }

  /** Records one scored batch (the detector's per-batch hook). */
  observeBatch(rows: number, latencyMs: number): void {
    this.batchRows.observe(rows);
    this.inferenceLatency.observe(latencyMs / 1000);
  }

  /** Records a reload and the model in use after it. */
  recordReload(ok: boolean): void {
    if (ok) this.#reloads.ok++;
    else this.#reloads.failed++;
  }

  /** Names the model bundle in use (a label of `ids_sensor_model_info`). */
  setModel(name: string): void {
    this.#model = name;
  }

  /** Wraps a packet source to count wire bytes (one typed-array pass per batch). */
  async *countBytes(source: AsyncIterable<PacketBatch>): AsyncGenerator<PacketBatch> {
    for await (const batch of source) {
      let bytes = 0;
      const lengths = batch.wireLength;
      for (let i = 0; i < batch.count; i++) bytes += lengths[i];
      this.#bytes += bytes;
      yield batch;
    }
  }

  /** A sink counting alerts by class and severity. */
  alertSink(): AlertSink {
    const count = (alerts: readonly Alert[]) => {
      for (const a of alerts) {
        const key = `${a.alert.class}\u0000${a.alert.severity}`;
        const entry = this.#alerts.get(key) ??
          { class: a.alert.class, severity: a.alert.severity, count: 0 };
        entry.count++;
        this.#alerts.set(key, entry);
      }
    };
    return {
      name: "metrics",
      write: count,
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }

  /** Every metric family, read now. */
  families(): MetricFamily[] {
    const p = this.#progress;
    const families: MetricFamily[] = [];
    const counter = (name: string, help: string, samples: Sample[]) =>
      families.push({ name: `${PREFIX}_${name}`, help, type: "counter", samples });
    const gauge = (name: string, help: string, samples: Sample[]) =>
      families.push({ name: `${PREFIX}_${name}`, help, type: "gauge", samples });
    const one = (value: number): Sample[] => [{ value }];

    gauge(
      "start_time_seconds",
      "When the sensor started, seconds since the Unix epoch.",
      one(this.#startedMs / 1000),
    );
    gauge("model_info", "The model bundle in use (value 1).", [{
      labels: { model: this.#model },
      value: 1,
    }]);
    counter("reloads_total", "Configuration reloads (SIGHUP) by result.", [
      { labels: { result: "ok" }, value: this.#reloads.ok },
      { labels: { result: "failed" }, value: this.#reloads.failed },
    ]);
    counter(
      "packets_total",
      "Packets read from the capture source.",
      one(p?.meter.decode.packets ?? 0),
    );
    counter("bytes_total", "Bytes on the wire of the packets read.", one(this.bytes));
    counter(
      "packets_not_metered_total",
      "Packets not turned into flows, by reason (ARP, non-IP, truncated, ...).",
      Object.entries(p?.meter.decode.byOutcome ?? {}).filter(([k]) => k !== "metered")
        .map(([reason, value]) => ({ labels: { reason }, value })),
    );
    counter(
      "packets_tunnelled_total",
      "Packets read from inside a tunnel (VXLAN, Geneve, GRE, ERSPAN, IP in IP, MPLS, PPPoE), by the innermost one.",
      Object.entries(p?.meter.decode.tunnels ?? {})
        .map(([tunnel, value]) => ({ labels: { tunnel }, value: value ?? 0 })),
    );
    const capture = this.#sources.capture?.() ?? [];
    const perInterface = (pick: (s: LiveInterfaceStats) => number): Sample[] =>
      capture.map((s) => ({ labels: { interface: s.interfaceName }, value: pick(s) }));
    counter(
      "capture_received_packets_total",
      "Packets the kernel received for the capture (pcap ps_recv).",
      perInterface((s) => s.received),
    );
    counter(
      "capture_kernel_drops_total",
      "Packets dropped because the kernel capture buffer was full (ps_drop).",
      perInterface((s) => s.kernelDropped),
    );
    counter(
      "capture_interface_drops_total",
      "Packets dropped by the interface or driver (ps_ifdrop).",
      perInterface((s) => s.interfaceDropped),
    );
    counter(
      "capture_ring_overruns_total",
      "Times every ring slot was full and capture waited for the engine.",
      perInterface((s) => s.ringOverruns),
    );
    gauge("flows_active", "Flows in the flow table.", one(p?.meter.flowsLive ?? 0));
    gauge(
      "flow_table_bytes",
      "Bytes held by the flow table's arrays.",
      one(p?.meter.tableBytes ?? 0),
    );
    counter("flows_created_total", "Flows created.", one(p?.meter.flowsCreated ?? 0));
    const memcap = p?.meter.memcapBytes ?? Infinity;
    if (Number.isFinite(memcap)) {
      gauge("flow_table_memcap_bytes", "The flow table's memory cap.", one(memcap));
    }
    gauge(
      "flow_table_emergency",
      "1 while the flow table is in emergency mode (memcap reached, short timeouts).",
      one(p?.meter.emergency ? 1 : 0),
    );
    counter(
      "flow_table_emergency_entered_total",
      "Times the flow table entered emergency mode.",
      one(p?.meter.emergencyEntered ?? 0),
    );
    counter(
      "flows_evicted_total",
      "Flows ended early to stay within the memcap, by kind of flow.",
      Object.entries(p?.meter.evictedByKind ?? {}).map(([kind, value]) => ({
        labels: { kind },
        value,
      })),
    );
    counter(
      "flow_interim_rows_total",
      "Rows of flows still open (scored before they end).",
      one(p?.meter.interimRows ?? 0),
    );
    counter(
      "flows_ended_total",
      "Flows ended, by reason (idle, active timeout, FIN, RST, evicted at capacity, end of input).",
      Object.entries(p?.meter.flowsEndedByReason ?? {}).map(([reason, value]) => ({
        labels: { reason },
        value,
      })),
    );
    const d = p?.detector;
    counter("verdicts_total", "Flow verdicts by kind.", [
      { labels: { verdict: "benign" }, value: d?.benign ?? 0 },
      { labels: { verdict: "known" }, value: d?.known ?? 0 },
      { labels: { verdict: "unknown" }, value: d?.unknown ?? 0 },
    ]);
    counter(
      "flows_unscored_protocol_total",
      "Flows of protocols the features do not describe (never alerted).",
      one(d?.unscoredProtocol ?? 0),
    );
    counter(
      "alerts_total",
      "Alert lines emitted after aggregation, by class and severity (1 high .. 3 low).",
      [...this.#alerts.values()].map((a) => ({
        labels: { class: a.class, severity: String(a.severity) },
        value: a.count,
      })),
    );
    counter(
      "unknown_suppressed_flows_total",
      "Unknown (anomaly-only) flows the alert rule kept back.",
      one(d?.unknownSuppressedFlows ?? 0),
    );
    counter(
      "unknown_bulk_flows_total",
      "Flagged bulk transfers (a download, a backup) not counted as strong anomalies or toward a rate.",
      one(d?.unknownBulkFlows ?? 0),
    );
    // Conversations seen one side only (Suricata's stream.async-oneside): see one_sided.ts.
    const oneSided = d?.oneSided;
    counter("one_sided_tcp_connections_total", "TCP connections by the sides of them seen.", [
      { labels: { seen: "one" }, value: oneSided?.proofFlows ?? 0 },
      { labels: { seen: "both" }, value: oneSided?.twoWayTcpFlows ?? 0 },
    ]);
    counter(
      "one_sided_flows_excused_total",
      "Flows whose missing answers (or requests) were not counted as evidence: their return path is unseen.",
      one(oneSided?.excusedFlows ?? 0),
    );
    // The alert layer's volume counters, when the engine reports them.
    const volume = (d as { alertVolume?: Partial<AlertVolume> } | undefined)?.alertVolume;
    counter(
      "alert_groups_total",
      "Alert groups opened (behaviours and model vote groups with enough evidence).",
      one(volume?.groups ?? 0),
    );
    counter(
      "alert_lines_suppressed_total",
      "Alert lines the per-minute volume cap held back.",
      one(volume?.suppressedLines ?? 0),
    );
    counter(
      "alert_flows_suppressed_total",
      "Flagged flows behind the alert lines the volume cap held back.",
      one(volume?.suppressedFlows ?? 0),
    );
    counter(
      "alert_groups_refused_total",
      "Alert groups not opened because too many were open at once.",
      one(volume?.groupsRefused ?? 0),
    );
    counter(
      "evidence_evictions_total",
      "Host-evidence table entries evicted to stay within their capacity.",
      one(volume?.evidenceEvictions ?? 0),
    );
    gauge(
      "evidence_bytes",
      "Bytes held by the host-evidence tables.",
      one(volume?.evidenceBytes ?? 0),
    );
    counter(
      "inference_rows_total",
      "Rows scored by the inference workers.",
      one(d?.inference.rows ?? 0),
    );
    counter(
      "inference_shed_rows_total",
      "Rows not scored because inference fell behind live capture, by row kind.",
      [
        { labels: { row: "final" }, value: d?.shed?.finalRows ?? 0 },
        { labels: { row: "interim" }, value: d?.shed?.interimRows ?? 0 },
      ],
    );
    counter(
      "inference_batches_total",
      "Batches sent to the inference workers.",
      one(d?.inference.batches ?? 0),
    );
    counter(
      "inference_worker_seconds_total",
      "Time spent inside inference workers (preprocessing and ONNX).",
      one((d?.inference.workerMs ?? 0) / 1000),
    );
    families.push({
      name: `${PREFIX}_inference_latency_seconds`,
      help: "From a flow batch reaching the detector to its verdicts.",
      type: "histogram",
      histograms: [this.inferenceLatency.snapshot()],
    });
    families.push({
      name: `${PREFIX}_inference_batch_flows`,
      help: "Flows per scored batch.",
      type: "histogram",
      histograms: [this.batchRows.snapshot()],
    });
    const notify = this.#sources.notify?.() ?? [];
    const awaiting = p ? Math.max(0, p.meter.flowsEnded - (d?.flows ?? 0)) : 0;
    gauge(
      "queue_depth",
      "Items waiting, by queue (flows ended but not yet decided; notifications in memory).",
      [
        { labels: { queue: "flows_awaiting_verdict" }, value: awaiting },
        ...notify.map((n) => ({ labels: { queue: "notify", target: n.target }, value: n.queued })),
      ],
    );
    const perTarget = (pick: (n: NotifierStats) => number): Sample[] =>
      notify.map((n) => ({ labels: { target: n.target, kind: n.kind }, value: pick(n) }));
    counter("notify_sent_total", "Notifications delivered.", perTarget((n) => n.sent));
    counter(
      "notify_failures_total",
      "Notification send attempts that failed (each retry counts).",
      perTarget((n) => n.failures),
    );
    counter(
      "notify_rejected_total",
      "Notifications the receiver refused for good (HTTP 4xx).",
      perTarget((n) => n.rejected),
    );
    counter(
      "notify_held_back_total",
      "Alerts over a target's rate limit, summarised in digests.",
      perTarget((n) => n.heldBack),
    );
    counter("notify_digests_total", "Digest messages made.", perTarget((n) => n.digests));
    gauge(
      "notify_spool_messages",
      "Notifications waiting in the on-disk spool.",
      perTarget((n) => n.spoolSize),
    );
    counter(
      "notify_spool_dropped_total",
      "Spooled notifications discarded (oldest first) because the spool was full.",
      perTarget((n) => n.spoolDropped),
    );
    gauge(
      "notify_target_up",
      "1 when the last delivery attempt to the target succeeded.",
      perTarget((n) => n.down ? 0 : 1),
    );
    return families;
  }

  /** The text Prometheus scrapes. */
  render(): string {
    return renderExposition(this.families());
  }

  /**
   * A web-standard handler serving `GET /metrics` (anything else: 404), to
   * mount in any server (`Deno.serve(handler)`, a Hono route).
   */
  handler(): (request: Request) => Response {
    return (request) => {
      const url = new URL(request.url);
      if (url.pathname !== "/metrics") return new Response("not found\n", { status: 404 });
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("method not allowed\n", {
          status: 405,
          headers: { allow: "GET, HEAD" },
        });
      }
      return new Response(request.method === "HEAD" ? null : this.render(), {
        headers: { "content-type": EXPOSITION_CONTENT_TYPE },
      });
    };
  }
}
