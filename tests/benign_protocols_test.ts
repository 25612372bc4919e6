/**
 * Ordinary protocols the bundle never saw, through `ids-sensor analyze` with
 * the bundled model (captures: tests/fixtures/benign-protocols, real servers
 * and clients). Every alert on them is false; password guessing against the
 * same servers must still be named.
 */
import assert from "node:assert/strict";
import { repoRoot } from "./support/environment.ts";
import { analyzeCapture } from "./support/analyze_cli.ts";

const FIXTURES = `${repoRoot}tests/fixtures/benign-protocols`;

interface AlertLine {
  timestamp: string;
  dest_port: number;
  alert: {
    class: string;
    stage?: string;
    evidence?: { login_failures?: number; login_successes?: number };
  };
}

async function analyze(capture: string): Promise<AlertLine[]> {
  return (await analyzeCapture<AlertLine>(`${FIXTURES}/${capture}`)).alerts;
}

const classes = (alerts: AlertLine[]) => alerts.map((a) => `${a.alert.class} ${a.dest_port}`);

Deno.test("benign protocols: snmpbulkwalk of a whole tree (740 requests and answers in 0.1 s) is no anomaly", async () => {
  // Before the UDP exchange rule: "unknown UDP anomaly" (score 5.8 on each walk), 2 lines.
  assert.deepEqual(classes(await analyze("snmp-walk.pcap")), []);
});

Deno.test("benign protocols: 12 TFTP boot-file fetches (each answered from a new server port) are no fan-out", async () => {
  // Before exchanges stopped counting as an anomaly-only group's ports: "unknown UDP anomaly", 12 ports.
  assert.deepEqual(classes(await analyze("tftp-boot.pcap")), []);
});

Deno.test("benign protocols: smbclient opening a guest session about every second is no SMB brute force", async () => {
  // Before SMB's SESSION_SETUP status was read: "SMB brute force" (21 connections), 2 lines.
  assert.deepEqual(classes(await analyze("smb-sessions.pcap")), []);
});

Deno.test("benign protocols: ldapsearch with anonymous binds, 4 connections a second, is no LDAP brute force", async () => {
  // Before LDAP's BindResponse was read: "LDAP brute force", 2 lines.
  assert.deepEqual(classes(await analyze("ldap-searches.pcap")), []);
});

Deno.test("benign protocols: 40 messages by swaks, a connection each without AUTH, are no SMTP brute force", async () => {
  // Before SMTP's 354 counted as a login: "SMTP brute force", 2 lines.
  assert.deepEqual(classes(await analyze("smtp-deliveries.pcap")), []);
});

Deno.test("benign protocols: a webmail host's IMAP logins (a connection per page view, ~2 a second) are no IMAP brute force", async () => {
  // Before IMAP's "tag OK ... Logged in" counted as a login: "IMAP brute force", 2 lines.
  assert.deepEqual(classes(await analyze("imap-webmail.pcap")), []);
});

Deno.test("benign protocols: IMAP password guessing (4 parallel guessers, Dovecot's delay) is still named", async () => {
  const alerts = await analyze("imap-guessing.pcap");
  assert.deepEqual(classes(alerts), [
    "imap-brute-force 143",
    "imap-brute-force 143",
    "imap-brute-force 143",
  ]);
  for (const a of alerts) assert.equal(a.alert.evidence?.login_successes, 0, JSON.stringify(a));
});

Deno.test("benign protocols: password guessing against the same SMB and LDAP servers is named from failed logins", async () => {
  const alerts = await analyze("smb-ldap-guessing.pcap");
  assert.deepEqual(classes(alerts), [
    "smb-brute-force 445",
    "smb-brute-force 445",
    "ldap-brute-force 389",
  ]);
  for (const a of alerts) {
    assert.ok((a.alert.evidence?.login_failures ?? 0) >= 10, JSON.stringify(a));
    assert.equal(a.alert.evidence?.login_successes, 0);
  }
});
