/**
 * The installed command (scripts/install.sh), staged into a temporary root:
 * the installed `ids-sensor` (a launcher that runs the pinned Deno with only
 * the permissions the sensor uses) gives the same alerts on the bundled
 * capture as the checkout, also as an unprivileged user; its systemd units
 * pass `systemd-analyze verify`; as an unprivileged user holding only
 * CAP_NET_RAW and CAP_NET_ADMIN, as the service runs it, it detects a live
 * scan; upgrade keeps a changed config; uninstall removes everything else.
 */
import assert from "node:assert/strict";
import { assertConsoleServes } from "./support/console_server.ts";
import { isRoot, repoRoot, toolAvailable } from "./support/environment.ts";
import { createNamespacePair, stderrUntil, synScanFrom } from "./support/namespace_pair.ts";

const PREFIX = "/usr/local";
const UNITS = ["ids-sensor.service", "ids-sensor-capture@.service", "ids-sensor-capture@.timer"];
const decoder = new TextDecoder();

function whyNot(): string | null {
  if (Deno.build.os !== "linux") return "the installer targets Linux";
  for (const tool of ["sh", "tar", "sha256sum", "sed", "readlink"]) {
    if (!toolAvailable(tool)) return `needs ${tool}`;
  }
  try {
    Deno.statSync(`${repoRoot}node_modules/.package-lock.json`);
  } catch {
    return "needs the npm packages installed (npm ci)";
  }
  return null;
}

const reason = whyNot();
if (reason) console.warn(`install_test skipped: ${reason}`);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], options: Deno.CommandOptions = {}) {
  const out = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...options,
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function assertOk(result: Run, what: string): void {
  assert.equal(result.code, 0, `${what} exited ${result.code}:\n${result.stderr}`);
}

/** Installs this checkout into `stage` (a --root) under `prefix`, with this test's Deno. */
async function install(
  stage: string,
  action: "install" | "uninstall" = "install",
  prefix = PREFIX,
) {
  const args = [`${repoRoot}scripts/install.sh`, action, "--root", stage, "--prefix", prefix];
  return await run("sh", args, { env: { IDS_SENSOR_DENO: Deno.execPath() } });
}

async function stagedInstall(prefix = PREFIX): Promise<string> {
  const stage = await Deno.makeTempDir({ prefix: "ids-install-" });
  // Readable by the unprivileged users the tests switch to, as /usr/local is.
  await Deno.chmod(stage, 0o755);
  assertOk(await install(stage, "install", prefix), "install");
  return stage;
}

/** Every path below `dir`, relative to it. */
function listTree(dir: string, base = dir): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    found.push(path.slice(base.length + 1));
    if (entry.isDirectory) found.push(...listTree(path, base));
  }
  return found.sort();
}

/** The bundled capture's alert lines as the checkout prints them. */
async function checkoutAlerts(): Promise<string> {
  const result = await run(Deno.execPath(), ["run", "-A", `${repoRoot}main.ts`, "analyze"]);
  assertOk(result, "checkout analyze");
  return result.stdout;
}

const verifyReason = reason ?? (toolAvailable("systemd-analyze") ? null : "needs systemd-analyze");
if (!reason && verifyReason) {
  console.warn(`install_test: unit verification skipped: ${verifyReason}`);
}

function whyNotLive(): string | null {
  if (reason) return reason;
  if (!isRoot()) return "needs root (namespaces, capabilities)";
  for (const tool of ["ip", "nmap", "setpriv"]) {
    if (!toolAvailable(tool)) return `needs ${tool}`;
  }
  return null;
}
const liveReason = whyNotLive();
if (!reason && liveReason) console.warn(`install_test: live run skipped: ${liveReason}`);

