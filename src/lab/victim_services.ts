/**
 * The victim's real services, each a process inside the victim namespace with
 * its own config in the run's work directory (nothing touches the host's
 * /etc/nginx, sshd or redis): nginx (www, wiki, files, api sites and a
 * basic-auth area, over HTTP/1.1 and over TLS 1.2/1.3 with HTTP/2, on IPv4
 * and IPv6), OpenSSH (key login), dnsmasq (the office.lab zone over UDP and
 * TCP, DHCPv4 and DHCPv6), Redis, two iperf3 servers, and the network and
 * office services of network_services.ts and office_services.ts.
 */
import type { ProcessGroup } from "./process_group.ts";
import { run } from "./process_group.ts";
import type { SeededRandom } from "./seeded_random.ts";
import { type SiteCatalogue, writeSites } from "./site_content.ts";
import { ATTACKERS, CLIENTS, VICTIM, VICTIM_IPV6 } from "./topology.ts";
import {
  dhcpArguments,
  prepareNetworkServices,
  startAvahi,
  startVictimNetworkServices,
} from "./network_services.ts";
import {
  makeCertificate,
  type OfficeAccess,
  prepareOfficeServices,
  startOfficeServices,
} from "./office_services.ts";

/** Ports the victim listens on (TCP unless noted). */
export const VICTIM_PORTS = {
  http: 80,
  https: 443,
  ssh: 22,
  dns: 53, // UDP and TCP
  redis: 6379,
  iperf: [5201, 5202],
} as const;

/** Names dnsmasq answers for (all point at the victim). */
export const OFFICE_NAMES = ["www", "wiki", "files", "api", "mail", "intranet"].map((n) =>
  `${n}.office.lab`
);

/** What clients need to talk to the victim. */
export interface VictimAccess {
  site: SiteCatalogue;
  /** Basic-auth account for the `/private/` area. */
  webUser: string;
  webPassword: string;
  /** Private key file the clients log in to sshd with. */
  sshKeyFile: string;
  /** Login name for ssh. */
  sshUser: string;
  /** Mail, database and file-share accounts. */
  office: OfficeAccess;
}

function nginxConfig(dir: string): string {
  const site = (name: string, root: string, extra = "", defaultServer = false) => `
    server {
      listen ${VICTIM.ip}:80${defaultServer ? " default_server" : ""};
      listen [${VICTIM_IPV6}]:80${defaultServer ? " default_server" : ""};
      listen ${VICTIM.ip}:443 ssl http2${defaultServer ? " default_server" : ""};
      listen [${VICTIM_IPV6}]:443 ssl http2${defaultServer ? " default_server" : ""};
      server_name ${name};
      root ${dir}/sites/${root};
      ${extra}
    }`;
  return `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 768; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log ${dir}/nginx-access.log;
  client_body_temp_path ${dir}/nginx-tmp/body;
  proxy_temp_path ${dir}/nginx-tmp/proxy;
  fastcgi_temp_path ${dir}/nginx-tmp/fastcgi;
  sendfile on;
  ssl_certificate ${dir}/tls.crt;
  ssl_certificate_key ${dir}/tls.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:SSL:1m;
  keepalive_timeout 15;
  client_header_timeout 30;
  ${
    site(
      "www.office.lab intranet.office.lab",
      "www",
      `location /private/ { auth_basic "Staff"; auth_basic_user_file ${dir}/htpasswd; }`,
      true,
    )
  }
  ${site("wiki.office.lab", "wiki")}
  ${site("files.office.lab", "files")}
  ${
    site(
      "api.office.lab",
      "api",
      `location = /api/events { return 204; }
      location /api/ { add_header Cache-Control no-store; }`,
    )
  }
}
`;
}

function sshdConfig(dir: string): string {
  return `
Port ${VICTIM_PORTS.ssh}
ListenAddress ${VICTIM.ip}
ListenAddress ${VICTIM_IPV6}
HostKey ${dir}/ssh_host_ed25519_key
PidFile ${dir}/sshd.pid
AuthorizedKeysFile ${dir}/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 40
LogLevel ERROR
`;
}

/**
 * The ssh command line every benign client uses to reach the victim: key only, no prompts,
 * no host-key files; `options` go before LogLevel (e.g. `ServerAliveInterval=10`).
 */
export function sshCommand(
  access: VictimAccess,
  host: string,
  remoteCommand: string,
  options: readonly string[] = [],
): string[] {
  const all = [
    "BatchMode=yes",
    "StrictHostKeyChecking=no",
    "UserKnownHostsFile=/dev/null",
    "ConnectTimeout=5",
    ...options,
    "LogLevel=ERROR",
  ];
  return [
    "ssh",
    "-F",
    "/dev/null",
    "-i",
    access.sshKeyFile,
    ...all.flatMap((option) => ["-o", option]),
    `${access.sshUser}@${host}`,
    remoteCommand,
  ];
}

/**
 * Writes configs, content and keys into `dir` and returns what clients need.
 * `dir` must be readable by nginx's worker user (mode 0755).
 */
