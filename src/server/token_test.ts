import assert from "node:assert/strict";
import { join } from "node:path";
import { loadOrCreateToken, sameToken } from "./token.ts";

Deno.test("token: created once with mode 600, read back after; short files refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "ids.sqlite.token");
    const first = await loadOrCreateToken(path);
    assert.equal(first.created, true);
    assert.ok(first.token.length >= 40);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const again = await loadOrCreateToken(path);
    assert.equal(again.created, false);
    assert.equal(again.token, first.token);
    assert.equal(sameToken(first.token, again.token), true);
    assert.equal(sameToken(first.token.slice(0, -1), first.token), false);
    assert.equal(sameToken("", first.token), false);
    await Deno.writeTextFile(join(dir, "short"), "abc");
    await assert.rejects(loadOrCreateToken(join(dir, "short")), /fewer than 16/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