Deno.test({
  name:
    "install: the installed command, its units, its service privileges; uninstall leaves nothing",
  ignore: reason !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stage = await stagedInstall();
    try {
      await t.step(
        "the installed command analyses the bundled capture like the checkout",
        async () => {
          const work = await Deno.makeTempDir({ prefix: "ids-install-work-" });
          try {
            const command = `${stage}${PREFIX}/bin/ids-sensor`;
            const launcher = await Deno.readTextFile(command);
            const exec = launcher.slice(launcher.indexOf('exec "$lib/deno" run'));
            assert.doesNotMatch(exec, /\s(-A|--allow-all)\s/, "the launcher must not grant -A");
            assert.match(exec, /--allow-read="\$read_paths" --allow-write="\$write_paths"/);

            const expected = await checkoutAlerts();
            assert.ok(expected.trim().split("\n").length >= 3, `too few alerts:\n${expected}`);
            // Output files go where the command line names them (the launcher grants those folders).
            const alerts = `${work}/out/eve.jsonl`;
            await Deno.mkdir(`${work}/out`);
            const installed = await run(
              command,
              ["analyze", "--alerts", alerts, "--db", "alerts.sqlite"],
              { cwd: work },
            );
            assertOk(installed, "installed analyze");
            assert.equal(installed.stdout, expected);
            const written = (await Deno.readTextFile(alerts)).trim().split("\n")
              .map((line) => JSON.parse(line)).filter((event) => event.event_type === "alert");
            assert.equal(written.length, expected.trim().split("\n").length);
            assert.ok(Deno.statSync(`${work}/alerts.sqlite`).size > 0);

            if (isRoot() && toolAvailable("setpriv")) {
              // The installed files serve a user who owns none of them.
              const asNobody = await run("setpriv", [
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                command,
                "analyze",
              ], { cwd: "/", env: { HOME: "/nonexistent" } });
              assertOk(asNobody, "installed analyze as nobody");
              assert.equal(asNobody.stdout, expected);
            } else {
              console.warn("install_test: not root (or no setpriv): the run as nobody is skipped");
            }
          } finally {
            await Deno.remove(work, { recursive: true });
          }
        },
      );

      await t.step("the installed command serves the console", async () => {
        const work = await Deno.makeTempDir({ prefix: "ids-install-serve-" });
        try {
          await assertConsoleServes(`${work}/ids.sqlite`, [`${stage}${PREFIX}/bin/ids-sensor`]);
        } finally {
          await Deno.remove(work, { recursive: true });
        }
      });

      await t.step({
        name: "the systemd units pass systemd-analyze verify",
        ignore: verifyReason !== null,
        fn: async () => {
          const units = await Deno.makeTempDir({ prefix: "ids-install-units-" });
          try {
            // The units as installed, their command mapped into the staging root so verify finds it;
            // the templates also as instances, as `systemctl enable ...@eth0.timer` makes them.
            const paths: string[] = [];
            for (const unit of UNITS) {
              const text = (await Deno.readTextFile(`${stage}/etc/systemd/system/${unit}`))
                .replaceAll(`${PREFIX}/bin/ids-sensor`, `${stage}${PREFIX}/bin/ids-sensor`);
              for (const name of [unit, unit.replace("@.", "@eth0.")]) {
                await Deno.writeTextFile(`${units}/${name}`, text);
                paths.push(`${units}/${name}`);
              }
            }
            const service = await Deno.readTextFile(`${units}/ids-sensor.service`);
            assert.match(service, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
            assert.match(service, /^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN$/m);
            assert.match(service, /^NoNewPrivileges=yes$/m);
            assert.match(service, /^ProtectSystem=strict$/m);
            assert.match(service, /^ReadWritePaths=\/var\/lib\/ids-sensor$/m);
            const verify = await run("systemd-analyze", ["verify", ...paths]);
            // verify exits 0 on unknown keys too, but says so: any output is a finding.
            assertOk(verify, "systemd-analyze verify");
            assert.equal(
              (verify.stdout + verify.stderr).trim(),
              "",
              "systemd-analyze verify found:",
            );
          } finally {
            await Deno.remove(units, { recursive: true });
          }
        },
      });

      await t.step({
        name: "as the service runs it (no root, CAP_NET_RAW and CAP_NET_ADMIN only) " +
          "it detects a live scan",
        ignore: liveReason !== null,
        fn: async () => {
          const pair = createNamespacePair("in", "10.81.0");
          const out = await Deno.makeTempDir({ prefix: "ids-install-live-" });
          try {
            await Deno.chmod(out, 0o777);
            // The installed config, as the service reads it (options given here win over it).
            await Deno.copyFile(`${stage}/etc/ids-sensor/config.yaml`, `${out}/config.yaml`);
            await Deno.chmod(`${out}/config.yaml`, 0o644);
            // The service's privileges (User= with AmbientCapabilities=, CapabilityBoundingSet=,
            // NoNewPrivileges=), made by setpriv since no systemd runs here.
            const privileges = (caps: string) => [
              "--reuid=65534",
              "--regid=65534",
              "--clear-groups",
              `--inh-caps=-all${caps}`,
              `--ambient-caps=-all${caps}`,
              `--bounding-set=-all${caps}`,
              "--no-new-privs",
            ];
            const sensor = (caps: string, seconds: number) =>
              new Deno.Command("ip", {
                args: [
                  "netns",
                  "exec",
                  pair.sensorNamespace,
                  "setpriv",
                  ...privileges(caps),
                  `${stage}${PREFIX}/bin/ids-sensor`,
                  "detect",
                  "--config",
                  `${out}/config.yaml`,
                  "--iface",
                  pair.sensorInterface,
                  "--duration",
                  String(seconds),
                  "--alerts",
                  `${out}/alerts.jsonl`,
                  "--db",
                  `${out}/alerts.sqlite`,
                  "--quiet",
                ],
                cwd: "/",
                env: { HOME: "/nonexistent" },
                stdout: "piped",
                stderr: "piped",
              });

            // Without the capabilities the same user cannot capture, and says why.
            const denied = await sensor("", 2).output();
            assert.notEqual(denied.code, 0);
            assert.match(decoder.decode(denied.stderr), /permission denied/i);

            const running = sensor(",+net_raw,+net_admin", 12).spawn();
            // The scan starts once the sensor captures (under load that takes seconds).
            const said = await stderrUntil(running, "detecting on");
            await new Promise((resolve) => setTimeout(resolve, 2000));
            const scan = await synScanFrom(pair.peerNamespace, pair.sensorAddress, "1-300");
            assert.ok(scan.success, `nmap: ${decoder.decode(scan.stderr)}`);
            const status = await running.status;
            await said.done;
            await running.stdout.cancel();
            const stderr = said.text();
            assert.equal(status.code, 0, stderr);
            const alerts = (await Deno.readTextFile(`${out}/alerts.jsonl`)).split("\n")
              .filter((line) => line).map((line) => JSON.parse(line));
            const fromScanner = alerts.filter((a) => a.src_ip === pair.peerAddress);
            assert.ok(
              fromScanner.some((a) => /scan/i.test(a.alert.name)),
              `no scan alert from ${pair.peerAddress}; the sensor said:\n${stderr}`,
            );
          } finally {
            pair.remove();
            await Deno.remove(out, { recursive: true });
          }
        },
      });
    } finally {
      const uninstall = await install(stage, "uninstall");
      assertOk(uninstall, "uninstall");
      // Nothing the install made is left: not a file, not a folder.
      assert.deepEqual(listTree(stage), []);
      await Deno.remove(stage, { recursive: true });
    }
  },
});

