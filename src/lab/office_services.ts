/**
 * The office server's business services beyond the web: mail (Postfix for
 * SMTP, Dovecot for IMAP and POP3), a database (PostgreSQL) and file sharing
 * (Samba). Each runs from its own config in the run's work directory, bound
 * to the victim's addresses; the host's /etc configs are never read for
 * behaviour and never changed. The self-signed TLS certificate nginx and the
 * mail servers use is made here, at run time.
 */
import type { ProcessGroup } from "./process_group.ts";
import { run } from "./process_group.ts";
import type { SeededRandom } from "./seeded_random.ts";
import { VICTIM, VICTIM_IPV6 } from "./topology.ts";

/** Debian keeps the PostgreSQL server programs outside PATH. */
const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

/** Accounts and files clients use with these services. */
export interface OfficeAccess {
  /** Mail and database user with its password. */
  user: string;
  password: string;
  /** Database name. */
  database: string;
  /** Samba share name and the files in it (name, bytes). */
  share: string;
  shareFiles: { name: string; bytes: number }[];
}

/** Makes the server's self-signed certificate (`tls.crt`, `tls.key` in `dir`). */
export async function makeCertificate(dir: string): Promise<void> {
  await run([
    "openssl",
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=www.office.lab",
    "-addext",
    "subjectAltName=DNS:www.office.lab,DNS:wiki.office.lab,DNS:files.office.lab," +
    "DNS:api.office.lab,DNS:mail.office.lab,DNS:intranet.office.lab",
    "-keyout",
    `${dir}/tls.key`,
    "-out",
    `${dir}/tls.crt`,
  ]);
  await Deno.chmod(`${dir}/tls.key`, 0o644);
}

function postfixMain(dir: string): string {
  // Accepts mail for office.lab from the LAN and discards it after the SMTP dialogue.
  return `compatibility_level = 3.6
queue_directory = ${dir}/postfix/queue
data_directory = ${dir}/postfix/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.office.lab
mydomain = office.lab
myorigin = office.lab
inet_interfaces = ${VICTIM.ip}
inet_protocols = ipv4
mydestination =
relay_domains = office.lab
mynetworks = 10.66.0.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
default_transport = discard
relay_transport = discard
local_transport = discard
maillog_file = ${dir}/postfix/maillog
maillog_file_prefixes = ${dir}
smtpd_tls_cert_file = ${dir}/tls.crt
smtpd_tls_key_file = ${dir}/tls.key
smtpd_tls_security_level = may
smtpd_banner = $myhostname ESMTP
biff = no
alias_maps =
alias_database =
`;
}

