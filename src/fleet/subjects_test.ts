import assert from "node:assert/strict";
import { fleetSubject, parseFleetSubject, scoreSubject, sensorIdFrom } from "./subjects.ts";

Deno.test("subjects: host names become subject tokens; bad ids are refused", () => {
  assert.equal(sensorIdFrom("edge1.example.org"), "edge1-example-org");
  assert.equal(sensorIdFrom(" site 7 / rack*2 "), "site-7-rack-2");
  assert.throws(() => sensorIdFrom("..."), /no usable characters/);
  assert.equal(fleetSubject("edge-1", "alerts"), "ids.edge-1.alerts");
  assert.throws(() => fleetSubject("a.b", "stats"), /not a sensor id/);
  assert.throws(() => scoreSubject("*"), /not a sensor id/);
  assert.deepEqual(parseFleetSubject("ids.edge-1.stats"), { sensor: "edge-1", kind: "stats" });
  assert.equal(parseFleetSubject("ids.edge-1.other"), null);
  assert.equal(parseFleetSubject("ids.a.b.alerts"), null);
});
