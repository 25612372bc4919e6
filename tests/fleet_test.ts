/**
 * The fleet against a real nats-server (JetStream on a temporary folder, a
 * free loopback port): sensors analysing captures publish, the console's
 * collector stores every alert exactly once; NATS down or killed mid-run
 * loses nothing; remote scoring gives the same alerts as local scoring.
 * Skips, saying why, when nats-server is not installed.
 */
import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { repoRoot, toolAvailable } from "./support/environment.ts";
import { type NatsServer, natsServerMissing, startNatsServer } from "./support/nats_server.ts";
import { sampleAlert } from "./support/sample_alert.ts";
import {
  connectNats,
  createFleetPublisher,
  DEFAULT_DURABLE,
  EVENTS_STREAM,
  FLEET_STATUS_PREFIX,
  type FleetCollector,
  type NatsSettings,
  startFleetCollector,
} from "../src/fleet/mod.ts";
import { type AlertStore, openStore } from "../src/store/mod.ts";

const missing = natsServerMissing();
const options = { ignore: missing !== null, sanitizeOps: false, sanitizeResources: false };
if (missing) console.error(`fleet tests skipped: ${missing}`);

const CAPTURES = {
  s1: "tests/fixtures/lab/syn-scan/capture.pcap",
  s2: "tests/fixtures/lab/http-brute-force/capture.pcap",
  s3: "tests/fixtures/lab/mixed/capture.pcap",
};

