import assert from "node:assert/strict";
import { createNotifier } from "./notifier.ts";
import { createNotifyHub } from "./hub.ts";
import { numberedAlert as sampleAlert } from "../../tests/support/sample_alert.ts";
import { freePort, until } from "../../tests/support/loopback.ts";

/** A real HTTP receiver on loopback that records every JSON body, in arrival order. */
function startReceiver(port: number, status = 200) {
  const bodies: { path: string; body: Record<string, unknown> }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    bodies.push({ path: new URL(req.url).pathname, body: await req.json() });
    return new Response("ok", { status });
  });
  return { bodies, stop: () => server.shutdown() };
}

const quiet = { log: () => {}, retryDelaysMs: [20, 40], maxBackoffMs: 200 };

Deno.test("webhook down while alerts happen: spooled, then every alert in order", async () => {
  const spoolDir = await Deno.makeTempDir();
  const port = freePort();
  const notifier = await createNotifier(`http://127.0.0.1:${port}/eve?rate=1000/60`, {
    spoolDir,
    ...quiet,
  });
  try {
    // write only enqueues (returns no promise): detection never waits for the dead receiver
    for (let k = 0; k < 20; k++) assert.equal(notifier.write([sampleAlert(k)]), undefined);
    await until(() => notifier.stats().spoolSize === 20, "20 spooled alerts");
    assert.ok(notifier.stats().down);
    assert.ok(notifier.stats().failures >= 3);
    const receiver = startReceiver(port);
    try {
      await until(() => receiver.bodies.length === 20, "20 delivered alerts");
      assert.deepEqual(
        receiver.bodies.map((b) => (b.body.src_port as number) - 40000),
        [...Array(20).keys()],
      );
      assert.equal(receiver.bodies[0].path, "/eve");
      assert.deepEqual(receiver.bodies[3].body, sampleAlert(3));
      const s = notifier.stats();
      assert.equal(s.spoolSize, 0);
      assert.equal(s.sent, 20);
      assert.equal(s.down, false);
    } finally {
      await receiver.stop();
    }
  } finally {
    await notifier.close();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("close with the receiver down keeps everything for the next run", async () => {
  const spoolDir = await Deno.makeTempDir();
  const port = freePort();
  const url = `http://127.0.0.1:${port}/x`;
  try {
    const first = await createNotifier(url, { spoolDir, ...quiet });
    first.write([sampleAlert(1), sampleAlert(2), sampleAlert(3)]);
    await first.close();
    assert.equal(first.stats().spoolSize, 3);
    const receiver = startReceiver(port);
    const second = await createNotifier(url, { spoolDir, ...quiet });
    second.write([sampleAlert(4)]);
    await until(() => receiver.bodies.length === 4, "4 alerts");
    await second.close();
    await receiver.stop();
    assert.deepEqual(receiver.bodies.map((b) => (b.body.src_port as number) - 40000), [1, 2, 3, 4]);
  } finally {
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("minimum severity and rate limit: one digest says what was held back", async () => {
  const spoolDir = await Deno.makeTempDir();
  const port = freePort();
  const receiver = startReceiver(port);
  const notifier = await createNotifier(
    `http://127.0.0.1:${port}/x?min_severity=medium&rate=3/1`,
    { spoolDir, ...quiet },
  );
  try {
    const alerts = [...Array(10).keys()].map((k) => sampleAlert(k, k === 9 ? 3 : 2));
    notifier.write(alerts);
    await until(() => receiver.bodies.length === 4, "3 alerts and a digest");
    const [a, b, c, digest] = receiver.bodies.map((x) => x.body);
    assert.deepEqual([a, b, c].map((x) => x.event_type), ["alert", "alert", "alert"]);
    assert.equal(digest.event_type, "notification_digest");
    assert.equal(digest.held_back, 6);
    const s = notifier.stats();
    assert.equal(s.belowSeverity, 1);
    assert.equal(s.heldBack, 6);
    assert.equal(s.digests, 1);
  } finally {
    await notifier.close();
    await receiver.stop();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("HTTP 400 is a refusal: counted, not retried, the queue goes on", async () => {
  const spoolDir = await Deno.makeTempDir();
  const port = freePort();
  const receiver = startReceiver(port, 400);
  const notifier = await createNotifier(`http://127.0.0.1:${port}/x`, { spoolDir, ...quiet });
  try {
    notifier.write([sampleAlert(1), sampleAlert(2)]);
    await until(() => receiver.bodies.length === 2, "2 attempts");
    await until(() => notifier.stats().rejected === 2, "2 rejections");
    assert.equal(notifier.stats().spoolSize, 0);
  } finally {
    await notifier.close();
    await receiver.stop();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("slack and discord payloads reach a loopback receiver through base=", async () => {
  const spoolDir = await Deno.makeTempDir();
  const port = freePort();
  const receiver = startReceiver(port);
  const base = `base=http://127.0.0.1:${port}`;
  const hub = await createNotifyHub(
    [`slack://T0/B0/XYZ?${base}`, `discord://123/AbC?${base}`],
    { spoolDir, ...quiet },
  );
  try {
    hub.write([sampleAlert(5, 1)]);
    await until(() => receiver.bodies.length === 2, "both payloads");
    const slack = receiver.bodies.find((b) => b.path === "/services/T0/B0/XYZ");
    const discord = receiver.bodies.find((b) => b.path === "/api/webhooks/123/AbC");
    assert.match(String(slack?.body.text), /sev1 SYN port scan: 10\.0\.0\.6 -> 10\.0\.0\.10:80/);
    assert.ok(Array.isArray(discord?.body.embeds));
    const changed = await hub.update([`slack://T0/B0/XYZ?${base}`]);
    assert.deepEqual(changed.removed.length, 1);
    assert.deepEqual(changed.kept.length, 1);
    assert.equal(hub.stats().length, 1);
  } finally {
    await hub.close();
    await receiver.stop();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("a receiver that never answers: memory stays bounded, every alert ends in the spool", async () => {
  const spoolDir = await Deno.makeTempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  // Accepts connections and never answers: the slowest possible target.
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const notifier = await createNotifier(`http://127.0.0.1:${port}/slow?rate=1000/60`, {
    spoolDir,
    ...quiet,
    queueLimit: 5,
    sendTimeoutMs: 300,
    closeTimeoutMs: 200,
  });
  try {
    for (let k = 0; k < 20; k++) assert.equal(notifier.write([sampleAlert(k)]), undefined);
    // Past the queue limit, what waits behind the message in flight goes to disk at once.
    await until(() => notifier.stats().spoolSize >= 14, "the overflow spooled");
    assert.ok(notifier.stats().queued <= 6);
  } finally {
    await notifier.close();
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
  const s = notifier.stats();
  assert.equal(s.sent, 0);
  assert.equal(s.spoolSize, 20);
  // The spool holds them in the order they were written.
  const again = await createNotifier(`http://127.0.0.1:${port}/slow?rate=1000/60`, {
    spoolDir,
    ...quiet,
  });
  const receiver = startReceiver(port);
  try {
    await until(() => receiver.bodies.length === 20, "20 alerts after the restart");
    assert.deepEqual(
      receiver.bodies.map((b) => (b.body.src_port as number) - 40000),
      [...Array(20).keys()],
    );
  } finally {
    await again.close();
    await receiver.stop();
    await Deno.remove(spoolDir, { recursive: true });
  }
});

Deno.test("a new rate or minimum severity keeps the target's spool; an unconfigured spool is reported", async () => {
  const spoolDir = await Deno.makeTempDir();
  const port = freePort();
  try {
    const first = await createNotifier(`http://127.0.0.1:${port}/x?rate=10/60`, {
      spoolDir,
      ...quiet,
    });
    first.write([sampleAlert(1)]);
    await first.close();
    const second = await createNotifier(
      `http://127.0.0.1:${port}/x?min_severity=low&rate=20/60`,
      { spoolDir, ...quiet },
    );
    assert.equal(second.stats().spoolSize, 1);
    await second.close();
    const lines: string[] = [];
    const hub = await createNotifyHub([`http://127.0.0.1:${port}/other`], {
      spoolDir,
      ...quiet,
      log: (line) => lines.push(line),
    });
    await hub.close();
    assert.equal(
      lines.filter((l) => /1 undelivered messages in .* no longer configured/.test(l)).length,
      1,
    );
  } finally {
    await Deno.remove(spoolDir, { recursive: true });
  }
});
