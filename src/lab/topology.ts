/**
 * The range's network: one namespace per host, each joined by a veth pair to
 * a bridge that lives in its own "tap" namespace, where the sensor captures.
 *
 *   idslab-victim    10.66.0.10  fd66::10  the office server (web, mail, files, DNS, DHCP, NTP, ...)
 *   idslab-client1   10.66.0.21  SLAAC     benign office users with different habits
 *   idslab-client2   10.66.0.22  SLAAC
 *   idslab-client3   10.66.0.23  SLAAC
 *   idslab-client4   10.66.0.24  SLAAC
 *   idslab-client5   10.66.0.25  SLAAC
 *   idslab-attacker1 10.66.0.66  attack tools
 *   idslab-attacker2 10.66.0.67
 *   idslab-tap       bridge labbr0 (no address), tcpdump listens here
 *
 * Safety: the addresses exist only inside these namespaces, no namespace has
 * a default route, IPv4 or IPv6 (only the connected /24 and the ULA /64 and
 * link-local routes; router advertisements carry a router lifetime of 0), and
 * nothing is attached to the host's own interfaces. Every name starts with LAB_PREFIX so
 * a run can find and delete what a crashed run left behind.
 */
import { run } from "./process_group.ts";

/** Every namespace, file and link the lab makes carries this prefix. */
export const LAB_PREFIX = "idslab-";

/** The lab subnet; never routed anywhere. */
export const LAB_SUBNET = "10.66.0.0/24";

/** The range's IPv6 unique-local prefix (a /64); never routed anywhere. */
export const LAB_IPV6_PREFIX = "fd66::";

/** Bridge name inside the tap namespace (what the sensor captures on). */
export const BRIDGE = "labbr0";

/** Namespace holding the bridge. */
export const TAP_NAMESPACE = `${LAB_PREFIX}tap`;

/** What a host does in the range. */
export type HostRole = "victim" | "client" | "attacker";

/** One host of the range. */
export interface LabHost {
  /** Short name, e.g. `client1`. */
  name: string;
  role: HostRole;
  /** Network namespace name. */
  namespace: string;
  /** IPv4 address inside the lab subnet. */
  ip: string;
}

function host(name: string, role: HostRole, lastOctet: number): LabHost {
  return { name, role, namespace: `${LAB_PREFIX}${name}`, ip: `10.66.0.${lastOctet}` };
}

/** The fixed hosts of the range. */
export const HOSTS: readonly LabHost[] = [
  host("victim", "victim", 10),
  host("client1", "client", 21),
  host("client2", "client", 22),
  host("client3", "client", 23),
  host("client4", "client", 24),
  host("client5", "client", 25),
  host("attacker1", "attacker", 66),
  host("attacker2", "attacker", 67),
];

/** The victim host. */
export const VICTIM: LabHost = HOSTS[0];
/** The victim's fixed IPv6 address (clients take theirs by SLAAC). */
export const VICTIM_IPV6 = `${LAB_IPV6_PREFIX}10`;
/** Benign clients. */
export const CLIENTS: readonly LabHost[] = HOSTS.filter((h) => h.role === "client");
/** Attackers. */
export const ATTACKERS: readonly LabHost[] = HOSTS.filter((h) => h.role === "attacker");

/** Per-namespace files (`ip netns exec` mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf). */
function netnsEtcDir(namespace: string): string {
  return `/etc/netns/${namespace}`;
}

async function ipNetns(namespace: string, ...args: string[]): Promise<void> {
  await run(["ip", "netns", "exec", namespace, ...args]);
}

/** Lists namespaces whose names start with LAB_PREFIX. */
export async function listLabNamespaces(): Promise<string[]> {
  const { stdout } = await run(["ip", "netns", "list"], true);
  return stdout.split("\n")
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name?.startsWith(LAB_PREFIX));
}

/**
 * Deletes everything a lab run may have left: processes inside lab
 * namespaces (killed by pid), the namespaces themselves (which removes their
 * veth pairs and the bridge) and the per-namespace resolver files.
 * Safe to call when nothing is there.
 */
export async function destroyTopology(): Promise<void> {
  const namespaces = await listLabNamespaces();
  for (const ns of namespaces) {
    const { stdout } = await run(["ip", "netns", "pids", ns], true);
    for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
  }
  for (const ns of namespaces) await run(["ip", "netns", "del", ns], true);
  for (const h of HOSTS) {
    await Deno.remove(netnsEtcDir(h.namespace), { recursive: true }).catch(() => {});
  }
  // Work directories (configs, keys, sites) of earlier runs.
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  for await (const entry of Deno.readDir(tmp)) {
    if (entry.isDirectory && entry.name.startsWith(LAB_PREFIX)) {
      await Deno.remove(`${tmp}/${entry.name}`, { recursive: true }).catch(() => {});
    }
  }
  // A veth end whose namespace vanished half-way may sit in the root namespace.
  const { stdout } = await run(["ip", "-o", "link", "show"], true);
  for (const match of stdout.matchAll(/^\d+: (lab[a-z0-9]+)[@:]/gm)) {
    await run(["ip", "link", "del", match[1]], true);
  }
}