/** Runs `ids-sensor analyze CAPTURE --publish URL ...`; returns its stderr. */
async function analyze(
  capture: string,
  url: string,
  sensor: string,
  dir: string,
  extra: string[] = [],
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${repoRoot}main.ts`,
      "analyze",
      `${repoRoot}${capture}`,
      "--quiet",
      "--publish",
      url,
      "--sensor-id",
      sensor,
      "--publish-buffer",
      `${dir}/buffer-${sensor}`,
      "--alerts",
      `${dir}/${sensor}.jsonl`,
      ...extra,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr);
  assert(out.success, `analyze ${capture} failed:\n${text}`);
  return text;
}

/** The alert lines a sensor wrote to its --alerts file (stats lines left out). */
async function alertLines(file: string): Promise<string[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch { /* no alerts at all */ }
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line))
    .filter((record) => record.event_type === "alert").map((record) => JSON.stringify(record));
}

/** Fleet alerts in the store, by sensor: the EVE JSON of each, in store order. */
function storedBySensor(store: AlertStore): Map<string, string[]> {
  const rows = store.db.prepare(
    "SELECT sensor, eve FROM alerts WHERE sensor IS NOT NULL ORDER BY id",
  ).all() as { sensor: string; eve: string }[];
  const by = new Map<string, string[]>();
  for (const row of rows) by.set(row.sensor, [...(by.get(row.sensor) ?? []), row.eve]);
  return by;
}

async function waitFor(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sorted = (xs: string[]) => [...xs].sort();

/** One connection attempt, no retries. */
const connectOnce = (settings: NatsSettings) =>
  connectNats(settings, { waitOnFirstConnect: false, maxReconnectAttempts: 0 });

/** Connects with `settings` and asks JetStream for the account's info. */
async function reachJetStream(settings: NatsSettings): Promise<void> {
  const nc = await connectOnce(settings);
  await (await jetstreamManager(nc)).getAccountInfo();
  await nc.close();
}

async function withFleet(
  work: (nats: NatsServer, dir: string, store: AlertStore) => Promise<void>,
): Promise<void> {
  const nats = await startNatsServer();
  const dir = await Deno.makeTempDir({ prefix: "fleet-test-" });
  const store = openStore(`${dir}/console.sqlite`);
  try {
    await work(nats, dir, store);
  } finally {
    store.close();
    await nats.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(
  "fleet: three sensors publish; the console's store holds every alert exactly once",
  options,
  async () => {
    await withFleet(async (nats, dir, store) => {
      await Promise.all(
        Object.entries(CAPTURES).map(([sensor, capture]) =>
          analyze(capture, nats.url, sensor, dir)
        ),
      );
      const expected = new Map<string, string[]>();
      for (const sensor of Object.keys(CAPTURES)) {
        expected.set(sensor, await alertLines(`${dir}/${sensor}.jsonl`));
      }
      const total = [...expected.values()].reduce((n, xs) => n + xs.length, 0);
      assert(total > 0, "the captures gave no alerts at all");

      let collector: FleetCollector = startFleetCollector({
        nats: { url: nats.url },
        store,
        log: () => {},
      });
      try {
        await waitFor("every alert in the store", () => collector.stats().alertsStored >= total);
        await waitFor("the last stats of every sensor", () => {
          const statuses = store.sensorStatuses().filter((s) =>
            s.sensor.startsWith(FLEET_STATUS_PREFIX)
          );
          return statuses.length === 3 && statuses.every((s) => s.status.state === "stopped");
        });
      } finally {
        await collector.close();
      }
      const stored = storedBySensor(store);
      for (const [sensor, lines] of expected) {
        assert.deepStrictEqual(
          sorted(stored.get(sensor) ?? []),
          sorted(lines),
          `alerts of ${sensor}`,
        );
      }
      // Counters agree: what each sensor says it sent is what the store holds.
      for (
        const s of store.sensorStatuses().filter((s) => s.sensor.startsWith(FLEET_STATUS_PREFIX))
      ) {
        const sensor = s.sensor.slice(FLEET_STATUS_PREFIX.length);
        assert.deepStrictEqual(
          s.status.alerts_sent,
          expected.get(sensor)!.length,
          `${sensor} alerts_sent`,
        );
        assert.deepStrictEqual(s.status.alerts, expected.get(sensor)!.length, `${sensor} alerts`);
        assert.deepStrictEqual(s.status.dropped, 0);
      }
      // The API's sensor filter sees them by sensor.
      assert.deepStrictEqual(
        store.listAlerts({ sensor: "s3" }, { limit: 1000 }).total,
        expected.get("s3")!.length,
      );

      // Every message delivered again (the durable consumer deleted and made anew): nothing new stored.
      const nc = await connectNats({ url: nats.url });
      await (await jetstreamManager(nc)).consumers.delete(EVENTS_STREAM, DEFAULT_DURABLE);
      await nc.close();
      collector = startFleetCollector({ nats: { url: nats.url }, store, log: () => {} });
      try {
        await waitFor("the redelivery", () => collector.stats().alertsDuplicate >= total);
        assert.deepStrictEqual(collector.stats().alertsStored, 0);
      } finally {
        await collector.close();
      }
      assert.deepStrictEqual(
        [...storedBySensor(store).values()].reduce((n, xs) => n + xs.length, 0),
        total,
        "alerts in the store after redelivery",
      );
    });
  },
);

Deno.test(
  "fleet: NATS down for a whole run: alerts wait on disk and the next run delivers them first",
  options,
  async () => {
    await withFleet(async (nats, dir, store) => {
      await nats.kill();
      const first = await analyze(CAPTURES.s1, nats.url, "edge", dir);
      assert(/left in .* for the next run/.test(first), first);
      const firstAlerts = await alertLines(`${dir}/edge.jsonl`);
      assert(firstAlerts.length > 0);
      await Deno.rename(`${dir}/edge.jsonl`, `${dir}/edge-first.jsonl`);
      await nats.start();
      await analyze(CAPTURES.s2, nats.url, "edge", dir);
      const secondAlerts = await alertLines(`${dir}/edge.jsonl`);
      const collector = startFleetCollector({ nats: { url: nats.url }, store, log: () => {} });
      const total = firstAlerts.length + secondAlerts.length;
      try {
        await waitFor("both runs' alerts", () => collector.stats().alertsStored >= total);
      } finally {
        await collector.close();
      }
      const stored = storedBySensor(store).get("edge") ?? [];
      // In order: the first run's alerts (from the disk buffer) before the second run's.
      assert.deepStrictEqual(stored.length, total);
      assert.deepStrictEqual(sorted(stored.slice(0, firstAlerts.length)), sorted(firstAlerts));
      assert.deepStrictEqual(sorted(stored.slice(firstAlerts.length)), sorted(secondAlerts));
      assert.deepStrictEqual(collector.stats().invalid, 0);
    });
  },
);

Deno.test(
  "fleet: nats-server killed mid-run and restarted: no alert lost, in order, counters agree",
  options,
  async () => {
    await withFleet(async (nats, dir, store) => {
      const publisher = await createFleetPublisher({
        nats: { url: nats.url },
        sensor: "k1",
        bufferDir: `${dir}/buffer-k1`,
        ackTimeoutMs: 1000,
        log: () => {},
      });
      await waitFor("the publisher's connection", () => publisher.stats().connected, 15_000);
      const batches = 60;
      const perBatch = 5;
      for (let i = 0; i < batches; i++) {
        const alerts = Array.from({ length: perBatch }, (_, k) =>
          sampleAlert({
            timestamp: new Date(Date.UTC(2026, 11, 1, 10, 0, 0, i * perBatch + k)).toISOString(),
          }));
        publisher.write(alerts);
        if (i === 20) await nats.kill();
        if (i === 40) await nats.start();
        await new Promise((r) => setTimeout(r, 50));
      }
      assert(await publisher.drained(60_000), "the publisher drained after the restart");
      const s = publisher.stats();
      await publisher.close();
      const total = batches * perBatch;
      assert.deepStrictEqual(s.alertsSent, total);
      assert.deepStrictEqual(s.buffered, 0);
      assert.deepStrictEqual(s.dropped, 0);
      assert(s.published >= total);

      const collector = startFleetCollector({ nats: { url: nats.url }, store, log: () => {} });
      try {
        await waitFor("every alert", () => collector.stats().alertsStored >= total);
        await new Promise((r) => setTimeout(r, 500));
        assert.deepStrictEqual(collector.stats().alertsStored, total);
      } finally {
        await collector.close();
      }
      const rows = store.db.prepare(
        "SELECT event_id FROM alerts WHERE sensor = 'k1' ORDER BY id",
      ).all() as { event_id: string }[];
      assert.deepStrictEqual(rows.length, total);
      const seqs = rows.map((r) => Number(r.event_id.split("-").at(-1)));
      assert.deepStrictEqual(
        seqs,
        Array.from({ length: total }, (_, i) => i + 1),
        "stored once each, in order",
      );
    });
  },
);

/** Starts `ids-sensor score-worker` processes; resolves when each has joined the queue group. */
async function startWorkers(url: string, n: number) {
  const workers = Array.from({ length: n }, () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${repoRoot}main.ts`, "score-worker", "--nats", url],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let log = "";
    const reading = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) log += text;
    })();
    return { child, reading, log: () => log };
  });
  await waitFor(
    "score workers in the queue group",
    () => workers.every((w) => w.log().includes("scoring for queue group")),
    120_000,
  );
  return {
    /** SIGTERM; returns the rows each worker says it scored. */
    async stop(): Promise<number[]> {
      for (const w of workers) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.child.status));
      await Promise.all(workers.map((w) => w.reading));
      return workers.map((w) => Number(/(\d+) rows scored/.exec(w.log())?.[1] ?? NaN));
    },
  };
}

