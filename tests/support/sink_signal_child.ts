/**
 * Child process for tests/sink_signal_test.ts: queues N alerts in a JSONL and
 * a SQLite sink (its buffer larger than N, so no row is written yet; the JSONL
 * sink writes on the next tick), installs
 * the SIGINT/SIGTERM handlers, says "ready", and waits to be signalled.
 */
import { closeOnSignals, createJsonlSink, createSqliteSink } from "../../src/alert/sinks/mod.ts";
import type { Alert } from "../../src/alert/schema.ts";

const [dir, countText] = Deno.args;
const n = Number(countText);
const jsonl = await createJsonlSink(`${dir}/alerts.jsonl`, { maxBufferedLines: n + 1 });
const sqlite = createSqliteSink(`${dir}/ids.db`, { maxBufferedRows: n + 1 });
const t = new Date(0).toISOString();
const alerts: Alert[] = Array.from({ length: n }, (_, k) => ({
  timestamp: t,
  event_type: "alert",
  src_ip: "10.0.0.1",
  src_port: k,
  dest_ip: "10.0.0.2",
  dest_port: 80,
  proto: "TCP",
  community_id: "1:x",
  flow: {
    pkts_toserver: 1,
    pkts_toclient: 0,
    bytes_toserver: 0,
    bytes_toclient: 0,
    start: t,
    end: t,
    state: "S0",
  },
  alert: {
    verdict: "unknown",
    class: "unknown",
    name: "SYN flood",
    score: 2,
    threshold: 1,
    model: "ae",
    severity: 1,
    top_features: [],
    count: 1,
    window: { start: t, end: t, seconds: 60 },
    distinct_dest_ports: 1,
  },
}));
await jsonl.write(alerts);
await sqlite.write(alerts);
closeOnSignals(async () => {
  await jsonl.close();
  await sqlite.close();
});
console.log("ready");
// Keep the process alive until a signal arrives.
setInterval(() => {}, 1000);