/** Builds the range's namespaces, veth pairs and bridge. */
export async function createTopology(): Promise<void> {
  await run(["ip", "netns", "add", TAP_NAMESPACE]);
  await ipNetns(TAP_NAMESPACE, "ip", "link", "set", "lo", "up");
  await ipNetns(TAP_NAMESPACE, "ip", "link", "add", BRIDGE, "type", "bridge");
  // Forward at once (no STP listening delay); a switch that ages out slowly.
  await ipNetns(TAP_NAMESPACE, "ip", "link", "set", BRIDGE, "type", "bridge", "forward_delay", "0");
  // The bridge only forwards; it has no address of either family and sends nothing.
  await ipNetns(TAP_NAMESPACE, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
  await ipNetns(TAP_NAMESPACE, "ip", "link", "set", BRIDGE, "up");

  for (const [index, h] of HOSTS.entries()) {
    const hostEnd = `labh${index}`;
    const bridgeEnd = `labp${index}`;
    await run(["ip", "netns", "add", h.namespace]);
    // IPv6 on: link-local addresses, neighbour discovery, MLD, SLAAC from the victim's radvd.
    await ipNetns(h.namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0");
    await ipNetns(h.namespace, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=0");
    if (h.role === "victim") {
      // radvd runs only on a router; nothing else is attached, so nothing is forwarded.
      await ipNetns(h.namespace, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
    }
    await run(["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", bridgeEnd]);
    await run(["ip", "link", "set", hostEnd, "netns", h.namespace]);
    await run(["ip", "link", "set", bridgeEnd, "netns", TAP_NAMESPACE]);
    await ipNetns(h.namespace, "ip", "link", "set", hostEnd, "name", "eth0");
    await ipNetns(h.namespace, "ip", "link", "set", "lo", "up");
    // Only the connected /24: no default route, nothing leaves the range.
    await ipNetns(h.namespace, "ip", "addr", "add", `${h.ip}/24`, "dev", "eth0");
    if (h.role === "victim") {
      // A fixed address for the services (no duplicate detection: they bind at once).
      await ipNetns(
        h.namespace,
        "ip",
        "addr",
        "add",
        `${LAB_IPV6_PREFIX}${h.ip.split(".")[3]}/64`,
        "dev",
        "eth0",
        "nodad",
      );
    }
    // Wire-sized packets: no TSO/GSO super-frames in the capture.
    await ipNetns(h.namespace, "ethtool", "-K", "eth0", "tso", "off", "gso", "off", "gro", "off");
    await ipNetns(h.namespace, "ip", "link", "set", "eth0", "up");
    await ipNetns(
      TAP_NAMESPACE,
      "ethtool",
      "-K",
      bridgeEnd,
      "tso",
      "off",
      "gso",
      "off",
      "gro",
      "off",
    );
    await ipNetns(TAP_NAMESPACE, "ip", "link", "set", bridgeEnd, "master", BRIDGE);
    await ipNetns(TAP_NAMESPACE, "ip", "link", "set", bridgeEnd, "up");
    await Deno.mkdir(netnsEtcDir(h.namespace), { recursive: true });
    await Deno.writeTextFile(
      `${netnsEtcDir(h.namespace)}/resolv.conf`,
      `nameserver ${VICTIM.ip}\nsearch office.lab\noptions timeout:2 attempts:1\n`,
    );
  }
  await assertNoDefaultRoutes();
}

/** Refuses to go on if any lab namespace has a default route (IPv4 or IPv6). */
export async function assertNoDefaultRoutes(): Promise<void> {
  for (const ns of await listLabNamespaces()) {
    for (const family of ["-4", "-6"]) {
      const { stdout } = await run([
        "ip",
        "netns",
        "exec",
        ns,
        "ip",
        family,
        "route",
        "show",
        "default",
      ]);
      if (stdout.trim() !== "") throw new Error(`namespace ${ns} has a default route: ${stdout}`);
    }
  }
}

/**
 * Sets kernel settings (sysctl name to value) in a namespace and returns a
 * function that puts the earlier values back, in reverse order.
 */
export async function setNamespaceSysctls(
  namespace: string,
  values: Readonly<Record<string, string>>,
): Promise<() => Promise<void>> {
  const earlier: [string, string][] = [];
  for (const [name, value] of Object.entries(values)) {
    const { stdout } = await run(["ip", "netns", "exec", namespace, "sysctl", "-n", name]);
    earlier.push([name, stdout.trim()]);
    await ipNetns(namespace, "sysctl", "-qw", `${name}=${value}`);
  }
  return async () => {
    for (const [name, value] of earlier.reverse()) {
      await ipNetns(namespace, "sysctl", "-qw", `${name}=${value}`);
    }
  };
}

const LOCK_FILE = `/run/${LAB_PREFIX}lock`;

/**
 * Takes the lab-wide lock (one range per machine: a second run would delete
 * the first one's namespaces as leftovers). A run that finds the lock held
 * waits for it (concurrent runs serialize), up to `waitSeconds`; a lock left
 * by a dead process is taken over. Returns a release function.
 */
export async function acquireLabLock(
  waitSeconds = 1800,
  log: (line: string) => void = () => {},
): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  let emptyReads = 0;
  while (true) {
    try {
      // createNew: the kernel decides who wins when two runs start together.
      await Deno.writeTextFile(LOCK_FILE, `${Deno.pid}\n`, { createNew: true });
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    const holder = Number((await Deno.readTextFile(LOCK_FILE).catch(() => "0")).trim()) || 0;
    if (holder === 0 && ++emptyReads < 10) {
      // Just created by another run that has not written its pid yet.
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    const alive = holder > 0 && await Deno.stat(`/proc/${holder}`).then(() => true, () => false);
    if (!alive) {
      await Deno.remove(LOCK_FILE).catch(() => {}); // A dead run's lock.
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another lab run (pid ${holder}) has been active for over ${waitSeconds} s; wait for it, ` +
          `stop it, or remove ${LOCK_FILE}`,
      );
    }
    if (!told) log(`waiting for the lab run of pid ${holder} to finish`);
    told = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return async () => {
    const now = Number((await Deno.readTextFile(LOCK_FILE).catch(() => "0")).trim());
    if (now === Deno.pid) await Deno.remove(LOCK_FILE).catch(() => {});
  };
}
