import assert from "node:assert/strict";
import {
  LOGIN_FAILED,
  LOGIN_NONE,
  LOGIN_OK,
  LOGIN_OUTCOME_PORTS,
  loginOutcome,
  REQUEST_TIMED_OUT,
} from "./login_outcomes.ts";
import { FlowMeter } from "./mod.ts";
import { ACK, batchOf, PSH, tcp4, type TestPacket } from "../../tests/support/flow_packets.ts";

/** The outcome the server on `port` says with `payload` (text, or bytes). */
function outcome(port: number, payload: string | number[]): number {
  const bytes = typeof payload === "string"
    ? Uint8Array.from(payload, (c) => c.charCodeAt(0))
    : Uint8Array.from(payload);
  // Offset 3 inside a larger buffer, as a payload inside a captured frame.
  const data = new Uint8Array(bytes.length + 5);
  data.set(bytes, 3);
  return loginOutcome(LOGIN_OUTCOME_PORTS[port], data, 3, 3 + bytes.length);
}

const pgMessage = (type: string, body: number[]) => {
  const length = body.length + 4;
  return [type.charCodeAt(0), 0, 0, length >> 8, length & 255, ...body];
};
const cstring = (s: string) => [...Array.from(s, (c) => c.charCodeAt(0)), 0];

Deno.test("login outcomes: a web server's 408 Request Timeout is counted (as REQUEST_TIMED_OUT), no other status", () => {
  assert.equal(outcome(80, "HTTP/1.1 408 Request Timeout\r\n"), REQUEST_TIMED_OUT);
  assert.equal(outcome(8080, "HTTP/1.0 408 Request Time-out\r\n"), REQUEST_TIMED_OUT);
  assert.equal(outcome(8000, "HTTP/1.1 400 Bad Request\r\n"), LOGIN_NONE);
  assert.equal(outcome(8888, "HTTP/1.1 200 OK\r\n"), LOGIN_NONE);
  assert.equal(outcome(80, "HTTP/1.1 4080 x\r\n"), LOGIN_NONE);
  assert.equal(outcome(80, "<p>HTTP/1.1 408 </p>"), LOGIN_NONE); // a body segment, not a status line
  assert.equal(outcome(80, "HTTP/1.1 408"), LOGIN_NONE); // cut short
  // TLS ports say nothing readable.
  assert.equal(LOGIN_OUTCOME_PORTS[443], 0);
});

