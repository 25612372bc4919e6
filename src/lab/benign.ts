/**
 * Benign office traffic: each client loops until the deadline, picking an
 * activity by weight (browsing, downloads, API polling, DNS lookups, SSH
 * sessions, Redis use, iperf3 bulk transfers, logging in to the staff area,
 * and the wider world of benign_protocols.ts: HTTPS/HTTP/2, a real browser,
 * dig, ping and traceroute, mail, database, file sharing, NTP, idle sessions,
 * large transfers, discovery chatter) and pausing between them with think
 * times and occasional long idle gaps. Every choice comes from the seed.
 *
 * Three sets of personas: `office` (what the bundled model trains on),
 * `other` (clients with other habits and tools: one connection per request,
 * wget, many dig queries, parallel iperf3 streams, other rates) and `guest`
 * (yet other mixes at a slower pace: a backup job, a mail and database
 * clerk, a kiosk browser, a developer, a streaming user), kept for measuring
 * false alerts on benign traffic the model and its rules never saw.
 */
import * as protocols from "./benign_protocols.ts";
import type { ProcessGroup } from "./process_group.ts";
import type { SeededRandom } from "./seeded_random.ts";
import type { LabHost } from "./topology.ts";
import { VICTIM } from "./topology.ts";
import { OFFICE_NAMES, sshCommand, VICTIM_PORTS, type VictimAccess } from "./victim_services.ts";

/** Activities a benign client performs. */
export const BENIGN_ACTIVITIES = [
  "browse",
  "download",
  "api-poll",
  "dns",
  "ssh",
  "redis",
  "bulk",
  "staff-login",
  "https",
  "browser",
  "dig",
  "ping-trace",
  "mail",
  "database",
  "file-share",
  "ntp",
  "idle-session",
  "large-transfer",
  "discovery",
  // Habits of the `other` clients only.
  "browse-each",
  "wget-mirror",
  "iperf-parallel",
] as const;
export type BenignActivity = typeof BENIGN_ACTIVITIES[number];

/** What a benign client needs. */
export interface BenignContext {
  group: ProcessGroup;
  access: VictimAccess;
  /** Wall-clock deadline, ms since epoch. */
  deadlineMs: number;
  /** 1 = normal office; lower makes fewer, smaller transfers (fixtures). */
  intensity: number;
  /** Directory for tools' scratch files. */
  workDir: string;
  /** Counts activities started, for the manifest. */
  counts: Record<string, number>;
  /** Resolves when the run is being cancelled. */
  cancelled: () => boolean;
  /** Which persona set drives the clients (default `office`). */
  personas?: PersonaSet;
}

/** The persona sets: `office` trains the bundled model; `other` and `guest` never do. */
export type PersonaSet = "office" | "other" | "guest";

type Weights = Partial<Record<BenignActivity, number>>;

const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
  "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
];

const SSH_COMMANDS = [
  "uptime",
  "uname -a",
  "df -h",
  "free -m",
  "ls -la /usr/share/doc | head -40",
  "cat /etc/os-release",
  "ps -eo pid,comm --sort=-pcpu | head -15",
  "cat /usr/share/common-licenses/GPL-3 | head -200",
  "date; who -b",
];

/** Weights per client persona, so clients differ (one persona per client, in order). */
const OFFICE_PERSONAS: Weights[] = [
  // Office worker: mostly web, some mail and files.
  {
    browse: 5,
    https: 3,
    browser: 1,
    download: 1.5,
    "api-poll": 1,
    dns: 2,
    dig: 0.5,
    ssh: 0.5,
    redis: 0.5,
    bulk: 0.3,
    "staff-login": 1,
    mail: 1.5,
    "file-share": 1,
    "ping-trace": 0.3,
    discovery: 0.8,
    ntp: 0.3,
  },
  // Developer / admin: SSH, Redis, API, database, dig, traceroute.
  {
    browse: 1.5,
    https: 1.5,
    download: 1,
    "api-poll": 3,
    dns: 1,
    dig: 1.5,
    ssh: 3,
    "idle-session": 0.6,
    redis: 2.5,
    database: 2,
    bulk: 0.8,
    "staff-login": 0.5,
    "ping-trace": 1,
    ntp: 0.5,
    discovery: 0.4,
  },
  // Dashboard machine + backups: polling, bulk, large transfers, NTP.
  {
    browse: 1.5,
    https: 2,
    download: 2,
    "api-poll": 4,
    dns: 1,
    ssh: 1,
    redis: 1.5,
    bulk: 1.2,
    "large-transfer": 1,
    "file-share": 1.5,
    database: 1,
    "staff-login": 0.3,
    ntp: 1,
    discovery: 0.5,
  },
  // Laptop with a real browser: Chromium, HTTPS, mail, discovery chatter.
  {
    browser: 3,
    https: 3,
    browse: 1,
    mail: 2,
    dig: 0.5,
    dns: 1,
    "file-share": 0.8,
    discovery: 1.5,
    "ping-trace": 0.5,
    "idle-session": 0.3,
    ntp: 0.4,
  },
  // Back-office server: database, mail relay, file sync, long sessions.
  {
    database: 3,
    mail: 2,
    "file-share": 2,
    "large-transfer": 0.8,
    "idle-session": 0.8,
    ssh: 1,
    dig: 1,
    https: 1,
    ntp: 0.8,
    "ping-trace": 0.4,
    bulk: 0.5,
  },
];

