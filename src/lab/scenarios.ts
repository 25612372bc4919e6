/**
 * Attacks and scenarios. An attack is a named command line for a Debian tool,
 * run from an attacker's namespace against the victim, bounded in rate (by
 * the tool's own options) and in time (by `timeout`). A scenario is benign
 * traffic for the whole run plus a plan of attacks.
 *
 * Adding an attack is one entry in ATTACKS: a name (which becomes the flow
 * label), the tool, and a function returning its argv. It is then also a
 * scenario of its own and part of `mixed`.
 */
import type { SeededRandom } from "./seeded_random.ts";
import { ATTACKERS, CLIENTS, LAB_SUBNET, type LabHost, VICTIM } from "./topology.ts";

/** What an attack's command line may depend on. */
export interface AttackParameters {
  /** Hard upper bound of the attack's duration, seconds. */
  maxSeconds: number;
  /** 1 = default rates; lower for small fixture captures. */
  intensity: number;
  /** Scratch directory (wordlists, tool state files). */
  workDir: string;
  rng: SeededRandom;
}

/** One attack kind. */
export interface AttackDefinition {
  /** Label of its flows, and the scenario name. */
  name: string;
  /** One line for the README and `--list`. */
  description: string;
  /** The executable (its Debian package is in tools.ts). */
  tool: string;
  /** Writes any input files and returns the argv to run in the attacker's namespace. */
  command(p: AttackParameters): Promise<string[]> | string[];
  /**
   * Kernel settings (sysctl name to value) of the attacker's namespace while
   * the attack runs, restored after it: a man in the middle forwards.
   */
  sysctls?: Readonly<Record<string, string>>;
}

const V = VICTIM.ip;

function scaled(value: number, intensity: number, min: number): number {
  return Math.max(min, Math.round(value * intensity));
}

/** Every attack the range knows. */
// deno-fmt-ignore
export const ATTACKS: readonly AttackDefinition[] = [
  {
    name: "syn-scan",
    description: "nmap TCP SYN scan of the victim's first ports, rate-capped",
    tool: "nmap",
    command: ({ maxSeconds, intensity }) => [
      "nmap",
      "-n",
      "-Pn",
      "-sS",
      "-T4",
      "--max-retries",
      "1",
      "--max-rate",
      `${scaled(400, intensity, 50)}`,
      "--host-timeout",
      `${Math.max(2, Math.floor(maxSeconds) - 1)}s`,
      "-p",
      `1-${scaled(5000, intensity, 500)}`,
      V,
    ],
  },
  {
    name: "udp-scan",
    description: "nmap UDP scan of the victim's most common ports, rate-capped",
    tool: "nmap",
    command: ({ maxSeconds, intensity }) => [
      "nmap",
      "-n",
      "-Pn",
      "-sU",
      "--max-retries",
      "1",
      "--max-rate",
      `${scaled(200, intensity, 40)}`,
      "--host-timeout",
      `${Math.max(2, Math.floor(maxSeconds) - 1)}s`,
      "--top-ports",
      `${scaled(300, intensity, 60)}`,
      V,
    ],
  },
  {
    name: "syn-flood",
    description: "hping3 SYN flood on the web server, fixed packet interval and count",
    tool: "hping3",
    command: ({ maxSeconds, intensity }) => {
      const pps = scaled(800, intensity, 50);
      return [
        "hping3",
        "-q",
        "-S",
        "-p",
        "80",
        "-i",
        `u${Math.round(1e6 / pps)}`,
        "-c",
        `${Math.floor(pps * maxSeconds)}`,
        V,
      ];
    },
  },
  {
    name: "slowloris",
    description: "slowhttptest slowloris: many slow, never-finished HTTP headers",
    tool: "slowhttptest",
    command: ({ maxSeconds, intensity }) => [
      "slowhttptest",
      "-H",
      "-c",
      `${scaled(300, intensity, 40)}`,
      "-r",
      `${scaled(60, intensity, 15)}`,
      "-i",
      "5",
      "-x",
      "24",
      "-p",
      "3",
      "-l",
      `${Math.max(5, Math.floor(maxSeconds) - 1)}`,
      "-u",
      `http://${V}/`,
    ],
  },
  {
    name: "http-brute-force",
    description: "hydra password guessing against the HTTP basic-auth area /private/",
    tool: "hydra",
    command: async ({ intensity, workDir, rng }) => {
      const base = ["123456", "password", "admin", "letmein", "qwerty", "welcome", "office"];
      const words = Array.from(
        { length: scaled(1500, intensity, 150) },
        (_, i) => `${rng.pick(base)}${i}${rng.pick(["", "!", "2024", "#"])}`,
      );
      const list = `${workDir}/wordlist-${rng.int(0, 1e9)}.txt`;
      await Deno.writeTextFile(list, [...base, ...words].join("\n") + "\n");
      return [
        "hydra",
        "-I",
        "-q",
        "-l",
        "admin",
        "-P",
        list,
        "-t",
        `${intensity >= 1 ? 4 : intensity >= 0.5 ? 2 : 1}`,
        "-w",
        "5",
        "-s",
        "80",
        V,
        "http-get",
        "/private/",
      ];
    },
  },
];