/** An alert line without its emission time (the only field that depends on the wall clock). */
const withoutTime = (line: string) => {
  const { timestamp: _t, ...rest } = JSON.parse(line);
  return JSON.stringify(rest);
};

Deno.test(
  "fleet: remote scoring on two score workers gives the alerts of local scoring; with no worker " +
    "the rows are scored locally after --remote-scoring-timeout, counted",
  options,
  async () => {
    await withFleet(async (nats, dir) => {
      const workers = await startWorkers(nats.url, 2);
      let rows: number[];
      let remoteLog: string;
      try {
        remoteLog = await analyze(CAPTURES.s3, nats.url, "remote", dir, ["--remote-scoring"]);
      } finally {
        rows = await workers.stop();
      }
      await analyze(CAPTURES.s3, nats.url, "local", dir);
      const remote = (await alertLines(`${dir}/remote.jsonl`)).map(withoutTime);
      const local = (await alertLines(`${dir}/local.jsonl`)).map(withoutTime);
      assert.ok(local.length > 0);
      assert.deepStrictEqual(sorted(remote), sorted(local));
      // Counters agree: the workers scored exactly the flows the sensor reports.
      const flows = Number(/(\d+) flows in/.exec(remoteLog)?.[1]);
      assert.ok(flows > 0, remoteLog);
      assert.equal(rows.reduce((a, b) => a + b, 0), flows, `rows per worker: ${rows.join(", ")}`);
      assert.doesNotMatch(remoteLog, /rows scored here/);

      // No worker left: the run ends anyway, every row scored here and said so, same alerts.
      const aloneLog = await analyze(CAPTURES.s3, nats.url, "alone", dir, [
        "--remote-scoring",
        "--remote-scoring-timeout",
        "1",
      ]);
      assert.match(aloneLog, /no score worker answered within 1 s/);
      assert.match(aloneLog, new RegExp(`${flows} of ${flows} rows scored here`), aloneLog);
      const alone = (await alertLines(`${dir}/alone.jsonl`)).map(withoutTime);
      assert.deepStrictEqual(sorted(alone), sorted(local));
    });
  },
);

