/**
 * Login outcomes read from a server's answer, for the cleartext login
 * protocols whose answer says it in its first bytes: FTP (530 / 230), SMTP
 * AUTH (535 / 235), POP3 (-ERR), IMAP (a tagged NO / a tagged OK that
 * says the user logged in), Telnet ("Login
 * incorrect"), SMTP's "354" (a message taken: a delivery, counted with the
 * logins), PostgreSQL (an ErrorResponse with SQLSTATE 28P01 or 28000 /
 * AuthenticationOk), MySQL (error 1045 / the OK packet that ends the
 * handshake), LDAP (the resultCode of a BindResponse: an anonymous bind
 * too is a login) and SMB (the NT status of the SESSION_SETUP response,
 * whose header is cleartext even where SMB3 encrypts what follows). Password guessing is many failed logins; an application that
 * opens a connection per query is many successful ones, and without the
 * outcome the two look alike (short connections at a rate). SSH's outcome
 * is read from its segment sizes (ssh_auth.ts); other encrypted services
 * (TLS, RDP) show nothing and keep the connection rule.
 */
export const LOGIN_NONE = 0, LOGIN_FAILED = 1, LOGIN_OK = 2;
/**
 * On a cleartext web port the failed-login count carries something else: the
 * server's "408 Request Timeout", its word that the client never finished its
 * request in time (Apache's mod_reqtimeout answers so after 20-40 s). A
 * slowloris whose headers trickle slower than that is answered 408 on every
 * connection, and seen from the flow alone is a long-poll. The evidence reads
 * it on web ports only, as a slow connection, never as a login.
 */
export const REQUEST_TIMED_OUT = LOGIN_FAILED;

const FTP = 1, SMTP = 2, POP3 = 3, IMAP = 4, TELNET = 5, POSTGRES = 6, MYSQL = 7, HTTP = 8;
const SMB = 9, LDAP = 10;
/** Server port -> protocol whose login outcome is read (0: none). */
export const LOGIN_OUTCOME_PORTS = new Uint8Array(65536);
LOGIN_OUTCOME_PORTS[21] = FTP;
LOGIN_OUTCOME_PORTS[25] = SMTP;
LOGIN_OUTCOME_PORTS[587] = SMTP;
LOGIN_OUTCOME_PORTS[110] = POP3;
LOGIN_OUTCOME_PORTS[143] = IMAP;
LOGIN_OUTCOME_PORTS[23] = TELNET;
LOGIN_OUTCOME_PORTS[5432] = POSTGRES;
LOGIN_OUTCOME_PORTS[3306] = MYSQL;
LOGIN_OUTCOME_PORTS[445] = SMB;
LOGIN_OUTCOME_PORTS[389] = LDAP;
for (const port of [80, 8000, 8080, 8888]) LOGIN_OUTCOME_PORTS[port] = HTTP;

/** Bytes of an answer looked at (a status line, or the first message). */
const WINDOW = 96;

/**
 * The login outcome a TCP segment from a server's port says, reading
 * `data[at, end)` (its captured payload): LOGIN_FAILED, LOGIN_OK or
 * LOGIN_NONE. Called only for segments with payload from a port of
 * LOGIN_OUTCOME_PORTS, so other traffic costs one table read.
 */
export function loginOutcome(protocol: number, data: Uint8Array, at: number, end: number): number {
  if (end - at < 4) return LOGIN_NONE;
  switch (protocol) {
    case FTP:
      return replyOutcome(data, at, 530, 230);
    case SMTP: {
      // A server that says "354" (send the message's data) took a message on this connection:
      // mail delivered, with or without AUTH, is what the connection came for, not guessing.
      const outcome = replyOutcome(data, at, 535, 235);
      if (outcome !== LOGIN_NONE) return outcome;
      return replyOutcome(data, at, 354, 354) !== LOGIN_NONE ||
          find(data, at, end, SMTP_DATA_AFTER_PIPELINED, false)
        ? LOGIN_OK
        : LOGIN_NONE;
    }
    case POP3: // -ERR
      return data[at] === 0x2d && data[at + 1] === 0x45 && data[at + 2] === 0x52 &&
          data[at + 3] === 0x52
        ? LOGIN_FAILED
        : LOGIN_NONE;
    case IMAP:
      // A tagged NO on the first line ("a1 NO [AUTHENTICATIONFAILED] ..."); untagged lines start "* ".
      if (data[at] !== 0x2a && find(data, at, end, NO_WORD, true)) return LOGIN_FAILED;
      return imapLoggedIn(data, at, end) ? LOGIN_OK : LOGIN_NONE;
    case TELNET:
      return find(data, at, end, LOGIN_INCORRECT, false) ? LOGIN_FAILED : LOGIN_NONE;
    case POSTGRES:
      return postgresOutcome(data, at, end);
    case HTTP:
      return httpTimedOut(data, at, end) ? REQUEST_TIMED_OUT : LOGIN_NONE;
    case SMB:
      return smbOutcome(data, at, end);
    case LDAP:
      return ldapOutcome(data, at, end);
    case MYSQL:
      // Packet header (3-byte length, sequence), then 0xff + error 1045 (little-endian), or
      // the OK packet (0x00) that answers the client's handshake response (sequence 2).
      if (end - at < 7) return LOGIN_NONE;
      if (data[at + 4] === 0xff && data[at + 5] === 0x15 && data[at + 6] === 0x04) {
        return LOGIN_FAILED;
      }
      return data[at + 3] === 2 && data[at + 4] === 0x00 ? LOGIN_OK : LOGIN_NONE;
  }
  return LOGIN_NONE;
}

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const HTTP_408 = bytes("HTTP/1.? 408 ");

