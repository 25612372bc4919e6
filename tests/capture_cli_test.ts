/**
 * `ids-sensor capture` as cron runs it: a pcap file tcpdump reads with the
 * exact packet count sent, a sidecar, the lock refusing a concurrent run
 * (exit 75), SIGINT keeping a valid file, a stale lock taken over, and the
 * documented exit codes for a bad interface (66) and a bad filter (65).
 */
import assert from "node:assert/strict";
import { CAPTURE_EXIT } from "../src/cli/capture.ts";
import { repoRoot, toolAvailable } from "./support/environment.ts";
import { createVethPair, vethUnavailableReason } from "./support/veth_pair.ts";

const vethReason = vethUnavailableReason();
const tcpdumpReason = toolAvailable("tcpdump") ? null : "needs tcpdump (apt-get install tcpdump)";
const reason = vethReason ?? tcpdumpReason;
if (reason) console.warn(`capture CLI tests: skipped, ${reason}`);

/** A running `ids-sensor capture` child with its stderr collected. */
class CaptureRun {
  readonly child: Deno.ChildProcess;
  stderr = "";
  readonly #drained: Promise<void>;
  #lineWaiters: Array<() => void> = [];

  constructor(args: string[]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "capture", ...args],
      cwd: repoRoot,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    this.child = child;
    this.#drained = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.stderr += decoder.decode(chunk, { stream: true });
        this.#lineWaiters.forEach((wake) => wake());
      }
      this.#lineWaiters.forEach((wake) => wake());
    })();
  }

  /** Resolves once stderr contains `text`; rejects if the process ends first. */
  async waitFor(text: string): Promise<void> {
    while (!this.stderr.includes(text)) {
      const ended = await Promise.race([
        new Promise<boolean>((resolve) => this.#lineWaiters.push(() => resolve(false))),
        this.#drained.then(() => true),
      ]);
      if (ended && !this.stderr.includes(text)) {
        throw new Error(`capture ended without "${text}": ${this.stderr}`);
      }
    }
  }

  async finish(): Promise<number> {
    const status = await this.child.status;
    await this.#drained;
    return status.code;
  }
}

function tcpdumpCount(path: string): number {
  const result = new Deno.Command("tcpdump", {
    args: ["-n", "-r", path],
    stdout: "piped",
    stderr: "piped",
  })
    .outputSync();
  assert.ok(result.success, new TextDecoder().decode(result.stderr));
  const text = new TextDecoder().decode(result.stdout).trim();
  return text === "" ? 0 : text.split("\n").length;
}

function filesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
}

