/**
 * The wider benign world's client activities, one function each: HTTPS with
 * TLS 1.2 or 1.3 and HTTP/2, a real browser (headless Chromium), DNS over UDP
 * and TCP, ping and traceroute (IPv4 and IPv6), mail (SMTP with swaks, IMAP
 * and POP3 with curl), PostgreSQL queries, Samba file transfers, NTP queries,
 * long idle SSH sessions, large downloads, and LAN discovery chatter (SSDP,
 * LLMNR, mDNS queries, router solicitations). Every choice comes from the
 * seed; every command is bounded by the caller's timeout.
 */
import type { ProcessGroup, SpawnOptions } from "./process_group.ts";
import type { SeededRandom } from "./seeded_random.ts";
import { CLIENTS, type LabHost, VICTIM, VICTIM_IPV6 } from "./topology.ts";
import { OFFICE_NAMES, sshCommand, type VictimAccess } from "./victim_services.ts";

/** What one activity may use. */
export interface ActivityContext {
  group: ProcessGroup;
  access: VictimAccess;
  client: LabHost;
  rng: SeededRandom;
  /** Options for commands (timeout and working directory). */
  opts: SpawnOptions;
  /** Traffic scale: 1 = normal. */
  intensity: number;
  /** Wall-clock deadline of the run, ms since epoch. */
  deadlineMs: number;
  workDir: string;
  cancelled: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** One Chromium at a time: it is the heaviest process of the range. */
let browserBusy = false;

function run(ctx: ActivityContext, argv: string[], extra: Partial<SpawnOptions> = {}) {
  return ctx.group.runIn(ctx.client.namespace, argv, { ...ctx.opts, ...extra });
}

/** HTTPS page visits over one connection: TLS 1.2 or 1.3, HTTP/2 or HTTP/1.1, IPv4 or IPv6. */
export async function https(ctx: ActivityContext): Promise<void> {
  const { rng, access } = ctx;
  const host = rng.pick(["www.office.lab", "wiki.office.lab", "api.office.lab"]);
  const paths = host === "www.office.lab"
    ? [
      rng.pick(access.site.wwwPages),
      ...Array.from({ length: rng.int(0, 5) }, () => rng.pick(access.site.assets)),
    ]
    : host === "wiki.office.lab"
    ? [rng.pick(access.site.wikiPages)]
    : Array.from({ length: rng.int(1, 4) }, () => rng.pick(access.site.apiEndpoints));
  const tls = rng.weighted({ "1.3-h2": 5, "1.3-h1": 2, "1.2-h2": 1.5, "1.2-h1": 1.5 });
  const args = [
    "curl",
    "-s",
    "-k",
    "--max-time",
    "15",
    rng.next() < 0.35 ? "-6" : "-4",
    tls.endsWith("h2") ? "--http2" : "--http1.1",
    ...(tls.startsWith("1.2") ? ["--tlsv1.2", "--tls-max", "1.2"] : ["--tlsv1.3"]),
    ...paths.flatMap((p) => ["-o", "/dev/null", `https://${host}${p}`]),
  ];
  await run(ctx, args);
}

/** A real browser visit: headless Chromium loads a page with its CSS, script and images. */
export async function browser(ctx: ActivityContext): Promise<void> {
  if (browserBusy) return await https(ctx);
  browserBusy = true;
  try {
    const { rng, access } = ctx;
    const scheme = rng.next() < 0.6 ? "https" : "http";
    const host = rng.next() < 0.75 ? "www.office.lab" : "wiki.office.lab";
    const page = host === "www.office.lab"
      ? rng.pick(access.site.wwwPages)
      : rng.pick(access.site.wikiPages);
    const profile = `${ctx.workDir}/chromium-${ctx.client.name}`;
    await run(ctx, [
      "chromium",
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--ignore-certificate-errors",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--metrics-recording-only",
      `--user-data-dir=${profile}`,
      "--virtual-time-budget=4000",
      "--dump-dom",
      `${scheme}://${host}${page}`,
    ], { timeoutSeconds: Math.min(ctx.opts.timeoutSeconds, 25) });
  } finally {
    browserBusy = false;
  }
}

/** DNS with dig: A, AAAA, MX and reverse lookups, over UDP and now and then over TCP. */
export async function dig(ctx: ActivityContext): Promise<void> {
  const { rng } = ctx;
  for (let n = rng.int(1, 5); n > 0 && !ctx.cancelled(); n--) {
    const kind = rng.weighted({ a: 4, aaaa: 2, mx: 1, ptr: 1, miss: 1 });
    const query = kind === "a"
      ? [rng.pick(OFFICE_NAMES)]
      : kind === "aaaa"
      ? [rng.pick(OFFICE_NAMES), "AAAA"]
      : kind === "mx"
      ? ["office.lab", "MX"]
      : kind === "ptr"
      ? ["-x", rng.pick(CLIENTS).ip]
      : [rng.pick(["intranet2.office.lab", "vpn.office.lab", "cdn.example.org"])];
    const server = rng.next() < 0.25 ? VICTIM_IPV6 : VICTIM.ip;
    await run(ctx, [
      "dig",
      `@${server}`,
      "+time=2",
      "+tries=1",
      ...(rng.next() < 0.2 ? ["+tcp"] : []),
      ...query,
    ], { timeoutSeconds: 5 });
    await sleep(rng.between(100, 900));
  }
}

/** Reachability checks: ping (IPv4 or IPv6) and traceroute (UDP or ICMP probes). */
export async function pingTrace(ctx: ActivityContext): Promise<void> {
  const { rng } = ctx;
  const target = rng.next() < 0.7 ? VICTIM.ip : rng.pick(CLIENTS).ip;
  const kind = rng.weighted({ ping: 5, ping6: 2, traceroute: 1.5, tracerouteIcmp: 0.7 });
  if (kind === "ping") {
    await run(ctx, ["ping", "-n", "-c", `${rng.int(2, 6)}`, "-i", "0.5", "-W", "2", target]);
  } else if (kind === "ping6") {
    await run(ctx, ["ping", "-6", "-n", "-c", `${rng.int(2, 5)}`, "-i", "0.5", VICTIM_IPV6]);
  } else {
    // One hop on a LAN: UDP probes to high ports draw ICMP port-unreachable, like a scan would.
    await run(ctx, [
      "traceroute",
      "-n",
      "-q",
      "2",
      "-w",
      "1",
      "-m",
      "4",
      ...(kind === "tracerouteIcmp" ? ["-I"] : []),
      VICTIM.ip,
    ], { timeoutSeconds: 10 });
  }
}

/** Mail: send with swaks (plain or STARTTLS), then read with IMAP(S) or POP3 through curl. */
export async function mail(ctx: ActivityContext): Promise<void> {
  const { rng, access } = ctx;
  const office = access.office;
  if (rng.next() < 0.6) {
    await run(ctx, [
      "swaks",
      "--server",
      "mail.office.lab",
      "--from",
      `${ctx.client.name}@office.lab`,
      "--to",
      `${rng.pick(["alice", "bob", "carol", "team"])}@office.lab`,
      "--header",
      `Subject: ${rng.pick(["minutes", "invoice", "lunch", "report"])} ${rng.int(1, 999)}`,
      "--body",
      "x".repeat(rng.int(200, 20_000)),
      ...(rng.next() < 0.5 ? ["--tls"] : []),
      "--silent",
      "2",
      "--timeout",
      "10",
    ], { timeoutSeconds: 15 });
    await sleep(rng.between(300, 2000));
  }
  const url = rng.weighted({ imaps: 3, imap: 1, pop3: 1, pop3s: 1 });
  await run(ctx, [
    "curl",
    "-s",
    "-k",
    "--max-time",
    "10",
    "-u",
    `${office.user}:${office.password}`,
    ...(url === "imap" ? ["--ssl-reqd"] : []),
    `${url}://mail.office.lab/${url.startsWith("imap") ? "INBOX" : ""}`,
    "-o",
    "/dev/null",
  ], { timeoutSeconds: 12 });
}

/** A database client: a few queries over one connection, sometimes an idle pause inside it. */
export async function database(ctx: ActivityContext): Promise<void> {
  const { rng, access } = ctx;
  const office = access.office;
  const statements = [
    "CREATE TABLE IF NOT EXISTS events (id serial primary key, at timestamptz default now(), who text, n int)",
    `INSERT INTO events (who, n) VALUES ('${ctx.client.name}', ${rng.int(1, 1e6)})`,
    "SELECT count(*), max(at) FROM events",
    "SELECT who, sum(n) FROM events GROUP BY who ORDER BY 2 DESC LIMIT 20",
    "SELECT * FROM events ORDER BY id DESC LIMIT 200",
    `SELECT pg_sleep(${rng.between(0.5, 4).toFixed(1)})`,
  ];
  const script =
    [statements[0], ...Array.from({ length: rng.int(2, 6) }, () => rng.pick(statements.slice(1)))]
      .join(";\n") + ";\n";
  await run(ctx, [
    "psql",
    "-q",
    "-h",
    rng.next() < 0.3 ? VICTIM_IPV6 : VICTIM.ip,
    "-U",
    office.user,
    "-d",
    office.database,
    "-o",
    "/dev/null",
  ], { stdin: script, env: { PGPASSWORD: office.password, PGCONNECT_TIMEOUT: "5" } });
}

/** File sharing: list the Samba share, fetch a file, sometimes store one. */
export async function fileShare(ctx: ActivityContext): Promise<void> {
  const { rng, access } = ctx;
  const office = access.office;
  const fitting = office.shareFiles.filter((f) => f.bytes <= 4_000_000 * ctx.intensity);
  const file = rng.pick(fitting.length > 0 ? fitting : office.shareFiles.slice(0, 1));
  const commands = ["ls", `get ${file.name} /dev/null`];
  if (rng.next() < 0.3) commands.push(`put /etc/services upload-${ctx.client.name}.txt`);
  await run(ctx, [
    "smbclient",
    `//${VICTIM.ip}/${office.share}`,
    "-N",
    "-m",
    "SMB3",
    "-c",
    commands.join("; "),
  ], { timeoutSeconds: Math.min(ctx.opts.timeoutSeconds, 20) });
}

/** An NTP query (chronyd -Q measures the offset and never sets the clock). */
export async function ntp(ctx: ActivityContext): Promise<void> {
  await run(ctx, [
    "chronyd",
    "-Q",
    "-t",
    "6",
    "-f",
    "/dev/null",
    `pidfile ${ctx.workDir}/chrony-${ctx.client.name}.pid`,
    `server ${VICTIM.ip} iburst maxsamples ${ctx.rng.int(1, 4)}`,
  ], { timeoutSeconds: 8 });
}

/** A long, mostly idle SSH session with keep-alives (a terminal left open). */
export async function idleSession(ctx: ActivityContext): Promise<void> {
  const { rng, access } = ctx;
  const remaining = (ctx.deadlineMs - Date.now()) / 1000 - 3;
  const seconds = Math.min(remaining, rng.between(30, 150));
  if (seconds < 10) return;
  // Same draw order as before: the keep-alive interval, then the address family.
  const keepAlive = `ServerAliveInterval=${rng.int(5, 20)}`;
  const host = rng.next() < 0.3 ? VICTIM_IPV6 : VICTIM.ip;
  await ctx.group.runIn(
    ctx.client.namespace,
    sshCommand(access, host, `uptime; sleep ${Math.floor(seconds)}; date`, [keepAlive]),
    { ...ctx.opts, timeoutSeconds: seconds + 8 },
  );
}

/** A large download over HTTPS at a capped rate. */
export async function largeTransfer(ctx: ActivityContext): Promise<void> {
  const { rng, access } = ctx;
  // The largest files that fit the intensity (small captures stay small).
  const fitting = access.site.downloads.filter((d) => d.bytes <= 4_000_000 * ctx.intensity);
  const largest = (fitting.length > 0 ? fitting : access.site.downloads.slice(0, 1))
    .sort((a, b) => b.bytes - a.bytes);
  const file = rng.pick(largest.slice(0, 3));
  const rate = Math.max(200, Math.round(rng.between(1000, 8000) * ctx.intensity));
  await run(ctx, [
    "curl",
    "-s",
    "-k",
    "--max-time",
    `${Math.max(2, Math.floor(ctx.opts.timeoutSeconds))}`,
    "--limit-rate",
    `${rate}k`,
    "-o",
    "/dev/null",
    `https://files.office.lab${file.path}`,
  ]);
}

/**
 * What desktops say to the LAN unasked: an SSDP search and a device NOTIFY
 * (socat to 239.255.255.250:1900), LLMNR and mDNS name queries (dig to the
 * multicast groups), and an IPv6 router solicitation (rdisc6).
 */
export async function discovery(ctx: ActivityContext): Promise<void> {
  const { rng, client } = ctx;
  const kind = rng.weighted({ ssdpSearch: 2, ssdpNotify: 1.5, llmnr: 2, mdns: 2, rs: 0.7 });
  if (kind === "ssdpSearch" || kind === "ssdpNotify") {
    const message = kind === "ssdpSearch"
      ? 'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n' +
        `MX: ${rng.int(1, 3)}\r\nST: ${
          rng.pick(["ssdp:all", "upnp:rootdevice", "urn:dial-multiscreen-org:service:dial:1"])
        }\r\n\r\n`
      : "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n" +
        `LOCATION: http://${client.ip}:49152/description.xml\r\nNT: upnp:rootdevice\r\n` +
        `NTS: ssdp:alive\r\nSERVER: Linux/6.1 UPnP/1.0 office-tv/1.0\r\n` +
        `USN: uuid:${client.name}-0000-1111::upnp:rootdevice\r\n\r\n`;
    for (let n = rng.int(1, 3); n > 0; n--) {
      await run(ctx, [
        "socat",
        "-u",
        "STDIN",
        `UDP4-DATAGRAM:239.255.255.250:1900,ip-multicast-ttl=2`,
      ], { stdin: message, timeoutSeconds: 4 });
      await sleep(rng.between(100, 1000));
    }
  } else if (kind === "llmnr" || kind === "mdns") {
    const name = kind === "llmnr"
      ? rng.pick(["wpad", "fileserver", "PRINTER01", rng.pick(CLIENTS).name])
      : `${rng.pick(["victim", ...CLIENTS.map((c) => c.name)])}.local`;
    const v6 = rng.next() < 0.4;
    const group = kind === "llmnr"
      ? (v6 ? "ff02::1:3%eth0" : "224.0.0.252")
      : (v6 ? "ff02::fb%eth0" : "224.0.0.251");
    await run(ctx, [
      "dig",
      `@${group}`,
      "-p",
      kind === "llmnr" ? "5355" : "5353",
      "+time=1",
      "+tries=1",
      "+norecurse",
      name,
      rng.next() < 0.3 ? "AAAA" : "A",
    ], { timeoutSeconds: 4 });
  } else {
    await run(ctx, ["rdisc6", "-1", "-w", "1000", "eth0"], { timeoutSeconds: 4 });
  }
}