Deno.test("login outcomes: each protocol's failure and success, and what is neither", () => {
  assert.equal(outcome(21, "530 Login incorrect.\r\n"), LOGIN_FAILED);
  assert.equal(outcome(21, "230 Login successful.\r\n"), LOGIN_OK);
  assert.equal(outcome(21, "220 (vsFTPd 3.0.3)\r\n"), LOGIN_NONE);
  assert.equal(outcome(587, "535 5.7.8 Error: authentication failed\r\n"), LOGIN_FAILED);
  assert.equal(outcome(25, "235 2.7.0 Authentication successful\r\n"), LOGIN_OK);
  // A message taken (354), alone or after pipelined MAIL and RCPT answers: a delivery.
  assert.equal(outcome(25, "354 End data with <CR><LF>.<CR><LF>\r\n"), LOGIN_OK);
  assert.equal(outcome(25, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data\r\n"), LOGIN_OK);
  assert.equal(outcome(25, "250 2.1.5 Ok\r\n"), LOGIN_NONE);
  assert.equal(outcome(25, "220 mail.corp.lab ESMTP\r\n"), LOGIN_NONE);
  assert.equal(outcome(110, "-ERR [AUTH] Authentication failed.\r\n"), LOGIN_FAILED);
  assert.equal(outcome(110, "+OK Logged in.\r\n"), LOGIN_NONE);
  assert.equal(
    outcome(143, "2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"),
    LOGIN_FAILED,
  );
  // A tagged OK that says the user logged in (after Dovecot's long CAPABILITY code, too).
  const caps =
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES".repeat(
      3,
    );
  assert.equal(outcome(143, `a1 OK [CAPABILITY ${caps}] Logged in\r\n`), LOGIN_OK);
  assert.equal(outcome(143, "A0001 OK LOGIN completed.\r\n"), LOGIN_OK); // Exchange, UW
  assert.equal(outcome(143, "a OK LOGIN Ok.\r\n"), LOGIN_OK); // Courier
  assert.equal(
    outcome(143, "a2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n"),
    LOGIN_NONE,
  );
  assert.equal(outcome(143, "a5 OK Logout completed (0.001 + 0.000 secs).\r\n"), LOGIN_NONE);
  assert.equal(outcome(143, "* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n"), LOGIN_NONE);
  // Dovecot after a LOGIN without SASL-IR: the post-login CAPABILITY untagged, then the tagged OK.
  assert.equal(outcome(143, `* CAPABILITY ${caps}\r\nBGBB1 OK Logged in\r\n`), LOGIN_OK);
  assert.equal(
    outcome(143, `* CAPABILITY ${caps}\r\nBGBB1 OK Capability completed.\r\n`),
    LOGIN_NONE,
  );
  // An untagged NO is a warning, not a command's answer; a NO past the first line is another's.
  assert.equal(outcome(143, "* NO [ALERT] Mailbox almost full\r\n"), LOGIN_NONE);
  assert.equal(outcome(143, "* OK Dovecot ready.\r\nA NO x\r\n"), LOGIN_NONE);
  assert.equal(outcome(23, "\r\nLogin incorrect\r\nlogin: "), LOGIN_FAILED);
  const fatal = pgMessage("E", [
    ...cstring("SFATAL"),
    ...cstring("VFATAL"),
    ...cstring("C28P01"),
    ...cstring('Mpassword authentication failed for user "admin"'),
    0,
  ]);
  assert.equal(outcome(5432, fatal), LOGIN_FAILED);
  assert.equal(
    outcome(5432, pgMessage("E", [...cstring("SERROR"), ...cstring("C42P01"), 0])),
    LOGIN_NONE,
  );
  // AuthenticationOk (then ParameterStatus messages in the same segment).
  assert.equal(outcome(5432, [0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x53, 0, 0, 0, 5]), LOGIN_OK);
  // SCRAM: AuthenticationSASLFinal (code 12), then AuthenticationOk, in one segment.
  const saslFinal = [0x52, 0, 0, 0, 54, 0, 0, 0, 12, ...new Array(46).fill(0x41)];
  assert.equal(
    outcome(5432, [...saslFinal, 0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x53, 0, 0, 0, 5]),
    LOGIN_OK,
  );
  // AuthenticationSASL (code 10) asks for a password: neither.
  assert.equal(outcome(5432, [0x52, 0, 0, 0, 23, 0, 0, 0, 10, 0x53]), LOGIN_NONE);
  // MySQL: error 1045 (seq 2), the OK packet that ends the handshake (seq 2), a query's OK (seq 1).
  assert.equal(outcome(3306, [0x4b, 0, 0, 2, 0xff, 0x15, 0x04, 0x23, 0x32, 0x38]), LOGIN_FAILED);
  assert.equal(outcome(3306, [7, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]), LOGIN_OK);
  assert.equal(outcome(3306, [7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]), LOGIN_NONE);
  // A port without a login protocol reads nothing.
  assert.equal(LOGIN_OUTCOME_PORTS[9000], 0);
  assert.equal(LOGIN_OUTCOME_PORTS[22], 0, "SSH is encrypted");
});

/** An SMB2 message over NetBIOS: its header with `status` and `command`, then 8 bytes of body. */
function smb2(status: number, command: number): number[] {
  const h = new Array(64 + 8).fill(0);
  h.splice(0, 4, 0xfe, 0x53, 0x4d, 0x42);
  h[4] = 64;
  h.splice(8, 4, status & 255, (status >>> 8) & 255, (status >>> 16) & 255, status >>> 24);
  h[12] = command;
  return [0, 0, 0, h.length, ...h];
}

/** An SMB1 message: its header with `command` and `status`. */
function smb1(command: number, status: number): number[] {
  const h = new Array(32 + 3).fill(0);
  h.splice(0, 4, 0xff, 0x53, 0x4d, 0x42);
  h[4] = command;
  h.splice(5, 4, status & 255, (status >>> 8) & 255, (status >>> 16) & 255, status >>> 24);
  return [0, 0, 0, h.length, ...h];
}

Deno.test("login outcomes: SMB's SESSION_SETUP status (SMB2/3 and SMB1), never another command's", () => {
  assert.equal(outcome(445, smb2(0, 1)), LOGIN_OK); // a guest or anonymous session too
  assert.equal(outcome(445, smb2(0xc000006d, 1)), LOGIN_FAILED); // STATUS_LOGON_FAILURE
  assert.equal(outcome(445, smb2(0xc000006a, 1)), LOGIN_FAILED); // STATUS_WRONG_PASSWORD
  assert.equal(outcome(445, smb2(0xc0000016, 1)), LOGIN_NONE); // NTLM's next leg
  assert.equal(outcome(445, smb2(0, 0)), LOGIN_NONE); // NEGOTIATE
  assert.equal(outcome(445, smb2(0xc000006d, 5)), LOGIN_NONE); // CREATE refused: no login
  assert.equal(outcome(445, smb1(0x73, 0)), LOGIN_OK);
  assert.equal(outcome(445, smb1(0x73, 0xc000006d)), LOGIN_FAILED);
  assert.equal(outcome(445, smb1(0x72, 0)), LOGIN_NONE);
  assert.equal(outcome(445, smb2(0, 1).slice(0, 16)), LOGIN_NONE); // cut before the command
});

Deno.test("login outcomes: LDAP's BindResponse resultCode, short and long BER lengths", () => {
  // LDAPMessage { messageID 1, BindResponse { resultCode, matchedDN "", diagnosticMessage "" } }
  const bind = (
    code: number,
  ) => [0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, code, 4, 0, 4, 0];
  assert.equal(outcome(389, bind(0)), LOGIN_OK); // an anonymous bind too
  assert.equal(outcome(389, bind(49)), LOGIN_FAILED); // invalidCredentials
  assert.equal(outcome(389, bind(32)), LOGIN_NONE);
  // OpenLDAP's long form: 0x84 and four length bytes.
  const long = [0x30, 0x84, 0, 0, 0, 0x10, 0x02, 0x01, 0x02, 0x61, 0x84, 0, 0, 0, 0x07];
  assert.equal(outcome(389, [...long, 0x0a, 0x01, 49, 4, 0, 4, 0]), LOGIN_FAILED);
  assert.equal(outcome(389, [...long, 0x0a, 0x01, 0, 4, 0, 4, 0]), LOGIN_OK);
  // A SearchResultDone ([APPLICATION 5]) with success is no login.
  assert.equal(
    outcome(389, [0x30, 0x0c, 0x02, 0x01, 0x02, 0x65, 0x07, 0x0a, 0x01, 0, 4, 0, 4, 0]),
    LOGIN_NONE,
  );
  assert.equal(outcome(389, bind(49).slice(0, 9)), LOGIN_NONE); // cut before the code
});

Deno.test("login outcomes: the meter counts a server's failed logins on the flow's row", () => {
  const text = (frame: Uint8Array, s: string) => {
    frame.set(Uint8Array.from(s, (c) => c.charCodeAt(0)), frame.length - s.length);
    return frame;
  };
  const packets: TestPacket[] = [];
  let t = 1.7e15;
  for (let k = 0; k < 3; k++) {
    const ask = `a${k} LOGIN admin guess${k}\r\n`, no = `a${k} NO [AUTHENTICATIONFAILED] x\r\n`;
    packets.push({ ts: t += 1000, data: text(tcp4(1, 2, 40000, 143, ACK | PSH, ask.length), ask) });
    packets.push({ ts: t += 1000, data: text(tcp4(2, 1, 143, 40000, ACK | PSH, no.length), no) });
  }
  // An IMAP client on another connection that logs in: no failure, one login (the high four bits).
  const ok = "b1 OK Logged in\r\n";
  packets.push({ ts: t += 1000, data: text(tcp4(3, 2, 40001, 143, ACK | PSH, 10), "b1 LOGIN x") });
  packets.push({ ts: t += 1000, data: text(tcp4(2, 3, 143, 40001, ACK | PSH, ok.length), ok) });
  const meter = new FlowMeter({});
  meter.push(batchOf(packets));
  meter.flush();
  const logins = new Map<number, number>();
  for (const b of meter.drain()) {
    for (let i = 0; i < b.count; i++) logins.set(b.srcPort[i], b.logins[i]);
  }
  assert.deepEqual(logins, new Map([[40000, 3], [40001, 1 << 4]]));
});

Deno.test("login outcomes: random and cut answers never read past their end", () => {
  let seed = 7;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const ports = [21, 25, 110, 143, 23, 5432, 3306, 445, 389];
  // The bytes after `end` spell a failure for every protocol: a read past the end would see one.
  const trap = Uint8Array.from("530 -ERR a NO Login incorrect C28P01", (c) => c.charCodeAt(0));
  for (let round = 0; round < 5000; round++) {
    const length = Math.floor(random() * 40);
    const data = new Uint8Array(length + trap.length);
    for (let k = 0; k < length; k++) {
      // Mostly bytes that matter to the parsers, so their branches are reached.
      data[k] = random() < 0.5
        ? "RE0NO 5C28P".charCodeAt(Math.floor(random() * 11))
        : random() * 256;
    }
    data.set(trap, length);
    const port = ports[round % ports.length];
    const got = loginOutcome(LOGIN_OUTCOME_PORTS[port], data, 0, length);
    assert.ok(got === LOGIN_NONE || got === LOGIN_FAILED || got === LOGIN_OK);
    if (length < 4) assert.equal(got, LOGIN_NONE, `${port}: ${length} bytes`);
  }
  // Every cut of a real failure short of its deciding bytes says nothing.
  const fatal = pgMessage("E", [...cstring("SFATAL"), ...cstring("C28P01"), 0]);
  const decided = fatal.indexOf("1".charCodeAt(0)) + 1;
  for (let cut = 0; cut < decided; cut++) {
    const data = new Uint8Array([...fatal.slice(0, cut), ...trap]);
    assert.equal(
      loginOutcome(LOGIN_OUTCOME_PORTS[5432], data, 0, cut),
      LOGIN_NONE,
      `cut at ${cut}`,
    );
  }
});
