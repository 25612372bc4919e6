/** A valid EVE alert for store, console and triage tests. */
import type { Alert } from "../../src/alert/schema.ts";

/** A valid alert; `over` replaces top-level fields, `body` alert fields. */
export function sampleAlert(
  over: Partial<Alert> = {},
  body: Partial<Alert["alert"]> = {},
): Alert {
  return {
    timestamp: "2026-12-01T10:00:00.000Z",
    event_type: "alert",
    src_ip: "10.0.0.66",
    src_port: 40000,
    dest_ip: "10.0.0.10",
    dest_port: 80,
    proto: "TCP",
    community_id: "1:abc=",
    flow: {
      pkts_toserver: 3,
      pkts_toclient: 2,
      bytes_toserver: 180,
      bytes_toclient: 120,
      start: "2026-12-01T09:59:00.000Z",
      end: "2026-12-01T09:59:30.000Z",
      state: "S0",
    },
    alert: {
      verdict: "known",
      class: "syn-scan",
      name: "SYN port scan",
      score: 0.99,
      threshold: 0.5,
      model: "gbdt-classifier",
      severity: 2,
      top_features: [],
      count: 5,
      window: { start: "2026-12-01T09:59:00.000Z", end: "2026-12-01T10:00:00.000Z", seconds: 60 },
      distinct_dest_ports: 5,
      ...body,
    },
    ...over,
  };
}

/**
 * Alert number `k` of a sequence (source 10.0.0.<k+1>, source port 40000 + k,
 * one second apart, count k + 1) with `severity`: the notify tests tell
 * delivery order by the source port.
 */
export function numberedAlert(k: number, severity: 1 | 2 | 3 = 2): Alert {
  const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + k * 1000).toISOString();
  return sampleAlert(
    { timestamp: t, src_ip: `10.0.0.${k % 250 + 1}`, src_port: 40000 + k },
    { severity, count: 1 + k },
  );
}