/** Clients unlike the office ones: other tools, other habits, other rates. */
const OTHER_PERSONAS: Weights[] = [
  // A script user: curl with one connection per request, many dig queries.
  { "browse-each": 5, dig: 4, "api-poll": 1, ssh: 1, https: 1 },
  // A mirror job: wget fetching pages recursively, parallel iperf3 streams.
  { "wget-mirror": 3, "iperf-parallel": 2, "large-transfer": 1, dig: 1 },
  // An admin hopping between hosts: short SSH commands, ping, traceroute, dig.
  { ssh: 4, "ping-trace": 3, dig: 2, "idle-session": 1, "browse-each": 1 },
  // A heavy browser user.
  { browser: 3, "browse-each": 2, https: 2, mail: 1, discovery: 1 },
  // A quiet IoT-like device: NTP, discovery, the odd API call.
  { ntp: 3, discovery: 3, "api-poll": 1, dig: 1 },
];

/**
 * Clients unlike both sets above, kept untouched by any tuning: other mixes
 * of the activities at a slower pace.
 */
const GUEST_PERSONAS: Weights[] = [
  // A backup job: file shares and large transfers, the odd SSH check.
  { "file-share": 4, "large-transfer": 3, ssh: 1, ntp: 1 },
  // A clerk: mail and the database all day, some pages.
  { mail: 4, database: 4, browse: 1, dns: 1 },
  // A kiosk: a real browser on the sites, discovery chatter.
  { browser: 4, discovery: 2, ntp: 1, https: 1 },
  // A developer: API calls, Redis, SSH, dig, bulk copies.
  { "api-poll": 3, redis: 2, ssh: 2, dig: 2, bulk: 1, "idle-session": 1 },
  // A streaming user: downloads and parallel streams, HTTPS pages.
  { download: 3, "iperf-parallel": 1, https: 2, "wget-mirror": 1 },
];

const PERSONAS: Record<PersonaSet, Weights[]> = {
  office: OFFICE_PERSONAS,
  other: OTHER_PERSONAS,
  guest: GUEST_PERSONAS,
};

/** Mean think time between activities, ms, per persona set (other clients are busier, guests slower). */
const THINK_MS: Record<PersonaSet, number> = { office: 1200, other: 700, guest: 1800 };

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function curlArgs(rng: SeededRandom, seconds: number): string[] {
  return [
    "curl",
    "-s",
    "--max-time",
    `${Math.max(1, Math.floor(seconds))}`,
    "-A",
    rng.pick(USER_AGENTS),
  ];
}

