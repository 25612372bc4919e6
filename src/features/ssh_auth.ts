/**
 * SSH login outcomes from encrypted traffic, by the sizes of the server's
 * segments (Zeek's heuristic, src/analyzer/protocol/ssh/SSH.cc): once the
 * client sends encrypted data (after its NEWKEYS), the server's first
 * segment answers its service request (SERVICE_ACCEPT "ssh-userauth"); a
 * segment one cipher block (16 bytes) shorter is USERAUTH_SUCCESS; the
 * first other segment is a USERAUTH_FAILURE (the answer to the "none"
 * probe every client starts with), and each later segment of that size is
 * one more failed attempt.
 *
 * Without it, password guessing and automation (Ansible, monitoring, git
 * over SSH: many short sessions that all log in) look alike, and hydra
 * against OpenSSH (five guesses per connection, a PAM delay each) opens
 * too few connections for the connection rule. A flow whose login then
 * succeeds drops its failures (keys an agent offered before the right one
 * are not guesses).
 *
 * State is one u32 per flow slot, allocated with the first SSH segment.
 */
import { LOGIN_FAILED, LOGIN_OK } from "./login_outcomes.ts";

/** The server port whose segments are read. */
export const SSH_PORT = 22;

/** What a segment is, as the flow meter marks it (DecodedPacket.sshSegment). */
export const SSH_NONE = 0,
  SSH_SERVER = 1,
  SSH_CLIENT = 2,
  /** A client segment that is a NEWKEYS packet and nothing more. */
  SSH_CLIENT_NEWKEYS = 3,
  /** A client segment that starts with NEWKEYS and carries encrypted bytes after it. */
  SSH_CLIENT_NEWKEYS_DATA = 4,
  /** A server segment that is its NEWKEYS packet alone (not an answer to count). */
  SSH_SERVER_NEWKEYS = 5;

/** observe(): a login that succeeded after failed attempts on the same connection. */
export const LOGIN_OK_AFTER_FAILURES = 3;

/** SSH_MSG_NEWKEYS. */
const MSG_NEWKEYS = 21;

/**
 * Marks a TCP segment with payload to or from SSH_PORT: `data[at, end)` is
 * its captured payload, `bytes` its length on the wire. A NEWKEYS packet is
 * looked for only at the segment's start (packet_length, padding_length,
 * message 21, the padding): the client sends it when the server's key
 * exchange reply arrives, so it never trails other data.
 */
export function sshSegment(
  fromServer: boolean,
  data: Uint8Array,
  at: number,
  end: number,
  bytes: number,
): number {
  const newkeys = newkeysBytes(data, at, end);
  if (fromServer) return newkeys === bytes ? SSH_SERVER_NEWKEYS : SSH_SERVER;
  if (newkeys === 0) return SSH_CLIENT;
  return newkeys === bytes ? SSH_CLIENT_NEWKEYS : SSH_CLIENT_NEWKEYS_DATA;
}

/** Bytes of the NEWKEYS packet that starts `data[at, end)`, or 0. */
function newkeysBytes(data: Uint8Array, at: number, end: number): number {
  if (end - at < 6) return 0;
  const length = ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>>
    0;
  const padding = data[at + 4];
  // packet_length covers padding_length, the message byte and the padding (RFC 4253 6).
  if (data[at + 5] !== MSG_NEWKEYS || length !== padding + 2 || padding < 4) return 0;
  if ((length + 4) % 8 !== 0) return 0;
  return length + 4;
}

// The state word of a flow: flags, the two sizes, and the server's answers counted since the accept.
const CLIENT_NEWKEYS = 1, CLIENT_ENCRYPTED = 2, BANNER_SKIPPED = 4, DECIDED = 8;
/** The login succeeded; the server's latest answer was a failure; a failure was counted. */
const SUCCEEDED = 16, LAST_FAILED = 32, FAILED_BEFORE = 64;
const ACCEPT_SHIFT = 7, FAILURE_SHIFT = 17, SIZE_MASK = 0x3ff;
const ANSWERS_SHIFT = 27, ANSWER = 1 << ANSWERS_SHIFT;
/**
 * Server segments after the accept read at most: OpenSSH closes after 6
 * failed attempts (MaxAuthTries), so a login is decided well within this;
 * past it the flow is a session whose login this did not recognise, and
 * its traffic must not pass for failures. One connection so reports at
 * most 9 failures (8, and one at its end: takeEndFailure), under the
 * brute-force limit of 10 (behaviours.ts).
 */
