/**
 * The console's REST API against the real server (`ids-sensor serve` in a
 * child process): authentication, every endpoint, uploads analysed through
 * the real engine, the evidence pcap read back with the project's reader,
 * live events, bad uploads, path traversal attempts and oversized bodies.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readCaptureFile } from "../src/capture/mod.ts";
import { DecodedPacket, decodePacket, formatAddress } from "../src/features/mod.ts";
import { repoRoot } from "./support/environment.ts";
import { type ConsoleProcess, startConsoleProcess } from "./support/console_server.ts";

const SCAN = `${repoRoot}tests/fixtures/lab/syn-scan/capture.pcap`;
const FLOOD = `${repoRoot}tests/fixtures/lab/syn-flood/capture.pcap`;

async function call(
  server: ConsoleProcess,
  path: string,
  init: RequestInit & { token?: string | null } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? server.token : init.token;
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return await fetch(`${server.url}${path}`, { ...init, headers, redirect: "manual" });
}

async function json(server: ConsoleProcess, path: string, init: RequestInit = {}) {
  const response = await call(server, path, init);
  const body = await response.json();
  assert.ok(response.ok, `${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function expectProblem(response: Response, status: number, detail?: RegExp) {
  const body = await response.text();
  assert.equal(response.status, status, body);
  assert.equal(response.headers.get("content-type"), "application/problem+json", body);
  const problem = JSON.parse(body);
  assert.equal(problem.status, status);
  if (detail) assert.match(problem.detail, detail);
}

function upload(
  file: Uint8Array<ArrayBuffer> | string,
  name: string,
  fields: Record<string, string> = {},
) {
  const form = new FormData();
  form.set("file", new File([file], name));
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return form;
}

async function waitForJob(server: ConsoleProcess, id: string) {
  for (let k = 0; k < 600; k++) {
    const job = await json(server, `/api/v1/jobs/${id}`);
    if (job.state === "done" || job.state === "failed") return job;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`job ${id} did not finish`);
}

/** Reads SSE events from a stream until `enough` says so or the time is up. */
async function readEvents(
  response: Response,
  enough: (events: { event: string; id?: string; data: unknown }[]) => boolean,
  seconds: number,
) {
  const events: { event: string; id?: string; data: unknown }[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const deadline = Date.now() + seconds * 1000;
  try {
    while (!enough(events) && Date.now() < deadline) {
      const next = await Promise.race([
        reader.read(),
        new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
      ]);
      if (next === null || next.done) break;
      buffer += next.value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) {
          events.push({ event, id: /^id: (.*)$/m.exec(block)?.[1], data: JSON.parse(data) });
        }
      }
    }
  } finally {
    await reader.cancel();
  }
  return events;
}

