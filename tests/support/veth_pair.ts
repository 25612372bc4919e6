/**
 * A veth pair for live capture tests: one end stays in this namespace (the
 * capture side, no address), the other lives in a fresh network namespace
 * with an address and a permanent neighbour entry pointing at the capture
 * side, so datagrams sent from the namespace cross the link exactly once.
 * Names are unique per run; `remove()` deletes everything.
 */
import { isRoot, toolAvailable } from "./environment.ts";

/** One veth pair with a namespace on the far side. */
export interface VethPair {
  /** Interface to capture on, in this namespace. */
  captureSide: string;
  /** The far end, inside `namespace`. */
  peerSide: string;
  /** Namespace holding the sending side. */
  namespace: string;
  /** Destination address of the datagrams (assigned nowhere). */
  targetAddress: string;
  /**
   * Sends `count` UDP datagrams with `payloadBytes` bytes each (all 'x') to
   * `targetAddress:port` from the namespace; resolves when all are sent.
   */
  sendUdp(count: number, payloadBytes: number, port: number): Promise<void>;
  /** Deletes the namespace and the pair (idempotent). */
  remove(): void;
}

/** Why veth tests cannot run here, or null when they can. */
export function vethUnavailableReason(): string | null {
  if (Deno.build.os !== "linux") return "needs Linux network namespaces";
  if (!isRoot()) return "needs root for network namespaces and live capture";
  if (!toolAvailable("ip")) return "needs iproute2 (apt-get install iproute2)";
  if (!toolAvailable("bash")) return "needs bash (its /dev/udp sends the test datagrams)";
  return null;
}

let pairsMade = 0;

/** Creates a veth pair; throws with ip's message when the kernel refuses. */
export function createVethPair(): VethPair {
  const suffix = `${(Deno.pid % 4096).toString(16)}${(pairsMade++).toString(16)}${
    Math.floor(Math.random() * 256).toString(16)
  }`;
  const captureSide = `idsc${suffix}`;
  const peerSide = `idsp${suffix}`;
  const namespace = `ids-test-${suffix}`;
  const subnet = 1 + (pairsMade % 250);
  const peerAddress = `10.213.${subnet}.1`;
  const targetAddress = `10.213.${subnet}.2`;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    run(["ip", "netns", "del", namespace], true);
    // Deleting the namespace deletes the peer, which deletes the pair; this is a fallback.
    run(["ip", "link", "del", captureSide], true);
  };
  try {
    run(["ip", "netns", "add", namespace]);
    run(["ip", "link", "add", captureSide, "type", "veth", "peer", "name", peerSide]);
    run(["ip", "link", "set", peerSide, "netns", namespace]);
    // No IPv6 on either side: no router solicitations or MLD reports on the link.
    writeSysctl(`/proc/sys/net/ipv6/conf/${captureSide}/disable_ipv6`);
    run(["ip", "link", "set", captureSide, "up"]);
    const mac = Deno.readTextFileSync(`/sys/class/net/${captureSide}/address`).trim();
    const inside = (args: string[]) => run(["ip", "netns", "exec", namespace, ...args]);
    inside(["sysctl", "-q", "-w", `net.ipv6.conf.${peerSide}.disable_ipv6=1`]);
    inside(["ip", "link", "set", "lo", "up"]);
    inside(["ip", "addr", "add", `${peerAddress}/30`, "dev", peerSide]);
    inside(["ip", "link", "set", peerSide, "up"]);
    inside([
      "ip",
      "neigh",
      "replace",
      targetAddress,
      "lladdr",
      mac,
      "dev",
      peerSide,
      "nud",
      "permanent",
    ]);
  } catch (error) {
    remove();
    throw error;
  }
  return {
    captureSide,
    peerSide,
    namespace,
    targetAddress,
    remove,
    async sendUdp(count: number, payloadBytes: number, port: number) {
      const script = `payload=$(head -c ${payloadBytes} /dev/zero | tr '\\0' x)
for ((i = 0; i < ${count}; i++)); do printf '%s' "$payload" > /dev/udp/${targetAddress}/${port}; done`;
      const result = await new Deno.Command("ip", {
        args: ["netns", "exec", namespace, "bash", "-c", script],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!result.success) {
        throw new Error(`sending datagrams failed: ${new TextDecoder().decode(result.stderr)}`);
      }
    },
  };
}

function run(args: string[], quiet = false): void {
  const result = new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "piped" })
    .outputSync();
  if (!result.success && !quiet) {
    throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(result.stderr).trim()}`);
  }
}

function writeSysctl(path: string): void {
  try {
    Deno.writeTextFileSync(path, "1");
  } catch {
    // IPv6 disabled in this kernel already: nothing to silence.
  }
}