/** A status line "HTTP/1.x 408 ..." at `at` (any minor version). */
function httpTimedOut(data: Uint8Array, at: number, end: number): boolean {
  if (end - at < HTTP_408.length || data[at] !== 0x48) return false;
  for (let k = 0; k < HTTP_408.length; k++) {
    if (k !== 7 && data[at + k] !== HTTP_408[k]) return false;
  }
  return true;
}
/** "354" after other replies in one segment (a PIPELINING client's MAIL, RCPT and DATA answered at once). */
const SMTP_DATA_AFTER_PIPELINED = bytes("\n354 ");
const NO_WORD = bytes(" NO "), LOGIN_INCORRECT = bytes("Login incorrect");
const SQLSTATE_28P01 = bytes("C28P01"), SQLSTATE_28000 = bytes("C28000");

/**
 * PostgreSQL: the backend messages at the start of a segment, in order (a
 * SCRAM login answers with AuthenticationSASLFinal, then AuthenticationOk,
 * in one segment): AuthenticationOk ('R', length 8, code 0) is a login;
 * an ErrorResponse ('E') with SQLSTATE 28P01 (password) or 28000
 * (authorization) a failed one.
 */
function postgresOutcome(data: Uint8Array, at: number, end: number): number {
  for (let messages = 0; messages < 4 && end - at >= 9; messages++) {
    const type = data[at];
    const length = ((data[at + 1] << 24) | (data[at + 2] << 16) | (data[at + 3] << 8) |
      data[at + 4]) >>> 0;
    if (length < 4) return LOGIN_NONE;
    if (type === 0x45) {
      const stop = Math.min(end, at + 1 + length);
      return find(data, at, stop, SQLSTATE_28P01, false) ||
          find(data, at, stop, SQLSTATE_28000, false)
        ? LOGIN_FAILED
        : LOGIN_NONE;
    }
    if (type !== 0x52) return LOGIN_NONE;
    if (
      length === 8 && data[at + 5] === 0 && data[at + 6] === 0 && data[at + 7] === 0 &&
      data[at + 8] === 0
    ) return LOGIN_OK;
    at += 1 + length;
  }
  return LOGIN_NONE;
}

/** Bytes of an IMAP answer's first line looked at (Dovecot's CAPABILITY code before "Logged in": ~300). */
const IMAP_LINE = 1024;
/**
 * The words servers answer a successful LOGIN or AUTHENTICATE with, in
 * lower case: Dovecot "Logged in", Cyrus "User logged in", UW and Exchange
 * "LOGIN completed" / "AUTHENTICATE completed", Courier "LOGIN Ok", Gmail
 * "... authenticated (Success)". Other commands' OKs say "completed" after
 * their own name (SELECT, LOGOUT, CAPABILITY).
 */
const IMAP_LOGGED_IN = [
  "logged in",
  "login completed",
  "authenticate completed",
  "login ok",
  "authenticated",
]
  .map((w) => bytes(w));

/**
 * A tagged OK whose text (after a response code in brackets, such as the
 * CAPABILITY list sent with a login) says the login succeeded
 * (IMAP_LOGGED_IN, any case), on any line of the answer's first IMAP_LINE
 * bytes: servers send the post-login CAPABILITY untagged just before it.
 */
function imapLoggedIn(data: Uint8Array, at: number, end: number): boolean {
  const stop = Math.min(end, at + IMAP_LINE);
  for (let line = at; line < stop;) {
    let p = line;
    while (p < stop && data[p] !== 0x20 && data[p] !== 0x0a) p++; // the tag
    if (
      data[line] !== 0x2a && p + 4 <= stop && data[p] === 0x20 && data[p + 1] === 0x4f &&
      data[p + 2] === 0x4b && data[p + 3] === 0x20
    ) {
      p += 4;
      if (data[p] === 0x5b) {
        while (p < stop && data[p] !== 0x5d && data[p] !== 0x0a) p++;
        p++;
      }
      return saysLoggedIn(data, p, Math.min(stop, p + 64));
    }
    while (p < stop && data[p] !== 0x0a) p++;
    line = p + 1;
  }
  return false;
}

