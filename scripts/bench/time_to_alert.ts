/**
 * Live time-to-alert: `ids-sensor detect` captures on the victim's end of a
 * veth pair (inside a network namespace) while a real attack tool runs from
 * the attacker's namespace; the wall time from the attack's first packet to the
 * first alert line for that attack is recorded twice: when the console line reaches
 * the sensor's stdout and when the EVE line reaches the `--alerts` JSONL file
 * (polled every 20 ms). Each attack runs `--rounds` times, each under a fresh
 * sensor (the evidence of a round never helps the next); p50/p95 per attack.
 *
 *   sudo deno task bench:alert-time [--rounds 3] [--attacks syn-scan,udp-scan]
 *       [--timeout 60] [--json OUT.json] [--show-sensor] [-- extra detect options]
 *
 * Attacks: nmap SYN scan, nmap UDP scan, hping3 SYN flood with random spoofed
 * sources, slowhttptest slowloris, hydra HTTP basic-auth brute force (each
 * bounded in rate and count; a missing tool is skipped with the reason).
 * Everything lives in the namespaces `timing-vic-TAG` and `timing-atk-TAG` (TAG from
 * the process id; 10.79.0.0/24,
 * no default route: spoofed packets and their replies never leave the pair),
 * removed at the end, also on error. Needs root, iproute2 and nginx.
 *
 * The attack starts with its first packet: tcpdump on the attacker's end
 * gives its kernel timestamp (same clock as Date.now()); the tool's own
 * start-up before it (nmap and hydra take 1-2 s) is reported apart. Without
 * tcpdump the tool's start is used.
 */
import { fileURLToPath } from "node:url";

// Per process, so the test and the bench (or two benches) never share a namespace.
const TAG = (Deno.pid % 65536).toString(16);
const VICTIM_NS = `timing-vic-${TAG}`;
const ATTACKER_NS = `timing-atk-${TAG}`;
const VICTIM_IF = `timing-v${TAG}`;
const ATTACKER_IF = `timing-a${TAG}`;
const VICTIM = "10.79.0.1";
const ATTACKER = "10.79.0.2";
const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));

/** One attack kind and how to recognise its alert. */
export interface TimedAttack {
  name: string;
  tool: string;
  /** The behaviour name the alert should carry (`alert.name` contains it). */
  expect: string;
  /** Known behaviour (target 2 s p95) or anomaly (target 5 s). */
  kind: "known" | "unknown";
  command(workDir: string): Promise<string[]> | string[];
}

/** The attacks, bounded in rate and count. */
export const TIMED_ATTACKS: readonly TimedAttack[] = [
  {
    name: "syn-scan",
    tool: "nmap",
    expect: "TCP SYN scan",
    kind: "known",
    command: () => [
      "nmap",
      "-n",
      "-Pn",
      "-sS",
      "--max-retries",
      "1",
      "--max-rate",
      "400",
      "-p",
      "1-2000",
      VICTIM,
    ],
  },
  {
    name: "udp-scan",
    tool: "nmap",
    expect: "UDP scan",
    kind: "known",
    command: () => [
      "nmap",
      "-n",
      "-Pn",
      "-sU",
      "--max-retries",
      "1",
      "--max-rate",
      "200",
      "--top-ports",
      "200",
      VICTIM,
    ],
  },
  {
    name: "syn-flood",
    tool: "hping3",
    expect: "TCP SYN flood",
    kind: "known",
    // 500 SYN/s from random spoofed sources for 10 s.
    command: () => [
      "hping3",
      "-q",
      "-S",
      "--rand-source",
      "-p",
      "80",
      "-i",
      "u2000",
      "-c",
      "5000",
      VICTIM,
    ],
  },
  {
    name: "slowloris",
    tool: "slowhttptest",
    expect: "slowloris",
    kind: "known",
    command: () => [
      "slowhttptest",
      "-H",
      "-c",
      "150",
      "-r",
      "50",
      "-i",
      "5",
      "-x",
      "24",
      "-p",
      "3",
      "-l",
      "40",
      "-u",
      `http://${VICTIM}/`,
    ],
  },
  {
    name: "http-brute-force",
    tool: "hydra",
    expect: "brute force",
    kind: "known",
    command: async (workDir) => {
      const words = Array.from({ length: 3000 }, (_, i) => `guess${i}`);
      await Deno.writeTextFile(`${workDir}/words.txt`, words.join("\n") + "\n");
      return [
        "hydra",
        "-I",
        "-q",
        "-l",
        "admin",
        "-P",
        `${workDir}/words.txt`,
        "-t",
        "4",
        "-w",
        "5",
        "-s",
        "80",
        VICTIM,
        "http-get",
        "/private/",
      ];
    },
  },
];