Deno.test(
  "fleet: a bundle larger than max_payload goes through the object store and is swapped in, " +
    "also on a sensor started later; bad bundles are refused and reported",
  options,
  async () => {
    await withFleet(async (nats, dir, store) => {
      const { createSwappableDetector, loadSensorBundle } = await import("../src/engine/mod.ts");
      const { Kvm } = await import("@nats-io/kv");
      const {
        FLEET_KV_BUCKET,
        MODEL_KEY,
        MODELS_BUCKET,
        packModelBundle,
        publishModelBundle,
        startSensorFleet,
      } = await import("../src/fleet/mod.ts");
      const bundle = await loadSensorBundle(`${repoRoot}models/default`);
      const sensor = async (id: string) => {
        const detector = await createSwappableDetector({ bundle, sinks: [] });
        const fleet = await startSensorFleet({
          nats: { url: nats.url },
          sensor: id,
          bufferDir: `${dir}/${id}/buffer`,
          model: "models/default",
          modelUpdates: true,
          statsIntervalSeconds: 1,
          log: () => {},
        });
        fleet.onSwapReady((next) => detector.swap(next));
        return { detector, fleet };
      };
      const m1 = await sensor("m1");
      let m2: Awaited<ReturnType<typeof sensor>> | null = null;
      const collector = startFleetCollector({ nats: { url: nats.url }, store, log: () => {} });
      const lastUpdate = (id: string) =>
        store.sensorStatuses().find((s) => s.sensor === `${FLEET_STATUS_PREFIX}${id}`)?.status as
          | { model: string; model_update?: { name: string; state: string; error?: string } }
          | undefined;
      const publishCli = (folder: string) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${repoRoot}main.ts`, "publish-model", folder, "--nats", nats.url],
          stdout: "null",
          stderr: "piped",
        }).output();
      try {
        // A good bundle: a copy of the default one with a 3 MiB file beside it, so the bundle is
        // three times nats-server's default max_payload (1 MiB): it has to travel in chunks.
        const good = `${dir}/good`;
        await Deno.mkdir(good);
        for await (const e of Deno.readDir(`${repoRoot}models/default`)) {
          await Deno.copyFile(`${repoRoot}models/default/${e.name}`, `${good}/${e.name}`);
        }
        const notes = crypto.getRandomValues(new Uint8Array(64 * 1024));
        const big = new Uint8Array(3 * 1024 * 1024);
        for (let at = 0; at < big.length; at += notes.length) big.set(notes, at);
        await Deno.writeFile(`${good}/training-notes.bin`, big);
        const cli = await publishCli(good);
        const cliLog = new TextDecoder().decode(cli.stderr);
        assert.ok(cli.success, cliLog);
        assert.match(cliLog, /announced as revision \d+/);
        await waitFor(
          "the good bundle applied",
          () => lastUpdate("m1")?.model_update?.state === "applied",
        );
        assert.equal(lastUpdate("m1")?.model, "fleet:good");
        assert.ok(m1.detector.bundle.dir.includes(`${dir}/m1/models/`), m1.detector.bundle.dir);
        assert.deepEqual(
          await Deno.readFile(`${m1.detector.bundle.dir}/training-notes.bin`),
          big,
          "the large file arrived whole",
        );

        // A sensor that starts after the announcement gets the current bundle.
        m2 = await sensor("m2");
        await waitFor(
          "the late sensor on the good bundle",
          () => lastUpdate("m2")?.model_update?.state === "applied",
        );
        assert.equal(lastUpdate("m2")?.model, "fleet:good");

        // A bundle for another feature set: publish-model refuses it here already...
        const bad = `${dir}/bad`;
        await Deno.mkdir(bad);
        for await (const e of Deno.readDir(`${repoRoot}models/default`)) {
          await Deno.copyFile(`${repoRoot}models/default/${e.name}`, `${bad}/${e.name}`);
        }
        const json = JSON.parse(await Deno.readTextFile(`${bad}/bundle.json`));
        json.featureSet.name = "not-cic-flow";
        await Deno.writeTextFile(`${bad}/bundle.json`, JSON.stringify(json));
        const refused = await publishCli(bad);
        assert.ok(!refused.success, "publish-model accepted a bundle for another feature set");
        // ...and a sensor refuses it too when it arrives anyway.
        const before = m1.detector.bundle;
        await publishModelBundle({ url: nats.url }, await packModelBundle(bad));
        await waitFor(
          "the bad bundle refused",
          () => lastUpdate("m1")?.model_update?.state === "refused",
        );
        assert.match(lastUpdate("m1")?.model_update?.error ?? "", /feature set|not-cic-flow/);
        assert.equal(lastUpdate("m1")?.model, "fleet:good");
        assert.equal(m1.detector.bundle, before, "the running bundle stays");

        // Objects that do not match the announcement (a file altered after its digest was
        // taken): every sensor refuses the bundle and keeps its model.
        const { Objm } = await import("@nats-io/obj");
        const packed = await packModelBundle(good, "tampered");
        const forged = { ...packed.manifest, sha256: "f".repeat(64) };
        const nc = await connectOnce({ url: nats.url });
        try {
          const objects = await new Objm(nc).open(MODELS_BUCKET);
          for (const [name, bytes] of packed.files) {
            const altered = name === "training-notes.bin" ? bytes.slice() : bytes;
            if (altered !== bytes) altered[12345] ^= 1;
            await objects.putBlob({ name: `${forged.sha256}/${name}` }, altered);
          }
          await (await new Kvm(nc).open(FLEET_KV_BUCKET)).put(MODEL_KEY, JSON.stringify(forged));
        } finally {
          await nc.close();
        }
        for (const id of ["m1", "m2"]) {
          await waitFor(
            `${id} refusing the altered bundle`,
            () =>
              lastUpdate(id)?.model_update?.name === "tampered" &&
              lastUpdate(id)?.model_update?.state === "refused",
          );
          assert.match(
            lastUpdate(id)?.model_update?.error ?? "",
            /training-notes\.bin: checksum mismatch/,
          );
          assert.equal(lastUpdate(id)?.model, "fleet:good");
        }
      } finally {
        await m1.fleet.close();
        await m2?.fleet.close();
        await collector.close();
        await m1.detector.close();
        await m2?.detector.close();
      }
    });
  },
);

Deno.test(
  "fleet: a bundle fetch cut off by NATS is transient (fetched again), one that does not match " +
    "its manifest is refused for good",
  options,
  async () => {
    await withFleet(async (nats, dir) => {
      const { BundleContentError, fetchModelBundle, MODELS_BUCKET, packModelBundle } = await import(
        "../src/fleet/mod.ts"
      );
      const { Objm } = await import("@nats-io/obj");
      const packed = await packModelBundle(`${repoRoot}models/default`, "cut-off");
      const nc = await connectOnce({ url: nats.url });
      const objects = await new Objm(nc).create(MODELS_BUCKET);
      for (const [name, bytes] of packed.files) {
        await objects.putBlob({ name: `${packed.manifest.sha256}/${name}` }, bytes);
      }
      // Whole objects: fetched and checked.
      const fetched = await fetchModelBundle(objects, packed.manifest, `${dir}/root`);
      assert.ok((await Deno.stat(`${fetched}/bundle.json`)).isFile);
      // A manifest whose sizes do not match the objects: a content error.
      const lying = {
        ...packed.manifest,
        files: packed.manifest.files.map((f) => ({ ...f, size: f.size + 1 })),
      };
      await assert.rejects(
        fetchModelBundle(objects, lying, `${dir}/root2`),
        (e) => e instanceof BundleContentError,
      );
      // The connection gone mid-way: not a content error, so the watcher fetches it again.
      await nc.close();
      await assert.rejects(
        fetchModelBundle(objects, packed.manifest, `${dir}/root3`),
        (e) => !(e instanceof BundleContentError),
      );
    });
  },
);

Deno.test(
  "fleet: credentials: user/password and token files are used; without them NATS refuses",
  options,
  async () => {
    for (
      const [extra, file, text, flag] of [
        [["--user", "fleet", "--pass", "s3cret"], "user", "fleet:s3cret", "userFile"],
        [["--auth", "t0ken-value"], "token", "t0ken-value", "tokenFile"],
      ] as const
    ) {
      const nats = await startNatsServer([...extra]);
      const dir = await Deno.makeTempDir({ prefix: "fleet-auth-" });
      try {
        await Deno.writeTextFile(`${dir}/${file}`, text);
        await assert.rejects(connectOnce({ url: nats.url }), /Authorization|auth/i);
        await reachJetStream({ url: nats.url, [flag]: `${dir}/${file}` });
      } finally {
        await nats.stop();
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
);

Deno.test(
  "fleet: credentials: an nkey seed file and a .creds file (operator, account and user JWTs) " +
    "against servers that require them; other keys refused",
  options,
  async () => {
    const { createAccount, createOperator, createUser } = await import("@nats-io/nkeys");
    const { encodeAccount, encodeOperator, encodeUser, fmtCreds } = await import("@nats-io/jwt");
    const dir = await Deno.makeTempDir({ prefix: "fleet-nkey-" });
    const servers: NatsServer[] = [];
    // A refused connection's socket may report ECONNRESET after the client dropped its
    // listeners: connectNats absorbs exactly that (tolerateStraySocketResets); nothing here.
    try {
      // An nkey user: the server knows the public key only; the client signs its nonce.
      const sensorKey = createUser();
      await Deno.writeTextFile(
        `${dir}/nkey.conf`,
        `authorization {
  users = [ { nkey: "${sensorKey.getPublicKey()}" } ]
}
`,
      );
      await Deno.writeFile(`${dir}/sensor.nk`, sensorKey.getSeed(), { mode: 0o600 });
      await Deno.writeFile(`${dir}/stranger.nk`, createUser().getSeed(), { mode: 0o600 });
      const nkeyServer = await startNatsServer(["-c", `${dir}/nkey.conf`]);
      servers.push(nkeyServer);
      await assert.rejects(connectOnce({ url: nkeyServer.url }), /Authorization|auth/i);
      await assert.rejects(
        connectOnce({ url: nkeyServer.url, nkeyFile: `${dir}/stranger.nk` }),
        /Authorization|auth/i,
      );
      await reachJetStream({ url: nkeyServer.url, nkeyFile: `${dir}/sensor.nk` });

      // Decentralised auth, what nsc sets up: an operator signs an account (JetStream allowed),
      // the account signs the sensor's user; the .creds file holds the user JWT and its seed.
      const operator = createOperator();
      const account = createAccount();
      const user = createUser();
      // JetStream in operator mode needs a system account.
      const system = createAccount();
      const operatorJwt = await encodeOperator("ids-operator", operator, {
        system_account: system.getPublicKey(),
      });
      const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
      const accountJwt = await encodeAccount("ids-fleet", account, {
        // Limits left out are 0 (no connection at all), so every one is given: -1 = unlimited.
        limits: {
          conn: -1,
          subs: -1,
          data: -1,
          payload: -1,
          leaf: -1,
          imports: -1,
          exports: -1,
          wildcards: true,
          mem_storage: -1,
          disk_storage: -1,
          streams: -1,
          consumer: -1,
        },
      }, { signer: operator });
      await Deno.writeFile(
        `${dir}/sensor.creds`,
        fmtCreds(await encodeUser("sensor", user, account), user),
        { mode: 0o600 },
      );
      // A user signed by an account this server does not trust.
      const otherAccount = createAccount();
      const otherUser = createUser();
      await Deno.writeFile(
        `${dir}/other.creds`,
        fmtCreds(await encodeUser("other", otherUser, otherAccount), otherUser),
        { mode: 0o600 },
      );
      await Deno.writeTextFile(
        `${dir}/operator.conf`,
        `operator: ${operatorJwt}
system_account: ${system.getPublicKey()}
resolver: MEMORY
resolver_preload: {
  ${system.getPublicKey()}: ${systemJwt}
  ${account.getPublicKey()}: ${accountJwt}
}
`,
      );
      const credsServer = await startNatsServer(["-c", `${dir}/operator.conf`]);
      servers.push(credsServer);
      await assert.rejects(connectOnce({ url: credsServer.url }), /Authorization|auth/i);
      await assert.rejects(
        connectOnce({ url: credsServer.url, credsFile: `${dir}/other.creds` }),
        /Authorization|auth/i,
      );
      await reachJetStream({ url: credsServer.url, credsFile: `${dir}/sensor.creds` });
    } finally {
      for (const server of servers) await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "fleet: TLS: a server certificate from our CA is verified with --nats-tls-ca; unknown CA refused",
  {
    ...options,
    ignore: options.ignore || !toolAvailable("openssl"),
  },
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "fleet-tls-" });
    const run = async (...args: string[]) => {
      const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
        .output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    };
    try {
      await run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=fleet-test-ca",
        "-keyout",
        `${dir}/ca.key`,
        "-out",
        `${dir}/ca.pem`,
      );
      await run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        `${dir}/server.key`,
        "-out",
        `${dir}/server.csr`,
      );
      // The client checks the name "localhost" for 127.0.0.1 (the IP SAN alone is refused).
      await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
      await run(
        "x509",
        "-req",
        "-in",
        `${dir}/server.csr`,
        "-CA",
        `${dir}/ca.pem`,
        "-CAkey",
        `${dir}/ca.key`,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${dir}/ext.cnf`,
        "-out",
        `${dir}/server.pem`,
      );
      const nats = await startNatsServer([
        "--tls",
        "--tlscert",
        `${dir}/server.pem`,
        "--tlskey",
        `${dir}/server.key`,
      ]);
      try {
        const tlsUrl = `tls://127.0.0.1:${nats.port}`;
        await assert.rejects(connectOnce({ url: tlsUrl }));
        await reachJetStream({ url: tlsUrl, tlsCa: `${dir}/ca.pem` });
      } finally {
        await nats.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test(
  "fleet: `serve --nats` collects; the API filters alerts by sensor and lists each sensor's status",
  options,
  async () => {
    await withFleet(async (nats, dir) => {
      const { startConsoleProcess } = await import("./support/console_server.ts");
      const server = await startConsoleProcess(`${dir}/serve.sqlite`, ["--nats", nats.url]);
      try {
        await analyze(CAPTURES.s1, nats.url, "north", dir);
        await analyze(CAPTURES.s3, nats.url, "south", dir);
        const expected = {
          north: (await alertLines(`${dir}/north.jsonl`)).length,
          south: (await alertLines(`${dir}/south.jsonl`)).length,
        };
        const headers = { authorization: `Bearer ${server.token}` };
        const get = async (path: string) => {
          const response = await fetch(`${server.url}/api/v1${path}`, { headers });
          assert.equal(response.status, 200, path);
          return await response.json();
        };
        const deadline = Date.now() + 60_000;
        let totals = { north: -1, south: -1 };
        while (Date.now() < deadline) {
          totals = {
            north: (await get("/alerts?sensor=north&limit=1")).total,
            south: (await get("/alerts?sensor=south&limit=1")).total,
          };
          if (totals.north === expected.north && totals.south === expected.south) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.deepStrictEqual(totals, expected, server.log());
        const page = await get("/alerts?sensor=south&limit=1000");
        assert.ok(page.alerts.every((a: { sensor: string }) => a.sensor === "south"));
        const stats = await get("/stats");
        const names = (stats.sensors as { sensor: string }[]).map((s) => s.sensor);
        assert.ok(names.includes("fleet:north") && names.includes("fleet:south"), names.join(", "));
      } finally {
        await server.stop();
      }
    });
  },
);