Deno.test({
  name: "install: upgrade keeps a changed config; uninstall removes exactly what was installed",
  ignore: reason !== null,
  async fn() {
    // Another prefix than the first test's, as packagers and /opt installs use.
    const prefix = "/opt/ids-sensor";
    const stage = await stagedInstall(prefix);
    try {
      const manifest = await Deno.readTextFile(`${stage}${prefix}/lib/ids-sensor/manifest`);
      for (const path of [`${prefix}/bin/ids-sensor`, `${prefix}/lib/ids-sensor/deno`]) {
        assert.ok(manifest.includes(`file ${path}\n`), `${path} is not in the manifest`);
      }
      assert.match(manifest, /^conf [0-9a-f]{64} \/etc\/ids-sensor\/config\.yaml$/m);
      for (const unit of UNITS) {
        assert.ok(manifest.includes(`file /etc/systemd/system/${unit}\n`), `${unit} missing`);
      }
      assert.ok(Deno.statSync(`${stage}/var/lib/ids-sensor/captures`).isDirectory);
      // The units run the command where this prefix put it.
      const service = await Deno.readTextFile(`${stage}/etc/systemd/system/ids-sensor.service`);
      assert.match(service, /^ExecStart=\/opt\/ids-sensor\/bin\/ids-sensor detect --config /m);

      // Upgrade: the same files again; a config the admin changed stays as it is.
      const config = `${stage}/etc/ids-sensor/config.yaml`;
      await Deno.writeTextFile(config, "# changed by the admin\n", { append: true });
      const changed = await Deno.readTextFile(config);
      // A file the old version installed and this one no longer has goes on upgrade.
      const gone = `${prefix}/lib/ids-sensor/app/src/removed_module.ts`;
      await Deno.writeTextFile(`${stage}${gone}`, "export {};\n");
      await Deno.writeTextFile(
        `${stage}${prefix}/lib/ids-sensor/manifest`,
        `file ${gone}\n`,
        { append: true },
      );
      const upgrade = await install(stage, "install", prefix);
      assertOk(upgrade, "upgrade");
      assert.match(upgrade.stderr, /upgrading/);
      assert.equal(await Deno.readTextFile(config), changed);
      assert.throws(() => Deno.statSync(`${stage}${gone}`), Deno.errors.NotFound);

      const uninstall = await install(stage, "uninstall", prefix);
      assertOk(uninstall, "uninstall");
      assert.match(uninstall.stderr, /kept \/etc\/ids-sensor\/config\.yaml/);
      assert.deepEqual(listTree(stage), ["etc", "etc/ids-sensor", "etc/ids-sensor/config.yaml"]);

      const again = await install(stage, "uninstall", prefix);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /no installation at/);
    } finally {
      await Deno.remove(stage, { recursive: true });
    }
  },
});