const MAX_ANSWERS = 9;
/** Zeek's cut between a failure and a login banner shown before it. */
const BANNER_MIN_EXTRA = 256;
/** One cipher block: SERVICE_ACCEPT "ssh-userauth" against a one-byte USERAUTH_SUCCESS. */
const SUCCESS_SHORTER = 16;

/** Per-flow state of the heuristic above, for a table's flow slots. */
export class SshAuthTracker {
  #state: Uint32Array | null = null;

  constructor(private readonly capacity: number) {}

  /** Bytes of state (0 until the first SSH segment). */
  get bytes(): number {
    return this.#state?.byteLength ?? 0;
  }

  /** A new flow in slot `id` starts with no state. */
  reset(id: number): void {
    if (this.#state !== null) this.#state[id] = 0;
  }

  /**
   * Takes a marked segment of flow `id` (`bytes` of payload): LOGIN_FAILED
   * or LOGIN_OK when the server's segment said so, LOGIN_OK_AFTER_FAILURES
   * when the login followed failed attempts (the caller drops them), else 0.
   */
  observe(id: number, mark: number, bytes: number): number {
    const state = this.#state ??= new Uint32Array(this.capacity);
    let s = state[id];
    if (s & DECIDED) return 0;
    if (mark !== SSH_SERVER) {
      if (mark === SSH_CLIENT_NEWKEYS) s |= CLIENT_NEWKEYS;
      else if (mark === SSH_CLIENT_NEWKEYS_DATA || (mark === SSH_CLIENT && s & CLIENT_NEWKEYS)) {
        s |= CLIENT_ENCRYPTED;
      }
      state[id] = s;
      return 0;
    }
    if (!(s & CLIENT_ENCRYPTED)) return 0;
    const accept = (s >>> ACCEPT_SHIFT) & SIZE_MASK;
    if (accept === 0) {
      // Sizes past the field are not the short messages this reads: give up on the flow.
      state[id] = bytes > SIZE_MASK ? s | DECIDED : s | (bytes << ACCEPT_SHIFT);
      return 0;
    }
    if (s >>> ANSWERS_SHIFT >= MAX_ANSWERS) {
      // A session, not a login that failed.
      state[id] = (s | DECIDED) & ~LAST_FAILED;
      return 0;
    }
    s = (s + ANSWER) & ~LAST_FAILED;
    if (bytes + SUCCESS_SHORTER === accept) {
      state[id] = s | DECIDED | SUCCEEDED;
      return (s & FAILED_BEFORE) ? LOGIN_OK_AFTER_FAILURES : LOGIN_OK;
    }
    const failure = (s >>> FAILURE_SHIFT) & SIZE_MASK;
    if (failure === 0) {
      if (!(s & BANNER_SKIPPED) && bytes - accept > BANNER_MIN_EXTRA) {
        // The banner comes in one segment with the answer to the first attempt: a connection
        // that ends on it did not log in (one that did would carry on past it).
        state[id] = s | BANNER_SKIPPED | LAST_FAILED;
      } else {
        state[id] = bytes > SIZE_MASK ? s | DECIDED : s | (bytes << FAILURE_SHIFT) | LAST_FAILED;
      }
      return 0;
    }
    if (bytes !== failure) {
      state[id] = s;
      return 0;
    }
    state[id] = s | FAILED_BEFORE | LAST_FAILED;
    return LOGIN_FAILED;
  }

  /**
   * True, once, when flow `id` ends (its first FIN or RST, or its end)
   * right after a failure answer without logging in: then the answer that
   * only set the failure's size (the first) was a failed attempt too, and
   * the caller counts it. A guesser that tries one password a connection
   * (ncrack, paramiko's bots) shows nothing else; a client's "none" probe
   * is answered with a failure too, but a client that then logs in or
   * carries on a session does not end on it.
   */
  takeEndFailure(id: number): boolean {
    const state = this.#state;
    if (state === null) return false;
    const s = state[id];
    if ((s & (LAST_FAILED | SUCCEEDED)) !== LAST_FAILED) return false;
    state[id] = (s | DECIDED) & ~LAST_FAILED;
    return true;
  }
}
