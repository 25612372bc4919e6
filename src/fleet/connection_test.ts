import assert from "node:assert/strict";
import { natsConnectionOptions } from "./connection.ts";

Deno.test("connection options: URLs, credentials in the URL, one kind of credentials, TLS", async () => {
  const plain = await natsConnectionOptions({ url: "nats://10.0.0.1:4222,nats://[::1]" });
  assert.deepEqual(plain.servers, ["10.0.0.1:4222", "[::1]:4222"]);
  assert.equal(plain.tls, undefined);
  const tls = await natsConnectionOptions({ url: "tls://u:p%40ss@h:4443" });
  assert.deepEqual(tls.servers, ["h:4443"]);
  assert.ok(tls.tls);
  assert.ok(tls.authenticator);
  await assert.rejects(natsConnectionOptions({ url: "http://h" }), /scheme must be nats/);
  await assert.rejects(natsConnectionOptions({ url: "nats://h", tlsCert: "c.pem" }), /go together/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/user`, "no-colon");
    await assert.rejects(
      natsConnectionOptions({ url: "nats://h", userFile: `${dir}/user` }),
      /user:password/,
    );
    await Deno.writeTextFile(`${dir}/token`, "t");
    await assert.rejects(
      natsConnectionOptions({ url: "nats://u:p@h", tokenFile: `${dir}/token` }),
      /one kind of NATS credentials/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
