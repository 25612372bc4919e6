import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../store/mod.ts";
import { openSensorLink } from "./sensor_link.ts";

Deno.test("sensor link: the status names the model running now (after a SIGHUP reload or fleet update), at once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sensor-link-" });
  try {
    const dbPath = join(dir, "ids.sqlite");
    const link = await openSensorLink({
      dbPath,
      sensorName: "analyze",
      interfaces: [],
      modelDir: "models/default",
    });
    const reader = openStore(dbPath);
    try {
      const model = () => reader.sensorStatuses()[0].status.model;
      assert.equal(model(), "models/default");
      link.setModel("/var/lib/ids-sensor/learned");
      assert.equal(model(), "/var/lib/ids-sensor/learned");
      link.close();
      assert.equal(model(), "/var/lib/ids-sensor/learned", "the final status keeps it");
    } finally {
      reader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
