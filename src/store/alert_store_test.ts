import assert from "node:assert/strict";
import { join } from "node:path";
import { sampleAlert } from "../../tests/support/sample_alert.ts";
import { openStore, suppressionCovers } from "./alert_store.ts";

Deno.test("store: write, filter, group, triage, evidence, retention; a second connection sees it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ids.sqlite");
    const writer = openStore(path);
    const reader = openStore(path);
    const pcap = new Uint8Array([1, 2, 3, 4]);
    const ids = writer.write([
      { alert: sampleAlert(), evidence: { pcap, packets: 1 } },
      { alert: sampleAlert({ src_ip: "10.0.0.67" }, { class: "syn-flood", severity: 1 }) },
      {
        alert: sampleAlert({ timestamp: "2026-12-01T10:01:00.000Z" }),
        source: "upload:job-1",
      },
    ], [{
      minuteMs: Date.parse("2026-12-01T10:00:00Z"),
      flows: 10,
      packets: 100,
      bytes: 1000,
      benignFlows: 8,
      knownFlows: 2,
      unknownFlows: 0,
      alerts: 3,
    }]);
    assert.deepEqual(ids, [1, 2, 3]);
    assert.equal(reader.maxAlertId(), 3);
    assert.equal(reader.listAlerts({}, { limit: 10 }).total, 3);
    assert.equal(reader.listAlerts({ severity: 1 }, { limit: 10 }).alerts[0].class, "syn-flood");
    assert.equal(reader.listAlerts({ address: "10.0.0.67" }, { limit: 10 }).total, 1);
    assert.equal(reader.listAlerts({ source: "upload:job-1" }, { limit: 10 }).total, 1);
    assert.equal(reader.listAlerts({ since: "2026-12-01T10:00:30Z" }, { limit: 10 }).total, 1);
    assert.equal(reader.listAlerts({ q: "flood" }, { limit: 10 }).total, 1);
    assert.equal(reader.listAlerts({ q: "%" }, { limit: 10 }).total, 0, "LIKE wildcards escaped");
    const page = reader.listAlerts({}, { limit: 1, offset: 1 });
    assert.equal(page.alerts[0].id, 2);
    const groups = reader.alertGroups({}, 10);
    assert.equal(groups.length, 2);
    const scan = groups.find((g) => g.class === "syn-scan")!;
    assert.equal(scan.alerts, 2);
    assert.equal(scan.flows, 10);
    assert.equal(scan.first_seen, "2026-12-01T10:00:00.000Z");
    assert.equal(scan.last_seen, "2026-12-01T10:01:00.000Z");
    const one = reader.getAlert(1)!;
    assert.equal(one.eve.alert.class, "syn-scan");
    assert.equal(one.evidence_bytes, 4);
    assert.deepEqual([...reader.evidence(1)!], [1, 2, 3, 4]);
    assert.equal(reader.evidence(2), null);
    assert.equal(reader.getAlert(99), null);
    assert.equal(reader.setStatus(1, "acknowledged"), true);
    assert.equal(reader.setStatus(99, "acknowledged"), false);
    assert.equal(writer.getAlert(1)!.status, "acknowledged");
    assert.deepEqual(reader.stats().by_status, { acknowledged: 1, new: 2 });
    assert.equal(reader.traffic("2026-12-01T00:00:00Z")[0].packets, 100);
    writer.writeSensorStatus("live eth0", { uptime: 5 });
    assert.equal(reader.sensorStatuses()[0].status.uptime, 5);
    assert.equal(writer.prune(1, new Date("2026-12-02T10:00:30Z")), 2);
    assert.equal(reader.maxAlertId(), 3);
    assert.equal(reader.evidence(1), null, "evidence goes with its alert");
    writer.close();
    reader.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("suppressions: match by every set field, expire, need one field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = openStore(join(dir, "s.sqlite"));
    const now = new Date("2026-12-01T10:00:00Z");
    assert.throws(() => store.addSuppression({ reason: "nothing" }), /at least one/);
    const bySource = store.addSuppression({
      src_ip: "10.0.0.66",
      expires_at: "2026-12-01T11:00:00.000Z",
    }, now);
    const byClass = store.addSuppression({ class: "syn-flood", dest_ip: "10.0.0.10" }, now);
    const alert = sampleAlert();
    const iso = now.toISOString();
    assert.equal(suppressionCovers(bySource, alert, iso), true);
    assert.equal(suppressionCovers(bySource, alert, "2026-12-01T11:00:00.000Z"), false, "expired");
    assert.equal(suppressionCovers(byClass, alert, iso), false, "class differs");
    assert.equal(suppressionCovers(byClass, sampleAlert({}, { class: "syn-flood" }), iso), true);
    assert.equal(store.activeSuppressions(now).length, 2);
    assert.equal(store.activeSuppressions(new Date("2026-12-01T12:00:00Z")).length, 1);
    assert.equal(store.deleteSuppression(byClass.id), true);
    assert.equal(store.deleteSuppression(byClass.id), false);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("store: an older store without the console columns opens and gains them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "old.sqlite");
    const { DatabaseSync } = await import("node:sqlite");
    const old = new DatabaseSync(path);
    old.exec(
      `CREATE TABLE alerts (id INTEGER PRIMARY KEY, timestamp TEXT NOT NULL, src_ip TEXT NOT NULL,
      src_port INTEGER NOT NULL, dest_ip TEXT NOT NULL, dest_port INTEGER NOT NULL, proto TEXT NOT NULL,
      community_id TEXT NOT NULL, verdict TEXT NOT NULL, class TEXT NOT NULL, name TEXT NOT NULL,
      score REAL NOT NULL, threshold REAL NOT NULL, model TEXT NOT NULL, severity INTEGER NOT NULL,
      count INTEGER NOT NULL, pkts_toserver INTEGER NOT NULL, pkts_toclient INTEGER NOT NULL,
      bytes_toserver REAL NOT NULL, bytes_toclient REAL NOT NULL, flow_start TEXT NOT NULL,
      flow_end TEXT NOT NULL, window_start TEXT NOT NULL, window_end TEXT NOT NULL, eve TEXT NOT NULL)`,
    );
    old.close();
    const store = openStore(path);
    store.write([{ alert: sampleAlert() }]);
    assert.equal(store.getAlert(1)!.status, "new");
    assert.equal(store.getAlert(1)!.source, "sensor");
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("alert groups: the maintained table equals the aggregate, through writes, triage and retention", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = openStore(join(dir, "g.sqlite"));
    const classes = ["syn-scan", "syn-flood", "udp-scan"];
    for (let k = 0; k < 5; k++) {
      store.write(Array.from({ length: 40 }, (_, i) => ({
        alert: sampleAlert(
          {
            timestamp: new Date(Date.parse("2026-12-01T10:00:00Z") + (k * 40 + i) * 60_000)
              .toISOString(),
            src_ip: `10.0.0.${i % 7}`,
          },
          { class: classes[i % 3], severity: 1 + (i % 3), count: 1 + i, name: `name ${k}` },
        ),
      })));
    }
    for (const id of [3, 5, 8, 13, 21]) store.setStatus(id, "acknowledged");
    store.setStatus(5, "escalated");
    store.setStatus(8, "new");
    const sorted = (groups: ReturnType<typeof store.alertGroups>) =>
      [...groups].sort((a, b) => a.latest_id - b.latest_id);
    // A filter that matches everything takes the aggregating path.
    const check = () =>
      assert.deepEqual(
        sorted(store.alertGroups({}, 1000)),
        sorted(store.alertGroups({ since: "2000-01-01T00:00:00Z" }, 1000)),
      );
    check();
    assert.equal(store.alertGroups({}, 1000).reduce((n, g) => n + g.alerts, 0), 200);
    assert.equal(store.alertGroups({}, 1000).reduce((n, g) => n + g.new_alerts, 0), 196);
    assert.equal(store.prune(1, new Date("2026-12-02T12:00:00Z")) > 0, true);
    check();
    assert.equal(store.stats().alerts, store.listAlerts({}, { limit: 1 }).total);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