/** One round's outcome, seconds from the attack's first packet on the wire (null: never). */
export interface RoundResult {
  attack: string;
  round: number;
  /** The tool's own start-up: from spawning it to its first packet (tcpdump's timestamp). */
  startupSeconds: number | null;
  /** First alert line of the attack on the sensor's stdout (console sink). */
  consoleSeconds: number | null;
  /** First alert line of the attack in the `--alerts` JSONL file. */
  jsonlSeconds: number | null;
  /** The first alert's name (it may not be the expected one). */
  firstName: string | null;
  /** First JSONL line carrying the expected behaviour's name. */
  expectedSeconds: number | null;
}

function run(args: string[], quiet = false): void {
  const out = new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "piped" })
    .outputSync();
  if (!out.success && !quiet) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

function toolAvailable(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
}

/** The lab: two namespaces, a veth pair, nginx with a basic-auth area on the victim. */
export class TimingLab {
  #nginx: Deno.ChildProcess | null = null;
  /** What the sensor printed on stderr in the last round (its run summary). */
  lastSensorReport = "";
  readonly workDir: string;

  private constructor(workDir: string) {
    this.workDir = workDir;
  }

  /** Builds the namespaces and starts nginx; `remove()` undoes it. */
  static async create(): Promise<TimingLab> {
    TimingLab.removeNamespaces();
    const workDir = await Deno.makeTempDir({ prefix: "timing-tta-" });
    await Deno.chmod(workDir, 0o755); // nginx workers (nobody) read the site.
    const lab = new TimingLab(workDir);
    try {
      run(["ip", "netns", "add", VICTIM_NS]);
      run(["ip", "netns", "add", ATTACKER_NS]);
      run(["ip", "link", "add", VICTIM_IF, "type", "veth", "peer", "name", ATTACKER_IF]);
      run(["ip", "link", "set", VICTIM_IF, "netns", VICTIM_NS]);
      run(["ip", "link", "set", ATTACKER_IF, "netns", ATTACKER_NS]);
      for (
        const [ns, dev, addr] of [[VICTIM_NS, VICTIM_IF, VICTIM], [
          ATTACKER_NS,
          ATTACKER_IF,
          ATTACKER,
        ]]
      ) {
        run(["ip", "-n", ns, "addr", "add", `${addr}/24`, "dev", dev]);
        run(["ip", "-n", ns, "link", "set", dev, "up"]);
        run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      }
      await lab.#startNginx();
      return lab;
    } catch (error) {
      await lab.remove();
      throw error;
    }
  }

  static removeNamespaces(): void {
    run(["ip", "netns", "del", VICTIM_NS], true);
    run(["ip", "netns", "del", ATTACKER_NS], true);
  }

