import assert from "node:assert/strict";
import { join } from "node:path";
import { createSqliteSink } from "../alert/mod.ts";
import { openStore } from "../store/mod.ts";
import { sampleAlert } from "../../tests/support/sample_alert.ts";
import { gateSinks, SuppressionGate } from "./suppression_gate.ts";

Deno.test("gate: a suppression added by another connection applies at the next read, expires, counts once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ids.sqlite");
    const consoleSide = openStore(path);
    let now = Date.parse("2026-12-01T10:00:00Z");
    const gate = new SuppressionGate(path, { refreshSeconds: 2, nowMs: () => now });
    const scan = sampleAlert();
    const other = sampleAlert({ src_ip: "10.0.0.99" });
    assert.equal(gate.allows(scan), true);
    consoleSide.addSuppression({
      src_ip: "10.0.0.66",
      expires_at: "2026-12-01T10:05:00.000Z",
    }, new Date(now));
    const fresh = sampleAlert();
    assert.equal(gate.allows(fresh), true, "not read yet: the last list stands until the refresh");
    now += 2001;
    const later = sampleAlert();
    assert.equal(gate.allows(later), false);
    assert.equal(gate.allows(later), false);
    assert.equal(gate.suppressed, 1, "asked twice, counted once");
    assert.equal(gate.allows(other), true);
    now = Date.parse("2026-12-01T10:05:01Z");
    assert.equal(gate.allows(sampleAlert()), true, "expired");
    gate.close();
    consoleSide.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gateSinks: the real SQLite sink stores only what the gate lets through", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ids.sqlite");
    const store = openStore(path);
    store.addSuppression({ class: "syn-flood" });
    const gate = new SuppressionGate(store);
    const [sink] = gateSinks([createSqliteSink(path)], (a) => gate.allows(a));
    await sink.write([
      sampleAlert(),
      sampleAlert({}, { class: "syn-flood" }),
      sampleAlert({ src_ip: "10.0.0.7" }),
    ]);
    await sink.close();
    assert.deepEqual(store.listAlerts({}, { limit: 10 }).alerts.map((a) => a.class), [
      "syn-scan",
      "syn-scan",
    ]);
    assert.equal(gate.suppressed, 1);
    store.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
