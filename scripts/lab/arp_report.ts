/**
 * What a range run's ARP traffic looks like, read with tshark (independent
 * of the sensor's own decoder): per sender MAC and IP the requests and
 * replies, the distinct addresses asked for in each 10 s of the run and in
 * any sliding 10 s, the unsolicited replies (a reply to a host that had not
 * asked for that address in the 3 s before, request not yet answered by that
 * sender), the IP-to-MAC changes, and the attack windows of labels.csv; all
 * in seconds from the capture's start. For judging ARP sweep and spoofing
 * thresholds against benign traffic.
 *
 * `deno run -A scripts/lab/arp_report.ts RUN_DIR...` (a `lab --out` directory).
 */

interface ArpFrame {
  t: number;
  op: 1 | 2;
  ethSrc: string;
  ethDst: string;
  mac: string;
  ip: string;
  targetMac: string;
  targetIp: string;
}

const WINDOW = 10;
const ASK_SECONDS = 3;

const FIELDS = ["frame.time_epoch", "eth.src", "eth.dst", "arp.opcode", "arp.src.hw_mac"]
  .concat(["arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4"]);

async function arpFrames(pcap: string): Promise<ArpFrame[]> {
  const out = await new Deno.Command("tshark", {
    args: ["-r", pcap, "-Y", "arp", "-T", "fields", "-E", "separator=\t"].concat(
      FIELDS.flatMap((f) => ["-e", f]),
    ),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`tshark failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean).map((line) => {
    const [t, ethSrc, ethDst, op, mac, ip, targetMac, targetIp] = line.split("\t");
    return { t: Number(t), op: Number(op) as 1 | 2, ethSrc, ethDst, mac, ip, targetMac, targetIp };
  });
}

/** Most distinct values in any `span` seconds of time-sorted (time, value) pairs. */
function maxDistinctInSpan(points: [number, string][], span: number): number {
  let best = 0;
  const counts = new Map<string, number>();
  let lo = 0;
  for (const [t, v] of points) {
    counts.set(v, (counts.get(v) ?? 0) + 1);
    while (points[lo][0] <= t - span) {
      const old = points[lo][1];
      const n = counts.get(old)! - 1;
      if (n === 0) counts.delete(old);
      else counts.set(old, n);
      lo++;
    }
    best = Math.max(best, counts.size);
  }
  return best;
}

async function report(dir: string): Promise<void> {
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  const t0: number = manifest.captureStart;
  const role = new Map<string, string>(
    manifest.hosts.map((h: { ip: string; name: string }) => [h.ip, h.name]),
  );
  const frames = await arpFrames(`${dir}/capture.pcap`);
  const rel = (t: number) => (t - t0).toFixed(2);
  console.log(
    `== ${dir}: scenario ${manifest.scenario}, seed ${manifest.seed}, ` +
      `${manifest.durationSeconds} s, ${manifest.packets.inFile} packets, ` +
      `${manifest.captureBytes} bytes, ${frames.length} ARP frames`,
  );
  for (const a of manifest.attacks) {
    console.log(
      `attack ${a.attack} from ${a.attacker}: ${rel(a.start)}-${rel(a.end)} s ` +
        `(exit ${a.exitCode}) ${a.argv.join(" ")}`,
    );
  }

  // Per sender: requests, replies, distinct targets per 10 s bin and in any 10 s.
  const bins = Math.ceil(manifest.durationSeconds / WINDOW);
  const senders = new Map<string, { req: number; rep: number; asked: [number, string][] }>();
  for (const f of frames) {
    const key = `${f.mac} ${f.ip}`;
    const s = senders.get(key) ?? { req: 0, rep: 0, asked: [] };
    if (f.op === 1) {
      s.req++;
      s.asked.push([f.t, f.targetIp]);
    } else s.rep++;
    senders.set(key, s);
  }
  console.log(
    `sender (MAC IP host): requests replies | distinct IPs asked per ${WINDOW} s bin | ` +
      `max in any ${WINDOW} s`,
  );
  for (const [key, s] of [...senders].sort((a, b) => b[1].req + b[1].rep - a[1].req - a[1].rep)) {
    const perBin = Array.from({ length: bins }, () => new Set<string>());
    for (const [t, ip] of s.asked) {
      perBin[Math.min(bins - 1, Math.floor((t - t0) / WINDOW))]?.add(ip);
    }
    const host = role.get(key.split(" ")[1]) ?? "?";
    console.log(
      `  ${key} ${host}: ${s.req} ${s.rep} | ${perBin.map((b) => b.size).join(",")} | ` +
        `${maxDistinctInSpan(s.asked, WINDOW)}`,
    );
  }

  // Unsolicited replies: no open request from the receiver for that address in the last 3 s.
  const open: { ask: ArpFrame; answeredBy: Set<string> }[] = [];
  const unsolicited = new Map<string, { n: number; first: number; last: number }>();
  let gratuitous = 0;
  for (const f of frames) {
    while (open.length > 0 && open[0].ask.t < f.t - ASK_SECONDS) open.shift();
    if (f.op === 1) {
      if (f.ip === f.targetIp) gratuitous++;
      else open.push({ ask: f, answeredBy: new Set() });
      continue;
    }
    if (f.ip === f.targetIp || f.ethDst === "ff:ff:ff:ff:ff:ff") {
      gratuitous++;
      continue;
    }
    const ask = open.find((o) =>
      o.ask.ip === f.targetIp && o.ask.targetIp === f.ip && !o.answeredBy.has(f.ethSrc)
    );
    if (ask) {
      ask.answeredBy.add(f.ethSrc);
      continue;
    }
    const key = `from ${f.ethSrc}: ${f.ip} is at ${f.mac}, to ${f.targetIp} (${f.targetMac})`;
    const u = unsolicited.get(key) ?? { n: 0, first: f.t, last: f.t };
    u.n++;
    u.last = f.t;
    unsolicited.set(key, u);
  }
  console.log(
    `unsolicited replies: ${[...unsolicited.values()].reduce((a, u) => a + u.n, 0)} ` +
      `(gratuitous ARP, not counted: ${gratuitous})`,
  );
  for (const [key, u] of unsolicited) {
    console.log(`  ${u.n} x ${key}, ${rel(u.first)}-${rel(u.last)} s`);
  }

  // IP-to-MAC changes, from every sender claim (requests and replies).
  const claimed = new Map<string, string>();
  const changes: string[] = [];
  for (const f of frames) {
    if (f.ip === "0.0.0.0") continue;
    const before = claimed.get(f.ip);
    if (before !== undefined && before !== f.mac) {
      changes.push(`${rel(f.t)} s ${f.ip}: ${before} -> ${f.mac} (op ${f.op} to ${f.targetIp})`);
    }
    claimed.set(f.ip, f.mac);
  }
  console.log(`IP->MAC changes: ${changes.length}`);
  for (const c of changes.slice(0, 12)) console.log(`  ${c}`);
  if (changes.length > 12) console.log(`  ... ${changes.length - 12} more`);

  const spoofed = frames.filter((f) => f.ethSrc !== f.mac).length;
  console.log(`frames whose Ethernet source is not the ARP sender MAC: ${spoofed}`);

  // Benign senders only: not the MAC of a host with an attacker's address.
  const attackerIps = new Set(
    manifest.hosts.filter((h: { role: string }) => h.role === "attacker").map((h: { ip: string }) =>
      h.ip
    ),
  );
  const attackerMacs = new Set(frames.filter((f) => attackerIps.has(f.ip)).map((f) => f.mac));
  const benign = [...senders].filter(([key]) => !attackerMacs.has(key.split(" ")[0]));
  const total = benign.reduce((a, [, s]) => a + s.req + s.rep, 0);
  const worst = benign.map(([key, s]) => [key, maxDistinctInSpan(s.asked, WINDOW)] as const)
    .sort((a, b) => b[1] - a[1])[0];
  console.log(
    `benign: ${total} ARP frames from ${benign.length} senders, ` +
      `${(total / manifest.durationSeconds).toFixed(2)}/s; most distinct IPs asked in any ` +
      `${WINDOW} s: ${worst ? `${worst[1]} (${worst[0]})` : "none"}`,
  );
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("usage: deno run -A scripts/lab/arp_report.ts RUN_DIR...");
    Deno.exit(2);
  }
  for (const dir of Deno.args) await report(dir);
}