  async #startNginx(): Promise<void> {
    const d = this.workDir;
    await Deno.mkdir(`${d}/site/private`, { recursive: true });
    await Deno.mkdir(`${d}/tmp`, { recursive: true });
    await Deno.writeTextFile(`${d}/site/index.html`, "<h1>timing lab</h1>\n");
    await Deno.writeTextFile(`${d}/site/private/index.html`, "staff only\n");
    await Deno.writeTextFile(`${d}/htpasswd`, "admin:{PLAIN}correct-horse-battery\n");
    await Deno.writeTextFile(
      `${d}/nginx.conf`,
      `worker_processes 1;
daemon off;
pid ${d}/nginx.pid;
error_log ${d}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/tmp/body;
  proxy_temp_path ${d}/tmp/proxy;
  fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi;
  scgi_temp_path ${d}/tmp/scgi;
  keepalive_timeout 15;
  client_header_timeout 60;
  server {
    listen ${VICTIM}:80 default_server;
    root ${d}/site;
    location /private/ { auth_basic "Staff"; auth_basic_user_file ${d}/htpasswd; }
  }
}
`,
    );
    this.#nginx = new Deno.Command("ip", {
      args: ["netns", "exec", VICTIM_NS, "nginx", "-c", `${d}/nginx.conf`, "-p", d],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Listening when a TCP connect from the attacker succeeds.
    for (let i = 0; i < 50; i++) {
      const probe = new Deno.Command("ip", {
        args: ["netns", "exec", ATTACKER_NS, "bash", "-c", `exec 3<>/dev/tcp/${VICTIM}/80`],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (probe.success) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`nginx did not start (see ${d}/nginx-error.log)`);
  }

  /** Stops nginx, deletes the namespaces (and so the pair) and the work folder. */
  async remove(): Promise<void> {
    if (this.#nginx) {
      try {
        this.#nginx.kill("SIGTERM");
      } catch { /* ended */ }
      await this.#nginx.status;
      this.#nginx = null;
    }
    TimingLab.removeNamespaces();
    await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
  }

  /**
   * Runs `attack` once under a fresh `detect` and returns when its alert
   * arrived (or `timeoutSeconds` passed). `detectArgs` are added to detect's.
   */
  async measure(
    attack: TimedAttack,
    round: number,
    timeoutSeconds: number,
    detectArgs: string[] = [],
  ): Promise<RoundResult> {
    const alerts = `${this.workDir}/alerts-${attack.name}-${round}.jsonl`;
    const sensor = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        VICTIM_NS,
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        "detect",
        "--iface",
        VICTIM_IF,
        "--alerts",
        alerts,
        "--duration",
        `${timeoutSeconds + 30}`,
        ...detectArgs,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const decoder = new TextDecoder();
    const errReader = sensor.stderr.getReader();
    let errText = "";
    while (!errText.includes("detecting on")) {
      const { value, done } = await errReader.read();
      if (done) throw new Error(`sensor ended before it was ready: ${errText}`);
      errText += decoder.decode(value);
    }
    const errDone = (async () => {
      while (true) {
        const { value, done } = await errReader.read();
        if (done) return;
        errText += decoder.decode(value);
      }
    })();
    // "detecting on" comes once the inference workers are up; a little settling time still.
    await new Promise((r) => setTimeout(r, 4000));

    const result: RoundResult = {
      attack: attack.name,
      round,
      startupSeconds: null,
      consoleSeconds: null,
      jsonlSeconds: null,
      firstName: null,
      expectedSeconds: null,
    };
    const involves = (text: string) => text.includes(ATTACKER) || text.includes(`-> ${VICTIM}`);
    const argv = await attack.command(this.workDir);
    // The attack starts with its first packet on the wire (kernel timestamp), not with the tool.
    const firstPacket = await firstPacketWatch();
    const toolStartMs = Date.now();
    const tool = new Deno.Command("ip", {
      args: ["netns", "exec", ATTACKER_NS, ...argv],
      stdout: "null",
      stderr: "null",
      cwd: this.workDir,
    }).spawn();
    const deadline = toolStartMs + timeoutSeconds * 1000;
    const consoleAt: number[] = [];
    const jsonlAt: number[] = [];
    const expectedAt: number[] = [];

    // Console lines as they reach stdout.
    const outReader = sensor.stdout.getReader();
    let outText = "";
    const consoleDone = (async () => {
      while (true) {
        const { value, done } = await outReader.read();
        if (done) return;
        outText += decoder.decode(value);
        if (consoleAt.length === 0) {
          for (const line of outText.split("\n")) {
            if (line.includes(" sev") && involves(line)) {
              consoleAt.push(Date.now());
              break;
            }
          }
        }
      }
    })();
    // JSONL lines as they reach the file.
    let seen = 0;
    while (Date.now() < deadline && expectedAt.length === 0) {
      await new Promise((r) => setTimeout(r, 20));
      let text = "";
      try {
        text = await Deno.readTextFile(alerts);
      } catch { /* not yet created */ }
      const lines = text.split("\n");
      for (; seen < lines.length - 1; seen++) {
        const a = JSON.parse(lines[seen]);
        if (a.src_ip !== ATTACKER && a.dest_ip !== VICTIM) continue;
        if (jsonlAt.length === 0) {
          jsonlAt.push(Date.now());
          result.firstName = a.alert?.name ?? null;
        }
        if (String(a.alert?.name ?? "").includes(attack.expect)) expectedAt.push(Date.now());
      }
    }
    const startMs = (await firstPacket.time) ?? toolStartMs;
    const since = (at: number[]) => at.length ? (at[0] - startMs) / 1000 : null;
    result.startupSeconds = (startMs - toolStartMs) / 1000;
    result.consoleSeconds = since(consoleAt);
    result.jsonlSeconds = since(jsonlAt);
    result.expectedSeconds = since(expectedAt);
    try {
      tool.kill("SIGINT");
    } catch { /* ended */ }
    await tool.status;
    try {
      sensor.kill("SIGINT");
    } catch { /* ended */ }
    await sensor.status;
    await Promise.all([consoleDone, errDone]);
    this.lastSensorReport = errText;
    return result;
  }
}

/**
 * Starts tcpdump on the attacker's end for the first IPv4 packet; `time`
 * resolves to its capture time in epoch ms (null without tcpdump, or when no
 * packet came within a minute).
 */
async function firstPacketWatch(): Promise<{ time: Promise<number | null> }> {
  if (!toolAvailable("tcpdump")) return { time: Promise.resolve(null) };
  const dump = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ATTACKER_NS,
      "tcpdump",
      "-i",
      ATTACKER_IF,
      "-n",
      "-tt",
      "-l",
      "-c",
      "1",
      "--immediate-mode",
      "ip",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const errReader = dump.stderr.getReader();
  let errText = "";
  while (!errText.includes("listening on")) {
    const { value, done } = await errReader.read();
    if (done) return { time: Promise.resolve(null) };
    errText += decoder.decode(value);
  }
  // Keep reading stderr: tcpdump's closing counts must not meet a closed pipe.
  const errDone = (async () => {
    while (!(await errReader.read()).done) { /* drain */ }
  })();
  const kill = setTimeout(() => {
    try {
      dump.kill("SIGTERM");
    } catch { /* ended */ }
  }, 60_000);
  const time = (async () => {
    const out = await new Response(dump.stdout).text();
    await dump.status;
    await errDone;
    clearTimeout(kill);
    const seconds = Number(out.split(" ")[0]);
    return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
  })();
  return { time };
}

/** Per attack: p50 and p95 of the first JSONL alert line after the first packet, seconds. */
export function summarizeRounds(
  results: readonly RoundResult[],
): Record<string, { rounds: number; alerted: number; p50: number | null; p95: number | null }> {
  const out: Record<
    string,
    { rounds: number; alerted: number; p50: number | null; p95: number | null }
  > = {};
  for (const name of new Set(results.map((r) => r.attack))) {
    const mine = results.filter((r) => r.attack === name);
    const got = mine.map((r) => r.jsonlSeconds).filter((v): v is number => v !== null);
    out[name] = {
      rounds: mine.length,
      alerted: got.length,
      p50: got.length ? quantile(got, 0.5) : null,
      p95: got.length ? quantile(got, 0.95) : null,
    };
  }
  return out;
}

/** Nearest-rank quantile of `values` (null entries count as missing). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function fmt(values: (number | null)[]): string {
  const got = values.filter((v): v is number => v !== null);
  const missing = values.length - got.length;
  if (got.length === 0) return `none of ${values.length}`;
  const text = `p50 ${quantile(got, 0.5).toFixed(2)} s, p95 ${quantile(got, 0.95).toFixed(2)} s`;
  return missing > 0 ? `${text} (${missing} of ${values.length} never)` : text;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const dash = args.indexOf("--");
  const detectArgs = dash >= 0 ? args.splice(dash).slice(1) : [];
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rounds = Number(option("--rounds") ?? 3);
  const timeout = Number(option("--timeout") ?? 60);
  const chosen = option("--attacks")?.split(",");
  const jsonOut = option("--json");
  if (Deno.uid() !== 0) {
    console.error("time_to_alert: needs root (network namespaces, live capture)");
    Deno.exit(77);
  }
  for (const tool of ["ip", "nginx"]) {
    if (!toolAvailable(tool)) {
      console.error(`time_to_alert: needs ${tool}`);
      Deno.exit(69);
    }
  }
  const attacks = TIMED_ATTACKS.filter((a) => !chosen || chosen.includes(a.name));
  const lab = await TimingLab.create();
  const results: RoundResult[] = [];
  const stop = () => {
    TimingLab.removeNamespaces();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stop);
  try {
    console.log(
      `live time-to-alert, ${rounds} rounds each, detect ${detectArgs.join(" ") || "(defaults)"}`,
    );
    for (const attack of attacks) {
      if (!toolAvailable(attack.tool)) {
        console.log(`${attack.name}: skipped, ${attack.tool} not installed`);
        continue;
      }
      const mine: RoundResult[] = [];
      for (let r = 0; r < rounds; r++) {
        const res = await lab.measure(attack, r, timeout, detectArgs);
        mine.push(res);
        if (args.includes("--show-sensor")) console.log(lab.lastSensorReport);
        results.push(res);
        const s = (v: number | null) => v === null ? "never" : `${v.toFixed(2)} s`;
        console.log(
          `  ${attack.name} #${r + 1}: console ${s(res.consoleSeconds)}, jsonl ${
            s(res.jsonlSeconds)
          } ("${res.firstName}"), "${attack.expect}" ${s(res.expectedSeconds)} ` +
            `(tool start-up ${s(res.startupSeconds)})`,
        );
      }
      console.log(
        `${attack.name} (${attack.kind}), from its first packet: console ${
          fmt(mine.map((m) => m.consoleSeconds))
        }; JSONL ${fmt(mine.map((m) => m.jsonlSeconds))}; named "${attack.expect}" ${
          fmt(mine.map((m) => m.expectedSeconds))
        }`,
      );
    }
    if (jsonOut) {
      await Deno.writeTextFile(jsonOut, JSON.stringify({ detectArgs, rounds, results }, null, 2));
    }
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    await lab.remove();
  }
}