Deno.test("console API against the real server", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "console-api-" });
  const db = join(dir, "ids.sqlite");
  const server = await startConsoleProcess(db, ["--max-upload-mb", "2"]);
  try {
    await t.step("the token file is new, mode 600, and printed once", async () => {
      const mode = (await Deno.stat(`${db}.token`)).mode! & 0o777;
      assert.equal(mode, 0o600);
      assert.ok(server.log().includes(server.token));
    });

    await t.step(
      "/healthz needs no token; everything else refuses without the right one",
      async () => {
        const health = await call(server, "/healthz", { token: null });
        assert.deepEqual(await health.json(), { status: "ok" });
        for (
          const path of [
            "/api/v1/alerts",
            "/api/v1/alerts/1",
            "/api/v1/alerts/groups",
            "/api/v1/alerts/export",
            "/api/v1/alerts/1/evidence.pcap",
            "/api/v1/suppressions",
            "/api/v1/stats",
            "/api/v1/model",
            "/api/v1/jobs",
            "/api/v1/events",
            "/api/v1/openapi.json",
            "/assets/app.js",
          ]
        ) {
          await expectProblem(await call(server, path, { token: null }), 401);
          await expectProblem(await call(server, path, { token: "not-the-token-at-all" }), 401);
        }
        await expectProblem(
          await call(server, "/api/v1/alerts/1/ack", { method: "POST", token: null }),
          401,
        );
        const page = await call(server, "/", { token: null, headers: { accept: "text/html" } });
        await page.body?.cancel();
        assert.equal(page.status, 302);
        assert.equal(page.headers.get("location"), "/login");
      },
    );

    await t.step("OpenAPI 3.1 document lists every endpoint", async () => {
      const doc = await json(server, "/api/v1/openapi.json");
      assert.equal(doc.openapi, "3.1.0");
      for (
        const path of [
          "/api/v1/alerts",
          "/api/v1/alerts/{id}",
          "/api/v1/alerts/{id}/ack",
          "/api/v1/alerts/{id}/escalate",
          "/api/v1/alerts/{id}/evidence.pcap",
          "/api/v1/alerts/groups",
          "/api/v1/alerts/export",
          "/api/v1/suppressions",
          "/api/v1/suppressions/{id}",
          "/api/v1/stats",
          "/api/v1/model",
          "/api/v1/analyze",
          "/api/v1/predict",
          "/api/v1/jobs",
          "/api/v1/jobs/{id}",
          "/api/v1/events",
        ]
      ) assert.ok(doc.paths[path], `${path} in the document`);
      assert.ok(doc.paths["/api/v1/analyze"].post.requestBody.content["multipart/form-data"]);
    });

    let scanJob: { id: string; source: string };
    let alertId = 0;
    await t.step(
      "a live client sees the alerts of an uploaded capture as they are stored",
      async () => {
        const events = await call(server, "/api/v1/events");
        assert.equal(events.headers.get("content-type"), "text/event-stream");
        const job = await json(server, "/api/v1/analyze", {
          method: "POST",
          body: upload(await Deno.readFile(SCAN), "syn-scan.pcap"),
        });
        assert.equal(job.kind, "analyze");
        assert.equal(job.source, `upload:${job.id}`);
        const seen = await readEvents(events, (e) => e.some((x) => x.event === "alert"), 60);
        assert.ok(seen.some((e) => e.event === "status"), "a status event first");
        const alert = seen.find((e) => e.event === "alert")!.data as { id: number; source: string };
        assert.equal(alert.source, job.source);
        const done = await waitForJob(server, job.id);
        assert.equal(done.state, "done", JSON.stringify(done));
        assert.ok(done.summary.packets > 1000 && done.summary.alerts >= 1, JSON.stringify(done));
        assert.equal(done.alerts.length, done.summary.alerts);
        scanJob = done;
        alertId = alert.id;
      },
    );

    await t.step("alerts: list, filters, paging, groups, one alert", async () => {
      const all = await json(server, "/api/v1/alerts");
      assert.ok(all.total >= 1);
      assert.equal(all.alerts[0].id >= all.alerts.at(-1).id, true, "newest first");
      const bySource = await json(server, `/api/v1/alerts?source=${scanJob.source}`);
      assert.equal(bySource.total, all.total);
      const byAddress = await json(server, "/api/v1/alerts?address=10.66.0.66");
      assert.ok(
        byAddress.alerts.every((a: { src_ip: string; dest_ip: string }) =>
          a.src_ip === "10.66.0.66" || a.dest_ip === "10.66.0.66"
        ),
      );
      const none = await json(server, "/api/v1/alerts?address=192.0.2.99&severity=1");
      assert.equal(none.total, 0);
      const later = await json(server, "/api/v1/alerts?since=2100-01-01T00:00:00Z");
      assert.equal(later.total, 0);
      const paged = await json(server, "/api/v1/alerts?limit=1&offset=0");
      assert.equal(paged.alerts.length, 1);
      await expectProblem(await call(server, "/api/v1/alerts?limit=0"), 400, /limit/);
      await expectProblem(await call(server, "/api/v1/alerts?verdict=maybe"), 400, /verdict/);
      await expectProblem(await call(server, "/api/v1/alerts?since=yesterday"), 400, /since/);
      const { groups } = await json(server, "/api/v1/alerts/groups");
      assert.ok(groups.length >= 1);
      assert.equal(
        groups.reduce((n: number, g: { alerts: number }) => n + g.alerts, 0),
        all.total,
      );
      const one = await json(server, `/api/v1/alerts/${alertId}`);
      assert.equal(one.id, alertId);
      assert.equal(one.eve.event_type, "alert");
      assert.equal(one.eve.community_id, one.community_id);
      await expectProblem(await call(server, "/api/v1/alerts/999999"), 404);
    });

    await t.step(
      "evidence pcap: downloaded and read back, every packet between the alert's hosts",
      async () => {
        const one = await json(server, `/api/v1/alerts/${alertId}`);
        assert.ok(one.evidence_bytes > 24, "the upload kept evidence");
        const response = await call(server, `/api/v1/alerts/${alertId}/evidence.pcap`);
        assert.equal(response.headers.get("content-type"), "application/vnd.tcpdump.pcap");
        const bytes = new Uint8Array(await response.arrayBuffer());
        assert.equal(bytes.byteLength, one.evidence_bytes);
        const path = join(dir, "evidence.pcap");
        await Deno.writeFile(path, bytes);
        const decoded = new DecodedPacket();
        let packets = 0;
        for await (const batch of readCaptureFile(path)) {
          for (let i = 0; i < batch.count; i++) {
            assert.equal(decodePacket(batch, i, decoded), 0);
            const pair = [
              formatAddress(decoded.srcAddr, decoded.ipVersion),
              formatAddress(decoded.dstAddr, decoded.ipVersion),
            ].sort();
            assert.deepEqual(pair, [one.src_ip, one.dest_ip].sort());
            packets++;
          }
        }
        assert.equal(packets, one.evidence_packets);
        await expectProblem(await call(server, "/api/v1/alerts/999999/evidence.pcap"), 404);
      },
    );

    await t.step("triage: acknowledge and escalate, stored", async () => {
      const ack = await json(server, `/api/v1/alerts/${alertId}/ack`, { method: "POST" });
      assert.equal(ack.status, "acknowledged");
      assert.equal((await json(server, `/api/v1/alerts/${alertId}`)).status, "acknowledged");
      const acked = await json(server, "/api/v1/alerts?status=acknowledged");
      assert.equal(acked.total, 1);
      const up = await json(server, `/api/v1/alerts/${alertId}/escalate`, { method: "POST" });
      assert.equal(up.status, "escalated");
      await expectProblem(await call(server, "/api/v1/alerts/424242/ack", { method: "POST" }), 404);
    });

    await t.step("suppressions: create, list, delete, bad ones refused", async () => {
      const created = await call(server, "/api/v1/suppressions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ src_ip: "10.66.0.66", class: "syn-scan", expires_in_seconds: 3600 }),
      });
      assert.equal(created.status, 201);
      const s = await created.json();
      assert.equal(s.active, true);
      assert.ok(Date.parse(s.expires_at) > Date.now());
      const { suppressions } = await json(server, "/api/v1/suppressions");
      assert.equal(suppressions[0].id, s.id);
      await expectProblem(
        await call(server, "/api/v1/suppressions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ reason: "everything" }),
        }),
        400,
        /at least one/,
      );
      await expectProblem(
        await call(server, "/api/v1/suppressions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{not json",
        }),
        400,
      );
      const removed = await call(server, `/api/v1/suppressions/${s.id}`, { method: "DELETE" });
      assert.equal(removed.status, 204);
      await expectProblem(
        await call(server, `/api/v1/suppressions/${s.id}`, { method: "DELETE" }),
        404,
      );
    });

    await t.step("stats and model", async () => {
      const stats = await json(server, "/api/v1/stats");
      assert.ok(stats.alerts >= 1);
      assert.equal(stats.by_status.escalated, 1);
      assert.ok(stats.traffic.length >= 1, "upload traffic minutes stored");
      assert.ok(stats.server.uptime_seconds >= 0);
      const model = await json(server, "/api/v1/model");
      assert.equal(model.feature_set.name, "cic-flow");
      assert.ok(model.models.some((m: { role: string }) => m.role === "classifier"));
    });

    await t.step("export: CSV and JSON of the filtered log", async () => {
      const total = (await json(server, `/api/v1/alerts?source=${scanJob.source}`)).total;
      const csv = await call(server, `/api/v1/alerts/export?format=csv&source=${scanJob.source}`);
      assert.match(
        csv.headers.get("content-disposition")!,
        /attachment; filename="alerts-.*\.csv"/,
      );
      const lines = (await csv.text()).trim().split("\n");
      assert.equal(lines[0].split(",")[0], "id");
      assert.equal(lines.length, total + 1);
      const exported = await json(
        server,
        `/api/v1/alerts/export?format=json&source=${scanJob.source}`,
      );
      assert.equal(exported.length, total);
      assert.equal(exported[0].eve.event_type, "alert");
      const empty = await json(server, "/api/v1/alerts/export?format=json&address=192.0.2.1");
      assert.deepEqual(empty, []);
    });

    await t.step("events resume after Last-Event-ID: nothing missed", async () => {
      const before = (await json(server, "/api/v1/stats")).max_id;
      const flood = await json(server, "/api/v1/analyze", {
        method: "POST",
        body: upload(await Deno.readFile(FLOOD), "flood.pcap"),
      });
      const done = await waitForJob(server, flood.id);
      assert.equal(done.state, "done");
      const after = (await json(server, "/api/v1/stats")).max_id;
      assert.ok(after > before, "the flood raised alerts");
      const resumed = await call(server, "/api/v1/events", {
        headers: { "last-event-id": String(before) },
      });
      const events = await readEvents(
        resumed,
        (e) => e.filter((x) => x.event === "alert").length >= after - before,
        20,
      );
      const ids = events.filter((e) => e.event === "alert").map((e) => Number(e.id));
      assert.deepEqual(ids, Array.from({ length: after - before }, (_, k) => before + 1 + k));
    });

    await t.step(
      "predict: CIC flow CSV (unlabelled, as `ids-sensor flows` writes it)",
      async () => {
        const csvPath = join(dir, "flows.csv");
        const flows = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${repoRoot}main.ts`, "flows", SCAN, "--out", csvPath],
          stdout: "null",
          stderr: "null",
        }).output();
        assert.ok(flows.success);
        const rows = (await Deno.readTextFile(csvPath)).trim().split("\n").length - 1;
        const job = await json(server, "/api/v1/predict", {
          method: "POST",
          body: upload(await Deno.readFile(csvPath), "flows.csv", { format: "cic" }),
        });
        const done = await waitForJob(server, job.id);
        assert.equal(done.state, "done", JSON.stringify(done));
        assert.equal(done.predictions_total, rows);
        assert.ok(done.class_counts["syn-scan"] > 0, JSON.stringify(done.class_counts));
        const csv = await (await call(server, `/api/v1/jobs/${job.id}/predictions.csv`)).text();
        assert.equal(csv.trim().split("\n").length, rows + 1);
        assert.equal(csv.split("\n")[0], "row,verdict,class,score,threshold,label");
      },
    );

    await t.step("bad uploads: clear errors, the server carries on", async () => {
      await expectProblem(
        await call(server, "/api/v1/analyze", {
          method: "POST",
          body: upload("hello, this is text", "notes.pcap"),
        }),
        415,
        /not a pcap or pcapng/,
      );
      await expectProblem(
        await call(server, "/api/v1/analyze", { method: "POST", body: upload("", "empty.pcap") }),
        400,
        /empty/,
      );
      const noFile = new FormData();
      noFile.set("capture", "x");
      await expectProblem(
        await call(server, "/api/v1/analyze", { method: "POST", body: noFile }),
        400,
      );
      await expectProblem(
        await call(server, "/api/v1/analyze", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        }),
        415,
        /multipart\/form-data with a field `file`/,
      );
      // A pcap header, one good packet of the real capture, then garbage.
      const real = await Deno.readFile(SCAN);
      const firstLength = new DataView(real.buffer).getUint32(24 + 8, true);
      const broken = new Uint8Array(24 + 16 + firstLength + 64);
      broken.set(real.subarray(0, 24 + 16 + firstLength));
      broken.fill(0xff, 24 + 16 + firstLength);
      const job = await json(server, "/api/v1/analyze", {
        method: "POST",
        body: upload(broken, "broken.pcap"),
      });
      const done = await waitForJob(server, job.id);
      assert.equal(done.state, "done");
      assert.match(done.warnings.join("\n"), /corrupt capture file at byte offset/);
      await expectProblem(
        await call(server, "/api/v1/predict", {
          method: "POST",
          body: upload("a,b\n1,2\n", "x.csv", { format: "nsl-kdd" }),
        }),
        400,
        /NSL-KDD model/,
      );
      await expectProblem(
        await call(server, "/api/v1/predict", {
          method: "POST",
          body: upload("a,b\n1,2\n", "x.csv", { format: "excel" }),
        }),
        400,
        /format/,
      );
      const wrongColumns = await json(server, "/api/v1/predict", {
        method: "POST",
        body: upload("a,b\n1,2\n", "x.csv", { format: "cic" }),
      });
      const failed = await waitForJob(server, wrongColumns.id);
      assert.equal(failed.state, "failed");
      assert.match(failed.error, /column/);
      await expectProblem(
        await call(server, "/api/v1/predict", {
          method: "POST",
          body: upload(new Uint8Array([0x50, 0, 0, 1]), "binary.csv"),
        }),
        415,
      );
      assert.deepEqual(await json(server, "/healthz"), { status: "ok" });
    });

    await t.step("oversized bodies: 413 before anything is stored", async () => {
      const big = new Uint8Array(3 * 1024 * 1024);
      big.set(await Deno.readFile(SCAN).then((b) => b.subarray(0, 24)));
      const jobsBefore = (await json(server, "/api/v1/jobs")).jobs.length;
      await expectProblem(
        await call(server, "/api/v1/analyze", { method: "POST", body: upload(big, "big.pcap") }),
        413,
      );
      assert.equal((await json(server, "/api/v1/jobs")).jobs.length, jobsBefore);
      await expectProblem(
        await call(server, "/api/v1/suppressions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ class: "x", reason: "r".repeat(100_000) }),
        }),
        413,
      );
    });

    await t.step("path traversal: never a file outside the dashboard's table", async () => {
      for (
        const path of [
          "/assets/..%2F..%2F..%2Fetc%2Fpasswd",
          "/assets/%2e%2e/%2e%2e/etc/passwd",
          "/assets/....//....//etc/passwd",
          "/assets/app.js%00.css",
          "/assets/..%5c..%5cmain.ts",
          "/assets/",
        ]
      ) {
        const response = await call(server, path);
        const text = await response.text();
        assert.ok(response.status === 404, `${path}: ${response.status}`);
        assert.ok(!text.includes("root:"), path);
      }
      await expectProblem(await call(server, "/api/v1/alerts/..%2F..%2Fetc%2Fpasswd"), 400);
      await expectProblem(await call(server, "/api/v1/alerts/1%2F..%2F2"), 400);
      await expectProblem(await call(server, "/api/v1/jobs/..%2F..%2Fetc%2Fpasswd"), 400);
      const sneaky = await json(server, "/api/v1/analyze", {
        method: "POST",
        body: upload(await Deno.readFile(SCAN), "../../../../tmp/console-escape.pcap"),
      });
      assert.equal(sneaky.file_name, "console-escape.pcap");
      await waitForJob(server, sneaky.id);
      await assert.rejects(Deno.stat("/tmp/console-escape.pcap"));
      const app = await call(server, "/assets/app.js");
      assert.equal(app.status, 200);
      assert.match(await app.text(), /EventSource/);
    });

    await t.step("browser login: cookie session; cross-site state changes refused", async () => {
      const wrong = await call(server, "/login", {
        method: "POST",
        token: null,
        body: new URLSearchParams({ token: "wrong" }),
      });
      await wrong.body?.cancel();
      assert.equal(wrong.status, 401);
      const login = await call(server, "/login", {
        method: "POST",
        token: null,
        body: new URLSearchParams({ token: server.token }),
      });
      await login.body?.cancel();
      assert.equal(login.status, 303);
      const cookie = login.headers.get("set-cookie")!;
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      const session = cookie.split(";")[0];
      const page = await call(server, "/", { token: null, headers: { cookie: session } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /ids-sensor console/);
      const evil = await call(server, `/api/v1/alerts/${alertId}/ack`, {
        method: "POST",
        token: null,
        headers: { cookie: session, origin: "http://evil.example" },
      });
      await expectProblem(evil, 403, /cross-site/);
    });
  } finally {
    const code = await server.stop();
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, `the server exited ${code}:\n${server.log()}`);
  }
});