/**
 * Attacks the bundled model never saw in training (not in ATTACKS, so never
 * in `mixed` or the training world): each is a scenario of its own, and
 * `novel` runs several. They measure what the sensor makes of attack types
 * it was not trained on: other login services, other floods, other scans.
 */
// deno-fmt-ignore
export const NOVEL_ATTACKS: readonly AttackDefinition[] = [
  {
    name: "imap-brute-force",
    description: "hydra password guessing against the victim's IMAP server (dovecot)",
    tool: "hydra",
    command: async ({ intensity, workDir, rng }) => {
      const words = Array.from(
        { length: scaled(1500, intensity, 150) },
        (_, i) => `${rng.pick(["mail", "secret", "summer", "office"])}${i}`,
      );
      const list = `${workDir}/imap-wordlist-${rng.int(0, 1e9)}.txt`;
      await Deno.writeTextFile(list, words.join("\n") + "\n");
      return ["hydra", "-I", "-q", "-l", "admin", "-P", list, "-t", "4", "-w", "5", V, "imap"];
    },
  },
  {
    name: "udp-flood",
    description: "hping3 UDP flood on the victim's DNS port, fixed packet interval and count",
    tool: "hping3",
    command: ({ maxSeconds, intensity }) => {
      const pps = scaled(800, intensity, 50);
      return ["hping3", "-q", "--udp", "-p", "53", "-d", "64", "-i", `u${Math.round(1e6 / pps)}`,
        "-c", `${Math.floor(pps * maxSeconds)}`, V];
    },
  },
  {
    name: "icmp-flood",
    description: "hping3 ICMP echo flood, fixed packet interval and count",
    tool: "hping3",
    command: ({ maxSeconds, intensity }) => {
      const pps = scaled(800, intensity, 50);
      return ["hping3", "-q", "-1", "-d", "64", "-i", `u${Math.round(1e6 / pps)}`,
        "-c", `${Math.floor(pps * maxSeconds)}`, V];
    },
  },
  {
    name: "xmas-scan",
    description: "nmap Xmas scan (FIN, PSH, URG) of the victim's first ports, rate-capped",
    tool: "nmap",
    command: ({ maxSeconds, intensity }) => [
      "nmap", "-n", "-Pn", "-sX", "--max-retries", "1", "--max-rate", `${scaled(400, intensity, 50)}`,
      "--host-timeout", `${Math.max(2, Math.floor(maxSeconds) - 1)}s`,
      "-p", `1-${scaled(5000, intensity, 500)}`, V,
    ],
  },
  {
    name: "service-scan",
    description: "nmap service and version detection (-sV) of the victim's common ports",
    tool: "nmap",
    command: ({ maxSeconds }) => [
      "nmap", "-n", "-Pn", "-sV", "--version-light", "--max-retries", "1",
      "--host-timeout", `${Math.max(2, Math.floor(maxSeconds) - 1)}s`, "--top-ports", "200", V,
    ],
  },
];