/** Whether one of IMAP_LOGGED_IN occurs in `data[from, to)` before the line ends. */
function saysLoggedIn(data: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to && data[i] !== 0x0a; i++) {
    for (const word of IMAP_LOGGED_IN) {
      if (i + word.length > to) continue;
      let k = 0;
      while (k < word.length && (data[i + k] | 0x20) === word[k]) k++;
      if (k === word.length) return true;
    }
  }
  return false;
}

/**
 * LDAP (BER, RFC 4511): an LDAPMessage SEQUENCE (0x30, a length), its
 * messageID (INTEGER), then a BindResponse ([APPLICATION 1], 0x61, a
 * length) whose first element is the resultCode (ENUMERATED, 0x0a 0x01):
 * 0 success, 49 invalidCredentials. Lengths may take the long form
 * (OpenLDAP writes 0x84 and four bytes). Other operations say nothing.
 */
function ldapOutcome(data: Uint8Array, at: number, end: number): number {
  if (data[at] !== 0x30) return LOGIN_NONE;
  let p = skipLength(data, at + 1, end);
  if (p < 0 || p + 2 > end || data[p] !== 0x02 || data[p + 1] > 4) return LOGIN_NONE;
  p += 2 + data[p + 1];
  if (p >= end || data[p] !== 0x61) return LOGIN_NONE;
  p = skipLength(data, p + 1, end);
  if (p < 0 || p + 3 > end || data[p] !== 0x0a || data[p + 1] !== 1) return LOGIN_NONE;
  const code = data[p + 2];
  return code === 0 ? LOGIN_OK : code === 49 ? LOGIN_FAILED : LOGIN_NONE;
}

/** The offset after a BER length at `at` (short or long form), or -1. */
function skipLength(data: Uint8Array, at: number, end: number): number {
  if (at >= end) return -1;
  const first = data[at];
  if (first < 0x80) return at + 1;
  const bytes = first & 0x7f;
  return bytes === 0 || bytes > 4 || at + 1 + bytes > end ? -1 : at + 1 + bytes;
}

/** NT status codes of a refused SMB login (MS-ERREF): logon failure, wrong password, no such user, account locked out or disabled. */
const SMB_LOGIN_REFUSED = new Set([0xc000006d, 0xc000006a, 0xc0000064, 0xc0000234, 0xc0000072]);

/**
 * SMB over TCP 445: a NetBIOS session header (4 bytes), then an SMB2/3
 * header (0xFE "SMB": status at 8, command at 12, SESSION_SETUP is 1) or an
 * SMB1 one (0xFF "SMB": command at 4, SESSION_SETUP_ANDX is 0x73, status at
 * 5). A SESSION_SETUP answered with status 0 is a login (a guest or
 * anonymous one too); a refusal's status is a failed one; NTLM's
 * intermediate STATUS_MORE_PROCESSING_REQUIRED says nothing yet.
 */
function smbOutcome(data: Uint8Array, at: number, end: number): number {
  if (
    end - at < 4 + 16 || data[at] !== 0 || data[at + 5] !== 0x53 || data[at + 6] !== 0x4d ||
    data[at + 7] !== 0x42
  ) return LOGIN_NONE;
  const h = at + 4;
  let status: number;
  if (data[h] === 0xfe) {
    if (data[h + 12] !== 1 || data[h + 13] !== 0) return LOGIN_NONE;
    status = u32le(data, h + 8);
  } else if (data[h] === 0xff) {
    if (data[h + 4] !== 0x73) return LOGIN_NONE;
    status = u32le(data, h + 5);
  } else return LOGIN_NONE;
  return status === 0 ? LOGIN_OK : SMB_LOGIN_REFUSED.has(status) ? LOGIN_FAILED : LOGIN_NONE;
}

const u32le = (data: Uint8Array, at: number) =>
  (data[at] | (data[at + 1] << 8) | (data[at + 2] << 16) | (data[at + 3] << 24)) >>> 0;

/**
 * An FTP or SMTP reply at `at` (three digits, then a space or a hyphen):
 * LOGIN_FAILED for code `failed`, LOGIN_OK for code `ok`, else LOGIN_NONE.
 */
function replyOutcome(data: Uint8Array, at: number, failed: number, ok: number): number {
  const a = data[at] - 0x30, b = data[at + 1] - 0x30, c = data[at + 2] - 0x30;
  const after = data[at + 3];
  if (a < 0 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9 || (after !== 0x20 && after !== 0x2d)) {
    return LOGIN_NONE;
  }
  const code = a * 100 + b * 10 + c;
  return code === failed ? LOGIN_FAILED : code === ok ? LOGIN_OK : LOGIN_NONE;
}

/** Whether `word` occurs in the first WINDOW bytes from `at` (on the first line only if `firstLine`). */
function find(
  data: Uint8Array,
  at: number,
  end: number,
  word: Uint8Array,
  firstLine: boolean,
): boolean {
  const last = Math.min(end, at + WINDOW) - word.length;
  for (let i = at; i <= last; i++) {
    if (firstLine && data[i] === 0x0a) return false;
    let k = 0;
    while (k < word.length && data[i + k] === word[k]) k++;
    if (k === word.length) return true;
  }
  return false;
}