/** Runs one client's traffic until the deadline. */
export async function runBenignClient(
  client: LabHost,
  personaIndex: number,
  ctx: BenignContext,
  rng: SeededRandom,
): Promise<void> {
  const set = ctx.personas ?? "office";
  const personas = PERSONAS[set];
  const persona = personas[personaIndex % personas.length] as Record<BenignActivity, number>;
  const ns = client.namespace;
  const { access, intensity } = ctx;
  const site = access.site;
  // Stagger the start so clients do not move in lockstep.
  await sleep(rng.between(0, 1500));
  while (!ctx.cancelled()) {
    const remaining = (ctx.deadlineMs - Date.now()) / 1000;
    if (remaining < 1.5) break;
    const activity = rng.weighted(persona);
    ctx.counts[activity] = (ctx.counts[activity] ?? 0) + 1;
    const limit = Math.min(remaining - 0.5, 20);
    const opts = { timeoutSeconds: limit, cwd: ctx.workDir };
    const activityContext: protocols.ActivityContext = {
      group: ctx.group,
      access,
      client,
      rng,
      opts,
      intensity,
      deadlineMs: ctx.deadlineMs,
      workDir: ctx.workDir,
      cancelled: ctx.cancelled,
    };
    switch (activity) {
      case "browse": {
        const host = rng.next() < 0.7 ? "www.office.lab" : "wiki.office.lab";
        const pages = host === "www.office.lab" ? site.wwwPages : site.wikiPages;
        // A visit: a few pages with their assets over one keep-alive connection, then reading.
        for (let visit = rng.int(1, 4); visit > 0 && !ctx.cancelled(); visit--) {
          const urls = [rng.pick(pages)];
          if (host === "www.office.lab") {
            for (let a = rng.int(0, 4); a > 0; a--) urls.push(rng.pick(site.assets));
          }
          await ctx.group.runIn(ns, [
            ...curlArgs(rng, limit),
            ...urls.flatMap((u) => ["-o", "/dev/null", `http://${host}${u}`]),
          ], opts);
          await sleep(rng.exponential(1500));
          if (Date.now() > ctx.deadlineMs - 1000) break;
        }
        break;
      }
      case "download": {
        const fitting = site.downloads.filter((d) => d.bytes <= 1_600_000 * intensity);
        const file = rng.pick(fitting.length > 0 ? fitting : [site.downloads[0]]);
        const rate = Math.round(rng.between(200, 2000) * intensity);
        await ctx.group.runIn(ns, [
          ...curlArgs(rng, limit),
          "--limit-rate",
          `${Math.max(50, rate)}k`,
          "-o",
          "/dev/null",
          `http://files.office.lab${file.path}`,
        ], opts);
        break;
      }
      case "api-poll": {
        // A dashboard polling a few endpoints at a steady period, sometimes posting an event.
        const period = rng.between(0.4, 1.5) * 1000;
        for (let n = rng.int(3, 8); n > 0 && Date.now() < ctx.deadlineMs - 1000; n--) {
          const args = rng.next() < 0.2
            ? [
              "-X",
              "POST",
              "-H",
              "Content-Type: application/json",
              "-d",
              JSON.stringify({ event: "heartbeat", value: rng.int(0, 100) }),
              "http://api.office.lab/api/events",
            ]
            : [`http://api.office.lab${rng.pick(site.apiEndpoints)}`];
          await ctx.group.runIn(ns, [...curlArgs(rng, 5), "-o", "/dev/null", ...args], opts);
          await sleep(period);
        }
        break;
      }
      case "dns": {
        // Lookups of office names, some misses (typos, outside names).
        const names = Array.from(
          { length: rng.int(1, 4) },
          () =>
            rng.next() < 0.8
              ? rng.pick(OFFICE_NAMES)
              : rng.pick(["printer.office.lab", "wwww.office.lab", "updates.vendor.example"]),
        );
        for (const name of names) {
          await ctx.group.runIn(ns, ["getent", "ahostsv4", name], { ...opts, timeoutSeconds: 4 });
          await sleep(rng.between(50, 600));
        }
        break;
      }
      case "ssh": {
        const commands = Array.from({ length: rng.int(1, 4) }, () => rng.pick(SSH_COMMANDS));
        const script = commands.map((c) => `${c}; sleep ${rng.between(0.2, 1.5).toFixed(1)}`)
          .join("; ");
        await ctx.group.runIn(ns, sshCommand(access, VICTIM.ip, script), opts);
        break;
      }
      case "redis": {
        const key = `session:${client.name}:${rng.int(1, 50)}`;
        const commands = [
          `SET ${key} ${rng.int(1, 1e6)} EX 60`,
          `GET ${key}`,
          `INCR hits:${rng.int(1, 5)}`,
          `LPUSH queue:jobs job-${rng.int(1, 1e4)}`,
          `LRANGE queue:jobs 0 10`,
        ];
        const pipeline = Array.from({ length: rng.int(2, 8) }, () => rng.pick(commands));
        await ctx.group.runIn(
          ns,
          ["redis-cli", "-h", VICTIM.ip, "-p", `${VICTIM_PORTS.redis}`],
          { ...opts, stdin: pipeline.join("\n") + "\n" },
        );
        break;
      }
      case "bulk": {
        const megabytes = Math.max(0.25, rng.between(1, 8) * intensity);
        const mbps = Math.max(2, Math.round(rng.between(5, 40) * intensity));
        await ctx.group.runIn(ns, [
          "iperf3",
          "-c",
          VICTIM.ip,
          "-p",
          `${rng.pick(VICTIM_PORTS.iperf)}`,
          "-n",
          `${Math.round(megabytes * 1_000_000)}`,
          "-b",
          `${mbps}M`,
          "--connect-timeout",
          "3000",
          ...(rng.next() < 0.3 ? ["-R"] : []),
        ], opts);
        break;
      }
      case "staff-login": {
        // A legitimate user of the basic-auth area, with the odd typo first.
        const typo = rng.next() < 0.2;
        const page = rng.pick(access.site.privatePages);
        if (typo) {
          await ctx.group.runIn(ns, [
            ...curlArgs(rng, 5),
            "-u",
            `${access.webUser}:${access.webPassword}x`,
            "-o",
            "/dev/null",
            `http://www.office.lab${page}`,
          ], opts);
          await sleep(rng.between(1500, 4000));
        }
        await ctx.group.runIn(ns, [
          ...curlArgs(rng, 5),
          "-u",
          `${access.webUser}:${access.webPassword}`,
          "-o",
          "/dev/null",
          `http://www.office.lab${page}`,
        ], opts);
        break;
      }
      case "https":
        await protocols.https(activityContext);
        break;
      case "browser":
        await protocols.browser(activityContext);
        break;
      case "dig":
        await protocols.dig(activityContext);
        break;
      case "ping-trace":
        await protocols.pingTrace(activityContext);
        break;
      case "mail":
        await protocols.mail(activityContext);
        break;
      case "database":
        await protocols.database(activityContext);
        break;
      case "file-share":
        await protocols.fileShare(activityContext);
        break;
      case "ntp":
        await protocols.ntp(activityContext);
        break;
      case "idle-session":
        await protocols.idleSession(activityContext);
        break;
      case "large-transfer":
        await protocols.largeTransfer(activityContext);
        break;
      case "discovery":
        await protocols.discovery(activityContext);
        break;
      case "browse-each": {
        // One curl (one TCP connection, no keep-alive) per URL, HTTP/1.0 now and then.
        const urls = [rng.pick(site.wwwPages), ...site.assets.slice(0, rng.int(0, 4))];
        for (const url of urls) {
          if (ctx.cancelled() || Date.now() > ctx.deadlineMs - 1000) break;
          await ctx.group.runIn(ns, [
            ...curlArgs(rng, 5),
            ...(rng.next() < 0.3 ? ["-0"] : []),
            "-o",
            "/dev/null",
            `http://${VICTIM.ip}${url}`,
          ], opts);
          await sleep(rng.between(20, 400));
        }
        break;
      }
      case "wget-mirror":
        await ctx.group.runIn(ns, [
          "wget",
          "-q",
          "-r",
          "-l",
          "1",
          "--delete-after",
          "-P",
          `${ctx.workDir}/wget-${client.name}`,
          "-T",
          "5",
          "--limit-rate",
          `${Math.max(100, Math.round(rng.between(300, 3000) * intensity))}k`,
          `http://${rng.pick(["www", "wiki"])}.office.lab/`,
        ], opts);
        break;
      case "iperf-parallel":
        await ctx.group.runIn(ns, [
          "iperf3",
          "-c",
          VICTIM.ip,
          "-p",
          `${rng.pick(VICTIM_PORTS.iperf)}`,
          "-P",
          `${rng.int(2, 4)}`,
          "-t",
          `${rng.int(2, 5)}`,
          "-b",
          `${Math.max(1, Math.round(rng.between(2, 10) * intensity))}M`,
          "--connect-timeout",
          "3000",
        ], opts);
        break;
    }
    // Think time; now and then a long idle gap (meeting, coffee).
    const idle = rng.next() < 0.12
      ? rng.between(4000, 10000)
      : rng.exponential(THINK_MS[set] / intensity);
    await sleep(Math.min(idle, ctx.deadlineMs - Date.now()));
  }
}