Deno.test({
  name: "capture CLI: timestamped pcap tcpdump reads with the exact count sent, and a sidecar",
  ignore: reason !== null,
  async fn() {
    const pair = createVethPair();
    const out = Deno.makeTempDirSync({ prefix: "ids-capture-" });
    try {
      const port = 42000 + (Deno.pid % 1000);
      const run = new CaptureRun([
        "--iface",
        pair.captureSide,
        "--duration",
        "4",
        "--label",
        "train",
        "--filter",
        `udp and dst port ${port}`,
        "--out",
        out,
      ]);
      await run.waitFor("capturing on");
      await pair.sendUdp(60, 120, port);
      assert.equal(await run.finish(), CAPTURE_EXIT.ok, run.stderr);
      const files = filesIn(out);
      assert.equal(files.length, 2, files.join(", "));
      const pcap = files.find((name) => name.endsWith(".pcap"))!;
      assert.match(pcap, new RegExp(`^train-${pair.captureSide}-\\d{8}T\\d{6}\\.\\d{3}Z\\.pcap$`));
      assert.equal(tcpdumpCount(`${out}/${pcap}`), 60);
      const sidecar = JSON.parse(
        Deno.readTextFileSync(`${out}/${pcap.replace(/\.pcap$/, ".json")}`),
      );
      assert.equal(sidecar.interface, pair.captureSide);
      assert.equal(sidecar.label, "train");
      assert.equal(sidecar.packets, 60);
      assert.equal(sidecar.kernelDropped, 0);
      assert.equal(sidecar.stopReason, "duration");
      assert.ok(Date.parse(sidecar.end) > Date.parse(sidecar.start));
    } finally {
      pair.remove();
      Deno.removeSync(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "capture CLI: the lock refuses a concurrent run (75); SIGINT stops the first with a valid file (0)",
  ignore: reason !== null,
  async fn() {
    const pair = createVethPair();
    const out = Deno.makeTempDirSync({ prefix: "ids-capture-" });
    try {
      const port = 43000 + (Deno.pid % 1000);
      const args = [
        "--iface",
        pair.captureSide,
        "--filter",
        `udp and dst port ${port}`,
        "--out",
        out,
      ];
      const first = new CaptureRun([...args, "--duration", "120", "--label", "first"]);
      await first.waitFor("capturing on");
      const second = new CaptureRun([...args, "--duration", "2", "--label", "second"]);
      assert.equal(await second.finish(), CAPTURE_EXIT.locked, second.stderr);
      assert.match(second.stderr, /another capture is running/);
      await pair.sendUdp(25, 80, port);
      first.child.kill("SIGINT");
      assert.equal(await first.finish(), CAPTURE_EXIT.ok, first.stderr);
      const files = filesIn(out);
      assert.ok(files.every((name) => name.startsWith("first-")), files.join(", "));
      const pcap = files.find((name) => name.endsWith(".pcap"))!;
      assert.equal(tcpdumpCount(`${out}/${pcap}`), 25);
      const sidecar = JSON.parse(
        Deno.readTextFileSync(`${out}/${pcap.replace(/\.pcap$/, ".json")}`),
      );
      assert.equal(sidecar.stopReason, "signal");
      assert.equal(sidecar.packets, 25);
      assert.ok(!files.includes(".capture.lock"), "lock left behind");
    } finally {
      pair.remove();
      Deno.removeSync(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture CLI: a lock left by a dead process is taken over",
  ignore: reason !== null,
  async fn() {
    const out = Deno.makeTempDirSync({ prefix: "ids-capture-" });
    try {
      const dead = new Deno.Command("true").spawn();
      await dead.status;
      Deno.writeTextFileSync(
        `${out}/.capture.lock`,
        JSON.stringify({ pid: dead.pid, startTicks: 1, acquired: "2020-01-01T00:00:00Z" }),
      );
      const run = new CaptureRun([
        "--iface",
        "lo",
        "--duration",
        "1",
        "--filter",
        "udp port 9",
        "--out",
        out,
      ]);
      assert.equal(await run.finish(), CAPTURE_EXIT.ok, run.stderr);
      assert.ok(filesIn(out).some((name) => name.endsWith(".pcap")));
      assert.ok(!filesIn(out).includes(".capture.lock"));
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "capture CLI: bad interface exits 66, bad filter 65, bad duration 64, each with a clear message",
  ignore: reason !== null,
  async fn() {
    const out = Deno.makeTempDirSync({ prefix: "ids-capture-" });
    try {
      const badInterface = new CaptureRun([
        "--iface",
        "ids-nope0",
        "--duration",
        "1",
        "--out",
        out,
      ]);
      assert.equal(await badInterface.finish(), CAPTURE_EXIT.noSuchInterface);
      assert.match(badInterface.stderr, /no such interface "ids-nope0"/);
      const badFilter = new CaptureRun([
        "--iface",
        "lo",
        "--duration",
        "1",
        "--filter",
        "tcp port http-ish",
        "--out",
        out,
      ]);
      assert.equal(await badFilter.finish(), CAPTURE_EXIT.badFilter);
      assert.match(badFilter.stderr, /bad BPF filter "tcp port http-ish"/);
      const badDuration = new CaptureRun(["--iface", "lo", "--duration", "soon", "--out", out]);
      assert.equal(await badDuration.finish(), CAPTURE_EXIT.usage);
      assert.match(badDuration.stderr, /--duration/);
      const missingOut = new CaptureRun(["--iface", "lo", "--duration", "1"]);
      assert.equal(await missingOut.finish(), CAPTURE_EXIT.usage);
      // Refused runs leave nothing behind: no partial file, no lock.
      assert.deepEqual(filesIn(out), []);
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  },
});

Deno.test({
  name: "capture CLI: every run gets its own files (millisecond names, claimed exclusively)",
  ignore: reason !== null,
  async fn() {
    const out = Deno.makeTempDirSync({ prefix: "ids-capture-" });
    try {
      for (let k = 0; k < 3; k++) {
        const run = new CaptureRun([
          "--iface",
          "lo",
          "--duration",
          "0.2",
          "--filter",
          "udp port 9",
          "--out",
          out,
        ]);
        assert.equal(await run.finish(), CAPTURE_EXIT.ok, run.stderr);
      }
      const pcaps = filesIn(out).filter((name) => name.endsWith(".pcap"));
      assert.equal(pcaps.length, 3, filesIn(out).join(", "));
      assert.equal(filesIn(out).filter((name) => name.endsWith(".json")).length, 3);
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "capture CLI: the interface vanishes: exit 74, file kept as .partial.pcap, sidecar says failed",
  ignore: reason !== null,
  async fn() {
    const pair = createVethPair();
    const out = Deno.makeTempDirSync({ prefix: "ids-capture-" });
    try {
      const run = new CaptureRun([
        "--iface",
        pair.captureSide,
        "--duration",
        "120",
        "--label",
        "gone",
        "--out",
        out,
      ]);
      await run.waitFor("capturing on");
      await pair.sendUdp(10, 20, 9999);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      new Deno.Command("ip", { args: ["link", "del", pair.captureSide] }).outputSync();
      assert.equal(await run.finish(), CAPTURE_EXIT.captureFailed, run.stderr);
      const files = filesIn(out);
      const partial = files.find((name) => name.endsWith(".partial.pcap"));
      assert.ok(partial, files.join(", "));
      assert.ok(!files.some((name) => /\d{3}Z\.pcap$/.test(name)), files.join(", "));
      const sidecar = JSON.parse(
        Deno.readTextFileSync(`${out}/${partial.replace(/\.partial\.pcap$/, ".json")}`),
      );
      assert.equal(sidecar.stopReason, "failed");
      assert.equal(sidecar.complete, false);
      assert.equal(sidecar.file, partial);
      assert.match(sidecar.error, /disappeared|down|No such device/i);
      assert.equal(tcpdumpCount(`${out}/${partial}`), 10);
    } finally {
      pair.remove();
      Deno.removeSync(out, { recursive: true });
    }
  },
});
