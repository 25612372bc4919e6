/**
 * eval's time to alert: alerts matched to the episode of their attacker and time,
 * and the real engine replayed on the mixed range fixture.
 */
import assert from "node:assert/strict";
import { loadSensorBundle } from "../engine/mod.ts";
import { firstAlertPerEpisode, namesBehaviour, replayAlerts } from "./mod.ts";
import { sampleAlert } from "../../tests/support/sample_alert.ts";
import { parseAttackWindows } from "../label/mod.ts";

const FIXTURES = new URL("../../tests/fixtures/lab/", import.meta.url).pathname;
const FIXTURE = `${FIXTURES}mixed/`;
const MODEL = new URL("../../models/default", import.meta.url).pathname;

Deno.test("firstAlertPerEpisode: the attacker's first alert whose evidence overlaps the window", () => {
  const windows = [
    { attacker: "10.0.0.66", start: 1000, end: 1010, attack: "scan" },
    { attacker: "10.0.0.67", start: 1020, end: 1030, attack: "flood" },
    { attacker: "10.0.0.68", start: 1040, end: 1050, attack: "missed" },
  ];
  const at = (s: number) => new Date(s * 1000).toISOString();
  const alerts = [
    // Same attacker, evidence before the window: another episode's.
    sampleAlert({ src_ip: "10.0.0.66", timestamp: at(999), flow: flowSpan(at(990), at(998)) }),
    sampleAlert({
      src_ip: "10.0.0.66",
      timestamp: at(1001.5),
      flow: flowSpan(at(1000.2), at(1001)),
    }, {
      name: "TCP SYN scan",
    }),
    // A reply direction alert names the attacker as destination.
    sampleAlert({
      dest_ip: "10.0.0.67",
      src_ip: "10.0.0.10",
      timestamp: at(1023),
      flow: flowSpan(at(1020), at(1022)),
    }, {
      name: "TCP SYN-ACK reflection",
    }),
  ];
  const first = Float64Array.from([1000.1e6, 1020e6, 1040e6]);
  const found = firstAlertPerEpisode(alerts, windows, first);
  assert.equal(found[0]!.name, "TCP SYN scan");
  assert.ok(Math.abs(found[0]!.seconds - 1.4) < 1e-6);
  assert.equal(found[1]!.name, "TCP SYN-ACK reflection");
  assert.equal(found[2], null);
});

function flowSpan(start: string, end: string) {
  return {
    pkts_toserver: 1,
    pkts_toclient: 0,
    bytes_toserver: 0,
    bytes_toclient: 0,
    start,
    end,
    state: "S0",
  };
}

Deno.test("replayAlerts: the engine on the mixed range capture alerts both attacks inside their episodes", async () => {
  const bundle = await loadSensorBundle(MODEL);
  const windows = parseAttackWindows(await Deno.readTextFile(`${FIXTURE}labels.csv`));
  const alerts = await replayAlerts(`${FIXTURE}capture.pcap`, bundle);
  const first = Float64Array.from(windows, (w) => w.start * 1e6);
  const found = firstAlertPerEpisode(alerts, windows, first);
  console.log(found);
  found.forEach((f, e) => {
    assert.ok(f, `${windows[e].attack}: no alert`);
    // Capture time: after the episode began, before it ended (both run 11-12 s).
    assert.ok(f.seconds > 0 && f.seconds < windows[e].end - windows[e].start, `${f.seconds}`);
  });
});

Deno.test("replayAlerts: slowloris is named by its behaviour while it lasts (its held-open connections counted on later interim rows)", async () => {
  const bundle = await loadSensorBundle(MODEL);
  const dir = `${FIXTURES}slowloris/`;
  const windows = parseAttackWindows(await Deno.readTextFile(`${dir}labels.csv`));
  const alerts = await replayAlerts(`${dir}capture.pcap`, bundle);
  const first = Float64Array.from(windows, (w) => w.start * 1e6);
  const [named] = firstAlertPerEpisode(alerts, windows, first, namesBehaviour);
  assert.ok(named, `slowloris never named: ${alerts.map((a) => a.alert.name)}`);
  assert.equal(named.name, "slow HTTP DoS (slowloris)");
  // Capture time: before the episode (10 s of slowhttptest) ended, not at its end.
  const span = windows[0].end - windows[0].start;
  assert.ok(named.seconds > 0 && named.seconds < span, `named ${named.seconds} s in`);
});
