/**
 * The Debian tools the range runs, how to find them, and how to install the
 * missing ones (as root, with apt-get, never starting the packages' own
 * system services).
 */
import { run } from "./process_group.ts";

/** Executable name to the Debian package that ships it. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  ip: "iproute2",
  ethtool: "ethtool",
  tcpdump: "tcpdump",
  nginx: "nginx-light",
  sshd: "openssh-server",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  dnsmasq: "dnsmasq-base",
  "redis-server": "redis-server",
  "redis-cli": "redis-tools",
  iperf3: "iperf3",
  curl: "curl",
  htpasswd: "apache2-utils",
  nmap: "nmap",
  hping3: "hping3",
  slowhttptest: "slowhttptest",
  hydra: "hydra",
  "arp-scan": "arp-scan",
  arpspoof: "dsniff",
  timeout: "coreutils",
  getent: "libc-bin",
  // The wider benign world: network chatter, TLS, mail, database, file sharing, a browser.
  openssl: "openssl",
  radvd: "radvd",
  chronyd: "chrony",
  "avahi-daemon": "avahi-daemon",
  dhclient: "isc-dhcp-client",
  postfix: "postfix",
  dovecot: "dovecot-imapd",
  "/usr/lib/dovecot/pop3": "dovecot-pop3d",
  swaks: "swaks",
  "/usr/lib/postgresql/15/bin/postgres": "postgresql-15",
  psql: "postgresql-client",
  pg_isready: "postgresql-client",
  runuser: "util-linux",
  smbd: "samba",
  smbclient: "smbclient",
  dig: "bind9-dnsutils",
  traceroute: "traceroute",
  ping: "iputils-ping",
  rdisc6: "ndisc6",
  socat: "socat",
  wget: "wget",
  chromium: "chromium",
};

const SEARCH_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/** Full path of an executable, or undefined. */
export function findExecutable(name: string): string | undefined {
  // Helpers outside PATH (dovecot's pop3, the PostgreSQL server) are listed by full path.
  for (const dir of name.startsWith("/") ? [""] : SEARCH_PATH) {
    try {
      const info = Deno.statSync(dir === "" ? name : `${dir}/${name}`);
      const path = dir === "" ? name : `${dir}/${name}`;
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

/** Executables of TOOL_PACKAGES that are not installed. */
export function missingTools(): string[] {
  return Object.keys(TOOL_PACKAGES).filter((tool) => findExecutable(tool) === undefined);
}

/** True when this process runs as root (the range needs it). */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** The distinct packages that would provide the given tools. */
export function packagesFor(tools: string[]): string[] {
  return [...new Set(tools.map((t) => TOOL_PACKAGES[t]))].sort();
}

/**
 * Makes sure every tool is present. As root, installs what is missing with
 * apt-get (with a temporary policy-rc.d so nginx, sshd, redis, postfix,
 * dovecot, samba, chrony, radvd and avahi do not start as host services); otherwise throws a message naming the packages.
 */
export async function ensureTools(log: (line: string) => void): Promise<void> {
  const missing = missingTools();
  if (missing.length === 0) return;
  const packages = packagesFor(missing);
  if (!isRoot()) {
    throw new Error(
      `missing tools: ${missing.join(", ")}; install them as root with:\n` +
        `  apt-get install --no-install-recommends ${packages.join(" ")}`,
    );
  }
  log(`installing ${packages.join(" ")} with apt-get`);
  const policy = "/usr/sbin/policy-rc.d";
  const hadPolicy = await Deno.stat(policy).then(() => true, () => false);
  if (!hadPolicy) await Deno.writeTextFile(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
  try {
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const apt = async (args: string[]) => {
      const out = await new Deno.Command("apt-get", { args, env, stdout: "piped", stderr: "piped" })
        .output();
      if (out.code !== 0) {
        throw new Error(
          `apt-get ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr).slice(-2000)}`,
        );
      }
    };
    await apt(["update", "-qq"]);
    await apt(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
  } finally {
    if (!hadPolicy) await Deno.remove(policy).catch(() => {});
  }
  const still = missingTools();
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.join(", ")}`);
}

/** Installed version of each package the range uses (for the manifest). */
export async function toolVersions(): Promise<Record<string, string>> {
  const packages = [...new Set(Object.values(TOOL_PACKAGES))].sort();
  const { stdout } = await run(
    ["dpkg-query", "-W", "-f=${Package}\t${Version}\n", ...packages],
    true,
  );
  const versions: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const [pkg, version] = line.split("\t");
    if (pkg && version) versions[pkg] = version;
  }
  return versions;
}
