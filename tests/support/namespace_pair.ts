/**
 * Two network namespaces joined by a veth pair, each end with an address in
 * one /24, for tests that run the sensor in one namespace and real traffic
 * from the other. Names are unique per process; `remove()` deletes both
 * namespaces (and so the pair). Optionally quiet: no IPv6 and static
 * neighbours, so only the test's own packets cross the link.
 */

/** A pair of namespaces with the sensor on one side. */
export interface NamespacePair {
  sensorNamespace: string;
  peerNamespace: string;
  sensorInterface: string;
  peerInterface: string;
  sensorAddress: string;
  peerAddress: string;
  /** Deletes both namespaces; safe to call twice. */
  remove(): void;
}

/** `nmap ARGS` run in `namespace` (output discarded, errors piped); resolves when nmap ends. */
export function nmapFrom(namespace: string, args: string[]): Promise<Deno.CommandOutput> {
  return new Deno.Command("ip", {
    args: ["netns", "exec", namespace, "nmap", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
}

/**
 * A bounded nmap SYN scan of `ports` on `target` from `namespace` (no
 * retries, 500 probes/s): the live tests' attack. Resolves when nmap ends.
 */
export function synScanFrom(
  namespace: string,
  target: string,
  ports: string,
): Promise<Deno.CommandOutput> {
  return nmapFrom(namespace, [
    "-n",
    "-Pn",
    "-sS",
    "--max-retries",
    "0",
    "--max-rate",
    "500",
    "-p",
    ports,
    target,
  ]);
}

/** Starts `ids-sensor ARGS` (this Deno, this checkout's main.ts) inside `namespace`. */
export function spawnSensorIn(namespace: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      namespace,
      Deno.execPath(),
      "run",
      "-A",
      new URL("../../main.ts", import.meta.url).pathname,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Reads a sensor's stderr until `line` appears (its "detecting on" line), and
 * keeps reading: `text()` is everything so far, `done` ends with the stream.
 */
export async function stderrUntil(
  child: Deno.ChildProcess,
  line: string,
): Promise<{ text: () => string; done: Promise<void> }> {
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(line)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the sensor ended before "${line}":\n${text}`);
    text += decoder.decode(value, { stream: true });
  }
  const done = (async () => {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  return { text: () => text, done };
}

function ip(...args: string[]): void {
  const out = new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

function macOf(namespace: string, device: string): string {
  const out = new Deno.Command("ip", {
    args: ["netns", "exec", namespace, "cat", `/sys/class/net/${device}/address`],
    stdout: "piped",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * Creates the pair on `subnet` (e.g. "10.77.0"): the sensor side gets .1, the peer .2.
 * `prefix` (a few letters) keeps names of different tests apart.
 */
export function createNamespacePair(
  prefix: string,
  subnet: string,
  options: { quiet?: boolean } = {},
): NamespacePair {
  const tag = (Deno.pid % 65536).toString(16);
  const pair: NamespacePair = {
    sensorNamespace: `ids-${prefix}s-${tag}`,
    peerNamespace: `ids-${prefix}p-${tag}`,
    sensorInterface: `ids${prefix}s${tag}`,
    peerInterface: `ids${prefix}p${tag}`,
    sensorAddress: `${subnet}.1`,
    peerAddress: `${subnet}.2`,
    remove() {
      for (const ns of [pair.sensorNamespace, pair.peerNamespace]) {
        new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).outputSync();
      }
    },
  };
  const sides: [string, string, string][] = [
    [pair.sensorNamespace, pair.sensorInterface, pair.sensorAddress],
    [pair.peerNamespace, pair.peerInterface, pair.peerAddress],
  ];
  try {
    ip("netns", "add", pair.sensorNamespace);
    ip("netns", "add", pair.peerNamespace);
    ip("link", "add", pair.sensorInterface, "type", "veth", "peer", "name", pair.peerInterface);
    for (const [ns, dev, address] of sides) {
      ip("link", "set", dev, "netns", ns);
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", dev);
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", dev, "up");
      if (options.quiet) {
        // No IPv6 chatter (router solicitations, MLD) on the link.
        ip("netns", "exec", ns, "sysctl", "-q", "-w", `net.ipv6.conf.${dev}.disable_ipv6=1`);
      }
    }
    if (options.quiet) {
      // Static neighbours: no ARP on the link either.
      ip(
        "-n",
        pair.sensorNamespace,
        "neigh",
        "replace",
        pair.peerAddress,
        "lladdr",
        macOf(pair.peerNamespace, pair.peerInterface),
        "dev",
        pair.sensorInterface,
      );
      ip(
        "-n",
        pair.peerNamespace,
        "neigh",
        "replace",
        pair.sensorAddress,
        "lladdr",
        macOf(pair.sensorNamespace, pair.sensorInterface),
        "dev",
        pair.peerInterface,
      );
    }
    return pair;
  } catch (error) {
    pair.remove();
    throw error;
  }
}