function postfixMaster(): string {
  // chroot off: the queue lives in the run's directory.
  return `smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp-out  unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

function dovecotConfig(dir: string, user: string, password: string): string {
  return `base_dir = ${dir}/dovecot/run
state_dir = ${dir}/dovecot/state
protocols = imap pop3
listen = ${VICTIM.ip}, ${VICTIM_IPV6}
log_path = ${dir}/dovecot/dovecot.log
ssl = yes
ssl_cert = <${dir}/tls.crt
ssl_key = <${dir}/tls.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/dovecot/mail/%u
mail_uid = dovenull
mail_gid = dovenull
first_valid_uid = 1
passdb {
  driver = static
  args = password=${password}
}
userdb {
  driver = static
  args = uid=dovenull gid=dovenull home=${dir}/dovecot/mail/%u
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
service pop3-login {
  chroot =
}
protocol imap {
}
# Login name: ${user}
`;
}

function sambaConfig(dir: string, share: string): string {
  return `[global]
  workgroup = OFFICE
  server string = Office files
  netbios name = OFFICESRV
  interfaces = ${VICTIM.ip}/24 ${VICTIM_IPV6}/64
  bind interfaces only = yes
  smb ports = 445
  server role = standalone server
  map to guest = Bad User
  log file = ${dir}/samba/log.%m
  log level = 0
  lock directory = ${dir}/samba/lock
  state directory = ${dir}/samba/state
  cache directory = ${dir}/samba/cache
  pid directory = ${dir}/samba/run
  private dir = ${dir}/samba/private
  ncalrpc dir = ${dir}/samba/ncalrpc
  binddns dir = ${dir}/samba/binddns
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_10
[${share}]
  path = ${dir}/samba/share
  guest ok = yes
  read only = no
  force user = root
`;
}

/** Writes every config, database cluster and share file; returns the accounts clients use. */
export async function prepareOfficeServices(
  dir: string,
  rng: SeededRandom,
): Promise<OfficeAccess> {
  const user = "alice";
  const password = `mail-${rng.int(1000, 9999)}`;
  const database = "office";
  const share = "shared";

  // Postfix: main.cf/master.cf of its own, queue made by `postfix check`.
  await Deno.mkdir(`${dir}/postfix/conf`, { recursive: true });
  await Deno.writeTextFile(`${dir}/postfix/conf/main.cf`, postfixMain(dir));
  await Deno.writeTextFile(`${dir}/postfix/conf/master.cf`, postfixMaster());
  await Deno.mkdir(`${dir}/postfix/queue`, { recursive: true });
  await Deno.mkdir(`${dir}/postfix/data`, { recursive: true });
  await run(["chown", "postfix", `${dir}/postfix/data`]);
  await run(["postfix", "-c", `${dir}/postfix/conf`, "set-permissions"], true);

  // Dovecot.
  for (const sub of ["run", "state", "mail"]) {
    await Deno.mkdir(`${dir}/dovecot/${sub}`, { recursive: true });
  }
  await run(["chown", "dovenull:dovenull", `${dir}/dovecot/mail`]);
  await Deno.writeTextFile(`${dir}/dovecot/dovecot.conf`, dovecotConfig(dir, user, password));

  // PostgreSQL: a fresh cluster owned by the postgres user, scram passwords from the LAN.
  const pg = `${dir}/postgres`;
  await Deno.mkdir(pg, { recursive: true });
  await run(["chown", "postgres:postgres", pg]);
  await Deno.writeTextFile(`${dir}/pgpass`, `${password}\n`);
  await Deno.chmod(`${dir}/pgpass`, 0o644);
  await run([
    "runuser",
    "-u",
    "postgres",
    "--",
    POSTGRES_BIN + "/initdb",
    "-D",
    `${pg}/data`,
    "-U",
    user,
    "--pwfile",
    `${dir}/pgpass`,
    "-A",
    "scram-sha-256",
    "-E",
    "UTF8",
    "--no-instructions",
  ]);
  await Deno.writeTextFile(
    `${pg}/data/pg_hba.conf`,
    "local all all scram-sha-256\n" +
      "host all all 10.66.0.0/24 scram-sha-256\n" +
      `host all all ${VICTIM_IPV6.replace(/::.*$/, "::")}/64 scram-sha-256\n`,
  );

  // Samba: a guest share with files of a few sizes.
  for (const sub of ["lock", "state", "cache", "run", "private", "ncalrpc", "binddns", "share"]) {
    await Deno.mkdir(`${dir}/samba/${sub}`, { recursive: true });
  }
  const shareFiles: { name: string; bytes: number }[] = [];
  for (const [i, bytes] of [20_000, 180_000, 900_000, 3_500_000].entries()) {
    const name = `report-${i + 1}.bin`;
    const data = new Uint8Array(bytes);
    for (let k = 0; k < bytes; k += 4096) data[k] = rng.int(0, 255);
    await Deno.writeFile(`${dir}/samba/share/${name}`, data);
    shareFiles.push({ name, bytes });
  }
  await Deno.writeTextFile(`${dir}/samba/smb.conf`, sambaConfig(dir, share));
  return { user, password, database, share, shareFiles };
}

/** Starts Postfix, Dovecot, PostgreSQL and Samba in the victim namespace. */
export async function startOfficeServices(
  group: ProcessGroup,
  dir: string,
  lifetimeSeconds: number,
  access: OfficeAccess,
): Promise<void> {
  const ns = VICTIM.namespace;
  const opts = { timeoutSeconds: lifetimeSeconds, cwd: dir };
  group.spawnIn(ns, ["postfix", "-c", `${dir}/postfix/conf`, "start-fg"], opts);
  group.spawnIn(ns, ["dovecot", "-F", "-c", `${dir}/dovecot/dovecot.conf`], opts);
  group.spawnIn(ns, [
    "runuser",
    "-u",
    "postgres",
    "--",
    POSTGRES_BIN + "/postgres",
    "-D",
    `${dir}/postgres/data`,
    "-c",
    `listen_addresses=${VICTIM.ip},${VICTIM_IPV6}`,
    "-c",
    `unix_socket_directories=${dir}/postgres`,
    "-c",
    "logging_collector=off",
    "-c",
    "log_min_messages=fatal",
  ], opts);
  group.spawnIn(ns, [
    "smbd",
    "--foreground",
    "--no-process-group",
    "--configfile",
    `${dir}/samba/smb.conf`,
  ], opts);
  // A database the clients use: created once the server answers.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const ready = await group.runIn(ns, [
      "pg_isready",
      "-q",
      "-h",
      `${dir}/postgres`,
    ], { timeoutSeconds: 5 });
    if (ready.code === 0) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  await group.runIn(ns, [
    "runuser",
    "-u",
    "postgres",
    "--",
    "psql",
    "-q",
    "-h",
    `${dir}/postgres`,
    "-U",
    access.user,
    "-d",
    "postgres",
    "-c",
    `CREATE DATABASE ${access.database}`,
  ], { timeoutSeconds: 10, cwd: dir, env: { PGPASSWORD: access.password } });
}