/**
 * A second set of never-trained attacks (scenario `novel-2`), kept apart so
 * `novel`'s seeded plans stay what its published runs used.
 */
// deno-fmt-ignore
export const NOVEL_ATTACKS_2: readonly AttackDefinition[] = [
  {
    name: "ping-sweep",
    description: "nmap ICMP echo host discovery across the office subnet, repeated",
    tool: "nmap",
    command: ({ maxSeconds }) => [
      // On the local link nmap would ask by ARP: echo requests are what this attack is about.
      "nmap", "-n", "-sn", "-PE", "--disable-arp-ping", "--max-retries", "1",
      "--host-timeout", `${Math.max(2, Math.floor(maxSeconds) - 1)}s`, "10.66.0.0/24",
    ],
  },
  {
    name: "udp-flood-one-flow",
    description: "hping3 UDP flood from one fixed source port to one port: a single flow",
    tool: "hping3",
    command: ({ maxSeconds, intensity }) => {
      const pps = scaled(800, intensity, 50);
      return ["hping3", "-q", "--udp", "-s", "40000", "-k", "-p", "5201", "-d", "64",
        "-i", `u${Math.round(1e6 / pps)}`, "-c", `${Math.floor(pps * maxSeconds)}`, V];
    },
  },
  {
    name: "fin-scan",
    description: "nmap FIN scan of the victim's first ports, rate-capped",
    tool: "nmap",
    command: ({ maxSeconds, intensity }) => [
      "nmap", "-n", "-Pn", "-sF", "--max-retries", "1", "--max-rate", `${scaled(400, intensity, 50)}`,
      "--host-timeout", `${Math.max(2, Math.floor(maxSeconds) - 1)}s`,
      "-p", `1-${scaled(3000, intensity, 300)}`, V,
    ],
  },
];

/** Seconds arpspoof takes to re-ARP on exit with `-r`: 5 rounds of 2 replies, 1 s apart. */
const ARPSPOOF_RESTORE_SECONDS = 10;

/**
 * A third set of never-trained attacks (scenario `novel-3`), at the link
 * layer: host discovery and cache poisoning by ARP. Kept apart so `novel`'s
 * and `novel-2`'s seeded plans stay what their published runs used.
 */
// deno-fmt-ignore
export const NOVEL_ATTACKS_3: readonly AttackDefinition[] = [
  {
    name: "arp-sweep",
    description: "arp-scan ARP host discovery of the office subnet, rate-limited to the window",
    tool: "arp-scan",
    command: ({ maxSeconds }) => {
      // 256 addresses (network and broadcast included), a second try to the ~248 that never
      // answer: ~504 requests spread over about 70% of the window, the rest for late replies.
      const intervalMs = Math.max(2, Math.floor((maxSeconds * 0.7 * 1000) / 504));
      return ["arp-scan", "-I", "eth0", "--quiet", "--plain", "--retry", "2",
        "--interval", `${intervalMs}`, LAB_SUBNET];
    },
  },
  {
    name: "arp-spoof",
    description: "dsniff arpspoof: poisons a client's and the victim's ARP caches about each other, forwarding between them",
    tool: "arpspoof",
    command: ({ maxSeconds, rng }) => {
      // One poisoned reply to each side every 2 s; on SIGTERM arpspoof re-ARPs both caches
      // with the true addresses, which must also fit in the window.
      const poison = Math.max(2, Math.floor(maxSeconds) - ARPSPOOF_RESTORE_SECONDS - 2);
      return ["timeout", "--preserve-status", `--kill-after=${ARPSPOOF_RESTORE_SECONDS + 2}`,
        `${poison}`, "arpspoof", "-i", "eth0", "-t", rng.pick(CLIENTS).ip, "-r", V];
    },
    // The poisoned client and victim keep talking, through the attacker (as a real man in the
    // middle does), without ICMP redirects telling them the direct way.
    sysctls: {
      "net.ipv4.ip_forward": "1",
      "net.ipv4.conf.all.send_redirects": "0",
      "net.ipv4.conf.eth0.send_redirects": "0",
    },
  },
];