export async function prepareVictim(dir: string, rng: SeededRandom): Promise<VictimAccess> {
  await Deno.mkdir(`${dir}/nginx-tmp`, { recursive: true });
  await makeCertificate(dir);
  await prepareNetworkServices(dir, [VICTIM, ...CLIENTS.slice(0, 3)]);
  const office = await prepareOfficeServices(dir, rng.fork("office"));
  const site = await writeSites(`${dir}/sites`, rng);
  await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConfig(dir));
  const webUser = "alice";
  const webPassword = `office-${rng.int(1000, 9999)}`;
  await run(["htpasswd", "-b", "-c", "-m", `${dir}/htpasswd`, webUser, webPassword]);
  // The admin account exists but its password is in no attacker's wordlist.
  await run(["htpasswd", "-b", "-m", `${dir}/htpasswd`, "admin", `Adm!n-${rng.int(1e5, 1e6)}`]);
  await Deno.chmod(`${dir}/htpasswd`, 0o644);

  await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", `${dir}/ssh_host_ed25519_key`]);
  await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", `${dir}/client_key`]);
  await Deno.copyFile(`${dir}/client_key.pub`, `${dir}/authorized_keys`);
  await Deno.writeTextFile(`${dir}/sshd_config`, sshdConfig(dir));
  // sshd's privilege-separation directory; the package normally creates it at boot.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  return {
    site,
    webUser,
    webPassword,
    sshKeyFile: `${dir}/client_key`,
    sshUser: "root",
    office,
  };
}

/** Starts every victim service; resolves once all of them listen. */
export async function startVictim(
  group: ProcessGroup,
  dir: string,
  lifetimeSeconds: number,
  access: VictimAccess,
): Promise<void> {
  const ns = VICTIM.namespace;
  const opts = { timeoutSeconds: lifetimeSeconds, cwd: dir };
  group.spawnIn(ns, ["nginx", "-c", `${dir}/nginx.conf`, "-p", dir], opts);
  group.spawnIn(ns, ["/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/sshd_config`], opts);
  const hostRecords = OFFICE_NAMES.map((n) => `--host-record=${n},${VICTIM.ip},${VICTIM_IPV6}`);
  const ptrRecords = [...CLIENTS, ...ATTACKERS].map((h) =>
    `--host-record=${h.name}.office.lab,${h.ip}`
  );
  group.spawnIn(ns, [
    "dnsmasq",
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    "--no-poll",
    "--pid-file=",
    "--bind-interfaces",
    `--listen-address=${VICTIM.ip}`,
    `--listen-address=${VICTIM_IPV6}`,
    "--local=/office.lab/",
    "--domain=office.lab",
    "--cache-size=0",
    ...hostRecords,
    ...ptrRecords,
    "--mx-host=office.lab,mail.office.lab,10",
    ...dhcpArguments(dir),
  ], opts);
  group.spawnIn(ns, [
    "redis-server",
    "--bind",
    VICTIM.ip,
    "--port",
    `${VICTIM_PORTS.redis}`,
    "--protected-mode",
    "no",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--logfile",
    `${dir}/redis.log`,
  ], opts);
  for (const port of VICTIM_PORTS.iperf) {
    group.spawnIn(ns, ["iperf3", "-s", "-B", VICTIM.ip, "-p", `${port}`], opts);
  }
  startVictimNetworkServices(group, dir, lifetimeSeconds);
  startAvahi(group, VICTIM, dir, lifetimeSeconds);
  await startOfficeServices(group, dir, lifetimeSeconds, access.office);
  await waitForListeners([
    `tcp:${VICTIM_PORTS.http}`,
    `tcp:${VICTIM_PORTS.https}`,
    "tcp:25",
    "tcp:143",
    "tcp:993",
    "tcp:110",
    "tcp:5432",
    "tcp:445",
    "udp:123",
    "udp:67",
    `tcp:${VICTIM_PORTS.ssh}`,
    `udp:${VICTIM_PORTS.dns}`,
    `tcp:${VICTIM_PORTS.redis}`,
    ...VICTIM_PORTS.iperf.map((p) => `tcp:${p}`),
  ]);
}

/** Polls `ss` inside the victim (no packets on the wire) until all ports listen. */
async function waitForListeners(wanted: string[]): Promise<void> {
  const deadline = Date.now() + 60_000; // Generous: a loaded machine starts a dozen daemons slowly.
  let missing = wanted;
  while (Date.now() < deadline) {
    const { stdout } = await run(
      ["ip", "netns", "exec", VICTIM.namespace, "ss", "-H", "-l", "-n", "-t", "-u"],
      true,
    );
    const listening = new Set<string>();
    for (const line of stdout.split("\n")) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5) continue;
      const port = cols[4].slice(cols[4].lastIndexOf(":") + 1);
      listening.add(`${cols[0]}:${port}`);
    }
    missing = wanted.filter((w) => !listening.has(w));
    if (missing.length === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`victim services not listening after 60 s: ${missing.join(", ")}`);
}
