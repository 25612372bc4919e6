import assert from "node:assert/strict";
import { sseEvent } from "./live_feed.ts";

Deno.test("sseEvent: id, event and one data line", () => {
  assert.equal(sseEvent("alert", { a: "x\ny" }, 7), 'id: 7\nevent: alert\ndata: {"a":"x\\ny"}\n\n');
  assert.equal(sseEvent("status", 1), "event: status\ndata: 1\n\n");
});