/** An attack placed on the run's timeline. */
export interface PlannedAttack {
  attack: AttackDefinition;
  attacker: LabHost;
  /** Seconds after traffic starts. */
  startOffset: number;
  /** Upper bound of its duration, seconds. */
  maxSeconds: number;
}

/** A named scenario: benign traffic throughout plus the attacks it plans. */
export interface ScenarioDefinition {
  name: string;
  description: string;
  plan(totalSeconds: number, rng: SeededRandom): PlannedAttack[];
}

/** Looks an attack up by name (trained-on or novel). */
export function findAttack(name: string): AttackDefinition {
  const attack = [...ATTACKS, ...NOVEL_ATTACKS, ...NOVEL_ATTACKS_2, ...NOVEL_ATTACKS_3].find((a) =>
    a.name === name
  );
  if (!attack) throw new Error(`unknown attack ${name}`);
  return attack;
}

/** One attack from about a quarter of the run, for at most about half of it. */
function singleAttack(attack: AttackDefinition): ScenarioDefinition {
  return {
    name: attack.name,
    description: `benign traffic plus ${attack.description}`,
    plan: (total, rng) => [{
      attack,
      attacker: rng.pick(ATTACKERS),
      startOffset: total * rng.between(0.2, 0.3),
      maxSeconds: Math.max(5, total * 0.5),
    }],
  };
}

/** Every scenario, by name. */
export const SCENARIOS: readonly ScenarioDefinition[] = [
  { name: "benign", description: "benign office traffic only", plan: () => [] },
  ...ATTACKS.map(singleAttack),
  {
    name: "mixed",
    description: "benign traffic throughout, several attacks at random, non-overlapping times",
    plan: (total, rng) => planSeveral(ATTACKS, total, rng),
  },
  ...NOVEL_ATTACKS.map(singleAttack),
  {
    name: "novel",
    description: "as mixed, with the attacks the bundled model was never trained on",
    plan: (total, rng) => planSeveral(NOVEL_ATTACKS, total, rng),
  },
  ...NOVEL_ATTACKS_2.map(singleAttack),
  {
    name: "novel-2",
    description: "as novel, with a second set of never-trained attacks",
    plan: (total, rng) => planSeveral(NOVEL_ATTACKS_2, total, rng),
  },
  ...NOVEL_ATTACKS_3.map(singleAttack),
  {
    name: "novel-3",
    description: "as novel, with ARP attacks: a subnet sweep and cache poisoning",
    plan: (total, rng) => planSeveral(NOVEL_ATTACKS_3, total, rng),
  },
];

/** Several of `attacks` at random, at non-overlapping times. */
function planSeveral(
  attacks: readonly AttackDefinition[],
  total: number,
  rng: SeededRandom,
): PlannedAttack[] {
  const count = Math.min(attacks.length, Math.max(2, Math.floor(total / 25)));
  const kinds = rng.shuffle(attacks).slice(0, count);
  // Slots between 10% and 95% of the run; each attack ends well before the next slot.
  const first = total * 0.1;
  const slot = (total * 0.85) / count;
  return kinds.map((attack, i) => ({
    attack,
    attacker: rng.pick(ATTACKERS),
    startOffset: first + i * slot + rng.between(0, slot * 0.15),
    maxSeconds: Math.max(4, slot * 0.7),
  }));
}

/** Looks a scenario up by name, with the list of names in the error. */
export function findScenario(name: string): ScenarioDefinition {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    throw new Error(
      `unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(", ")}`,
    );
  }
  return scenario;
}
