/** Alerts for the notify tests (valid EVE records, distinct by index). */
import { type Alert, AlertSchema } from "../alert/mod.ts";

/** Alert number `k`, severity `severity`. */
export function sampleAlert(k: number, severity: 1 | 2 | 3 = 2): Alert {
  const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5) + k * 1000).toISOString();
  return AlertSchema.parse({
    timestamp: t,
    event_type: "alert",
    src_ip: `10.0.0.${k % 250 + 1}`,
    src_port: 40000 + k,
    dest_ip: "10.0.1.10",
    dest_port: 22,
    proto: "TCP",
    community_id: "1:abcdefghijklmnopqrstuvwxyz0=",
    flow: {
      pkts_toserver: 10,
      pkts_toclient: 8,
      bytes_toserver: 900,
      bytes_toclient: 1500,
      start: t,
      end: t,
      state: "SF",
    },
    alert: {
      verdict: "known",
      class: "ssh-brute-force",
      name: "SSH brute force",
      score: 0.97,
      threshold: 0.5,
      model: "gbdt",
      severity,
      top_features: [],
      count: 1 + k,
      window: { start: t, end: t, seconds: 60 },
      distinct_dest_ports: 1,
    },
  });
}
