/**
 * The LAN's background services, the chatter every real network carries:
 * IPv6 router advertisements for SLAAC (radvd, no default route offered),
 * DHCPv4 and DHCPv6 leases (dnsmasq, next to its DNS), NTP (chrony, never
 * touching the clock), mDNS (avahi-daemon on several hosts), and the clients
 * that keep it going (dhclient renewing short leases). Each is a real Debian
 * daemon in its host's namespace with its config in the run's work directory.
 */
import type { ProcessGroup } from "./process_group.ts";
import { LAB_IPV6_PREFIX, type LabHost, VICTIM } from "./topology.ts";

/** Seconds a DHCP lease lasts: short, so clients renew within a run (dnsmasq's minimum). */
export const DHCP_LEASE_SECONDS = 120;

/** dnsmasq arguments that add DHCPv4 and stateful DHCPv6 to the victim's DNS server. */
export function dhcpArguments(dir: string): string[] {
  return [
    `--dhcp-range=10.66.0.100,10.66.0.150,255.255.255.0,${DHCP_LEASE_SECONDS}s`,
    `--dhcp-range=${LAB_IPV6_PREFIX}100,${LAB_IPV6_PREFIX}1ff,64,${DHCP_LEASE_SECONDS}s`,
    `--dhcp-leasefile=${dir}/dnsmasq.leases`,
    // No gateway: the range routes nowhere; DNS and NTP are the victim.
    "--dhcp-option=3", // An empty router option: no gateway is offered.
    `--dhcp-option=option:ntp-server,${VICTIM.ip}`,
    "--dhcp-authoritative",
  ];
}

function radvdConfig(): string {
  // AdvDefaultLifetime 0: hosts autoconfigure addresses but never take a default route.
  return `interface eth0 {
  AdvSendAdvert on;
  MinRtrAdvInterval 20;
  MaxRtrAdvInterval 60;
  AdvDefaultLifetime 0;
  AdvOtherConfigFlag on;
  prefix ${LAB_IPV6_PREFIX}/64 { AdvOnLink on; AdvAutonomous on; };
  RDNSS ${LAB_IPV6_PREFIX}10 { };
};
`;
}

function chronyConfig(dir: string): string {
  return `bindaddress ${VICTIM.ip}
allow 10.66.0.0/24
allow ${LAB_IPV6_PREFIX}/64
local stratum 8
cmdport 0
pidfile ${dir}/chronyd.pid
driftfile ${dir}/chrony.drift
`;
}

function avahiConfig(host: LabHost): string {
  return `[server]
host-name=${host.name}
domain-name=local
use-ipv4=yes
use-ipv6=yes
allow-interfaces=eth0
enable-dbus=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=yes
publish-hinfo=no
[reflector]
[rlimits]
`;
}

/** The victim's mDNS services (what a printer or NAS announces). */
const AVAHI_SERVICES = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name replace-wildcards="yes">Office intranet on %h</name>
  <service><type>_http._tcp</type><port>80</port></service>
  <service><type>_https._tcp</type><port>443</port></service>
  <service><type>_smb._tcp</type><port>445</port></service>
  <service><type>_ipp._tcp</type><port>631</port><txt-record>rp=printers/office</txt-record></service>
</service-group>
`;

/** Writes radvd, chrony and avahi configs into `dir`. */
export async function prepareNetworkServices(dir: string, avahiHosts: LabHost[]): Promise<void> {
  await Deno.writeTextFile(`${dir}/radvd.conf`, radvdConfig());
  await Deno.writeTextFile(`${dir}/chrony.conf`, chronyConfig(dir));
  for (const host of avahiHosts) {
    await Deno.mkdir(`${dir}/avahi-${host.name}/services`, { recursive: true });
    await Deno.writeTextFile(`${dir}/avahi-${host.name}/avahi-daemon.conf`, avahiConfig(host));
    if (host === VICTIM) {
      await Deno.writeTextFile(`${dir}/avahi-${host.name}/services/office.service`, AVAHI_SERVICES);
    }
  }
}

/**
 * Starts radvd and chronyd on the victim. chronyd runs with `-x`: it serves
 * time from the local clock and never adjusts it (the clock is the host's).
 */
export function startVictimNetworkServices(
  group: ProcessGroup,
  dir: string,
  lifetimeSeconds: number,
): void {
  const opts = { timeoutSeconds: lifetimeSeconds, cwd: dir };
  group.spawnIn(VICTIM.namespace, [
    "radvd",
    "--nodaemon",
    "--config",
    `${dir}/radvd.conf`,
    "--pidfile",
    `${dir}/radvd.pid`,
    "--logmethod",
    "stderr",
  ], opts);
  group.spawnIn(VICTIM.namespace, ["chronyd", "-d", "-x", "-f", `${dir}/chrony.conf`], opts);
}

/**
 * Starts avahi-daemon on `host`. `ip netns exec` gives each command its own
 * mount namespace, so a tmpfs over /run/avahi-daemon keeps the instances'
 * pid files apart; /etc/avahi/services is replaced the same way.
 */
export function startAvahi(
  group: ProcessGroup,
  host: LabHost,
  dir: string,
  lifetimeSeconds: number,
): void {
  const own = `${dir}/avahi-${host.name}`;
  const script = [
    "mkdir -p /run/avahi-daemon",
    "mount -t tmpfs tmpfs /run/avahi-daemon",
    `mount --bind ${own}/services /etc/avahi/services`,
    `exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f ${own}/avahi-daemon.conf`,
  ].join(" && ");
  group.spawnIn(host.namespace, ["sh", "-c", script], {
    timeoutSeconds: lifetimeSeconds,
    cwd: dir,
  });
}

/**
 * Keeps a DHCP client on `host` for the whole run: it asks for a lease, then
 * renews it every minute or so. The lease is never applied (`-sf /bin/true`):
 * the host keeps its fixed address, the wire carries the real exchange.
 */
export function startDhcpClient(
  group: ProcessGroup,
  host: LabHost,
  dir: string,
  lifetimeSeconds: number,
  family: 4 | 6,
): void {
  const tag = `${host.name}-v${family}`;
  group.spawnIn(host.namespace, [
    "dhclient",
    `-${family}`,
    "-d",
    "-q",
    "-sf",
    "/bin/true",
    "-lf",
    `${dir}/dhclient-${tag}.leases`,
    "-pf",
    `${dir}/dhclient-${tag}.pid`,
    "eth0",
  ], { timeoutSeconds: lifetimeSeconds, cwd: dir });
}
