/**
 * Benign office traffic: each client loops until the deadline, picking an
 * activity by weight (browsing, downloads, API polling, DNS lookups, SSH
 * sessions, Redis use, iperf3 bulk transfers, logging in to the staff area)
 * and pausing between them with think times and occasional long idle gaps.
 * Every choice comes from the seed.
 */
import type { ProcessGroup } from "./process_group.ts";
import type { SeededRandom } from "./seeded_random.ts";
import type { LabHost } from "./topology.ts";
import { VICTIM } from "./topology.ts";
import { OFFICE_NAMES, VICTIM_PORTS, type VictimAccess } from "./victim_services.ts";

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
}

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

/** Weights per client persona, so clients differ. */
const PERSONAS: Record<BenignActivity, number>[] = [
  // Office worker: mostly web.
  {
    browse: 6,
    download: 1.5,
    "api-poll": 1,
    dns: 2,
    ssh: 0.5,
    redis: 0.5,
    bulk: 0.3,
    "staff-login": 1,
  },
  // Developer / admin: SSH, Redis, API.
  {
    browse: 2,
    download: 1,
    "api-poll": 3,
    dns: 1.5,
    ssh: 3,
    redis: 2.5,
    bulk: 0.8,
    "staff-login": 0.5,
  },
  // Dashboard machine + backups: polling and bulk.
  {
    browse: 2,
    download: 2,
    "api-poll": 4,
    dns: 1,
    ssh: 1,
    redis: 1.5,
    bulk: 1.2,
    "staff-login": 0.3,
  },
];

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
  const persona = PERSONAS[personaIndex % PERSONAS.length];
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
        await ctx.group.runIn(ns, [
          "ssh",
          "-F",
          "/dev/null",
          "-i",
          access.sshKeyFile,
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "ConnectTimeout=5",
          "-o",
          "LogLevel=ERROR",
          `${access.sshUser}@${VICTIM.ip}`,
          script,
        ], opts);
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
    }
    // Think time; now and then a long idle gap (meeting, coffee).
    const idle = rng.next() < 0.12 ? rng.between(4000, 10000) : rng.exponential(1200 / intensity);
    await sleep(Math.min(idle, ctx.deadlineMs - Date.now()));
  }
}
