import assert from "node:assert/strict";
import { DEFAULT_REMOTE_FALLBACK_MS } from "../fleet/mod.ts";
import { DEFAULT_REMOTE_SCORING_TIMEOUT_SECONDS } from "./fleet.ts";

Deno.test("--remote-scoring-timeout's default is the fleet's own fallback time", () => {
  assert.equal(DEFAULT_REMOTE_SCORING_TIMEOUT_SECONDS * 1000, DEFAULT_REMOTE_FALLBACK_MS);
});
