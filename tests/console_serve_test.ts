/**
 * `ids-sensor serve` across restarts and over TLS: the token is generated and
 * printed once, then only read; triage state, alerts and upload jobs survive a restart;
 * with a certificate and key the console speaks HTTPS (a self-signed
 * certificate made by openssl, trusted by the test's client only) and the
 * session cookie is `Secure`. TLS skips, saying why, without openssl.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../src/store/mod.ts";
import { repoRoot, toolAvailable } from "./support/environment.ts";
import { sampleAlert } from "./support/sample_alert.ts";
import { startConsoleProcess } from "./support/console_server.ts";

const SCAN = `${repoRoot}tests/fixtures/lab/syn-scan/capture.pcap`;

Deno.test("serve: token printed once; alerts, triage and jobs kept across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "console-serve-" });
  const db = join(dir, "ids.sqlite");
  try {
    const store = openStore(db);
    const [id] = store.write([{ alert: sampleAlert() }]);
    store.close();
    const first = await startConsoleProcess(db);
    const headers = { authorization: `Bearer ${first.token}` };
    const ack = await fetch(`${first.url}/api/v1/alerts/${id}/ack`, { method: "POST", headers });
    assert.equal(ack.status, 200, await ack.text());
    const form = new FormData();
    form.set("file", new File([await Deno.readFile(SCAN)], "scan.pcap"));
    const job = await (await fetch(`${first.url}/api/v1/analyze`, {
      method: "POST",
      headers,
      body: form,
    })).json();
    for (let k = 0; k < 300; k++) {
      const state = (await (await fetch(`${first.url}/api/v1/jobs/${job.id}`, { headers })).json())
        .state;
      if (state === "done" || state === "failed") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await first.stop(), 0);
    assert.ok(first.log().includes(`(mode 600): ${first.token}`));

    const second = await startConsoleProcess(db);
    try {
      assert.equal(second.token, first.token);
      assert.ok(!second.log().includes(second.token), "the token is not printed again");
      assert.match(second.log(), /token in .*ids\.sqlite\.token/);
      const alert = await (await fetch(`${second.url}/api/v1/alerts/${id}`, { headers })).json();
      assert.equal(alert.status, "acknowledged");
      // The upload job's record and its alerts outlive the server that ran it.
      const again = await (await fetch(`${second.url}/api/v1/jobs/${job.id}`, { headers })).json();
      assert.equal(again.state, "done", JSON.stringify(again));
      assert.ok(again.summary.packets > 0);
      assert.equal(again.alerts.length, again.summary.alerts);
    } finally {
      assert.equal(await second.stop(), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const noOpenssl = toolAvailable("openssl") ? null : "openssl not found (apt-get install openssl)";
if (noOpenssl) console.warn(`skipping the console TLS test: ${noOpenssl}`);

Deno.test({
  name: "serve over TLS: HTTPS with the given certificate, Secure cookie, plain HTTP refused",
  ignore: noOpenssl !== null,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "console-tls-" });
    try {
      // A throwaway CA and a server certificate it signs (rustls refuses a CA as the server's).
      const cert = join(dir, "cert.pem");
      const key = join(dir, "key.pem");
      const ca = join(dir, "ca.pem");
      await Deno.writeTextFile(
        join(dir, "leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
          "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
      );
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      for (
        const args of [
          [
            "req",
            "-x509",
            ...ec,
            "-days",
            "1",
            "-subj",
            "/CN=ids-console-test-ca",
            "-keyout",
            join(dir, "ca.key"),
            "-out",
            ca,
          ],
          ["req", ...ec, "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", join(dir, "leaf.csr")],
          [
            "x509",
            "-req",
            "-in",
            join(dir, "leaf.csr"),
            "-CA",
            ca,
            "-CAkey",
            join(dir, "ca.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            join(dir, "leaf.ext"),
            "-out",
            cert,
          ],
        ]
      ) {
        const made = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
          .output();
        assert.ok(made.success, new TextDecoder().decode(made.stderr));
      }
      const server = await startConsoleProcess(join(dir, "ids.sqlite"), [
        "--tls-cert",
        cert,
        "--tls-key",
        key,
      ]);
      const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(ca)] });
      try {
        assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
        const health = await fetch(`${server.url}/healthz`, { client });
        assert.deepEqual(await health.json(), { status: "ok" });
        const stats = await fetch(`${server.url}/api/v1/stats`, {
          client,
          headers: { authorization: `Bearer ${server.token}` },
        });
        assert.equal(stats.status, 200);
        await stats.body?.cancel();
        const login = await fetch(`${server.url}/login`, {
          client,
          method: "POST",
          body: new URLSearchParams({ token: server.token }),
          redirect: "manual",
        });
        await login.body?.cancel();
        assert.match(login.headers.get("set-cookie")!, /; Secure/);
        await assert.rejects(
          fetch(server.url.replace("https:", "http:") + "/healthz").then((r) => r.text()),
        );
      } finally {
        client.close();
        await server.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
