import assert from "node:assert/strict";
import { parseListen } from "./serve.ts";

Deno.test("parseListen: IPv4, IPv6 in brackets, bare port; nonsense refused", () => {
  assert.deepEqual(parseListen("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("[::1]:9000"), { hostname: "::1", port: 9000 });
  assert.deepEqual(parseListen(":8081"), { hostname: "127.0.0.1", port: 8081 });
  assert.deepEqual(parseListen("0.0.0.0:0"), { hostname: "0.0.0.0", port: 0 });
  for (const bad of ["8080", "localhost", "1.2.3.4:70000", "::1:80", "a:b"]) {
    assert.throws(() => parseListen(bad), /--listen must be ADDR:PORT/, bad);
  }
});
