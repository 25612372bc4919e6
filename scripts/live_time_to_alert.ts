/**
 * Live time-to-alert: the sensor captures on one end of a veth pair while a
 * real attack tool runs in a network namespace on the other end, and the
 * time from the tool's start to the first console alert line is measured on
 * the wall clock. Needs root, iproute2, nmap and hping3.
 *
 *   sudo deno run -A scripts/live_time_to_alert.ts [--rounds N]
 *
 * Names carry the `alerts-` prefix; everything is removed at the end, also on
 * error. The victim address lives on the capture side of the pair (the
 * kernel answers the probes: RST for closed TCP ports, ICMP port unreachable
 * for UDP); nothing is routed anywhere else.
 */
const NS = "alerts-atk";
const CAPTURE = "alerts-cap0";
const PEER = "alerts-atk0";
const ATTACKER = "10.77.0.1";
const VICTIM = "10.77.0.2";

const ATTACKS: { name: string; expect: string; command: string[] }[] = [
  {
    name: "nmap SYN scan, 1000 ports at 400/s",
    expect: "TCP SYN scan",
    command: ["nmap", "-n", "-Pn", "-sS", "-p", "1-1000", "--max-rate", "400", VICTIM],
  },
  {
    name: "nmap UDP scan, top 100 ports at 200/s",
    expect: "UDP scan",
    command: ["nmap", "-n", "-Pn", "-sU", "--top-ports", "100", "--max-rate", "200", VICTIM],
  },
  {
    name: "hping3 SYN flood to port 80, 1000/s for 5 s",
    expect: "TCP SYN flood",
    command: ["hping3", "-q", "-S", "-p", "80", "-i", "u1000", "-c", "5000", VICTIM],
  },
];

function sh(args: string[], quiet = false): void {
  const out = new Deno.Command(args[0], { args: args.slice(1), stderr: "piped", stdout: "null" })
    .outputSync();
  if (!out.success && !quiet) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

function cleanup(): void {
  sh(["ip", "netns", "del", NS], true);
  sh(["ip", "link", "del", CAPTURE], true);
}

function setup(): void {
  cleanup();
  sh(["ip", "netns", "add", NS]);
  sh(["ip", "link", "add", CAPTURE, "type", "veth", "peer", "name", PEER]);
  sh(["ip", "link", "set", PEER, "netns", NS]);
  sh(["ip", "addr", "add", `${VICTIM}/30`, "dev", CAPTURE]);
  sh(["ip", "link", "set", CAPTURE, "up"]);
  sh(["ip", "netns", "exec", NS, "ip", "addr", "add", `${ATTACKER}/30`, "dev", PEER]);
  sh(["ip", "netns", "exec", NS, "ip", "link", "set", PEER, "up"]);
  sh(["ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up"]);
}

/** Runs one attack under a live sensor; returns seconds from the tool's start to the first line. */
async function measure(attack: typeof ATTACKS[number]): Promise<{ seconds: number; line: string }> {
  const sensor = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "detect",
      "--iface",
      CAPTURE,
      "--duration",
      "40",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  // Ready when the sensor says it is detecting.
  const errReader = sensor.stderr.getReader();
  let errText = "";
  while (!errText.includes("detecting on")) {
    const { value, done } = await errReader.read();
    if (done) throw new Error(`sensor ended before it was ready: ${errText}`);
    errText += decoder.decode(value);
  }
  (async () => {
    while (!(await errReader.read()).done) { /* drain */ }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  const started = performance.now();
  const tool = new Deno.Command("ip", {
    args: ["netns", "exec", NS, ...attack.command],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const outReader = sensor.stdout.getReader();
  let outText = "";
  let result: { seconds: number; line: string } | null = null;
  const deadline = started + 35_000;
  while (!result && performance.now() < deadline) {
    const next = await Promise.race([
      outReader.read(),
      new Promise<null>((r) => setTimeout(() => r(null), deadline - performance.now())),
    ]);
    if (!next || next.done) break;
    outText += decoder.decode(next.value);
    for (const line of outText.split("\n")) {
      if (line.includes(` ${attack.expect} `) && line.includes(ATTACKER)) {
        result = { seconds: (performance.now() - started) / 1000, line };
        break;
      }
    }
  }
  try {
    tool.kill("SIGTERM");
  } catch { /* already ended */ }
  await tool.status;
  try {
    sensor.kill("SIGINT");
  } catch { /* already ended */ }
  await sensor.status;
  if (!result) throw new Error(`no "${attack.expect}" line within 35 s: ${outText}`);
  return result;
}

if (import.meta.main) {
  if (Deno.uid() !== 0) {
    console.error("live_time_to_alert: needs root (network namespaces, live capture)");
    Deno.exit(77);
  }
  const i = Deno.args.indexOf("--rounds");
  const rounds = i >= 0 ? Number(Deno.args[i + 1]) : 1;
  setup();
  try {
    for (const attack of ATTACKS) {
      const times: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const { seconds, line } = await measure(attack);
        times.push(seconds);
        console.log(
          `${attack.name}: first "${attack.expect}" line ${seconds.toFixed(2)} s after start`,
        );
        console.log(`  ${line}`);
      }
      times.sort((a, b) => a - b);
      if (rounds > 1) {
        console.log(
          `${attack.name}: median ${times[Math.floor(rounds / 2)].toFixed(2)} s, ` +
            `max ${times[rounds - 1].toFixed(2)} s over ${rounds} rounds`,
        );
      }
    }
  } finally {
    cleanup();
  }
}
