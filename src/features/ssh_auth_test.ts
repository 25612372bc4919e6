import assert from "node:assert/strict";
import { LOGIN_FAILED, LOGIN_OK } from "./login_outcomes.ts";
import {
  LOGIN_OK_AFTER_FAILURES,
  SSH_CLIENT,
  SSH_CLIENT_NEWKEYS,
  SSH_CLIENT_NEWKEYS_DATA,
  SSH_SERVER,
  SSH_SERVER_NEWKEYS,
  SshAuthTracker,
  sshSegment,
} from "./ssh_auth.ts";

/** OpenSSH's NEWKEYS packet: length 12, 10 bytes of padding, message 21. */
const NEWKEYS = [0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

function mark(fromServer: boolean, bytes: number[], wire = bytes.length): number {
  const data = new Uint8Array([9, 9, ...bytes]);
  return sshSegment(fromServer, data, 2, data.length, wire);
}

Deno.test("ssh segments: NEWKEYS alone, NEWKEYS then encrypted bytes, and everything else", () => {
  assert.equal(mark(false, NEWKEYS), SSH_CLIENT_NEWKEYS);
  assert.equal(mark(false, [...NEWKEYS, 1, 2, 3, 4]), SSH_CLIENT_NEWKEYS_DATA);
  // Cut by the snap length: the wire length says more follows.
  assert.equal(mark(false, NEWKEYS, 60), SSH_CLIENT_NEWKEYS_DATA);
  assert.equal(mark(true, NEWKEYS), SSH_SERVER_NEWKEYS);
  assert.equal(mark(true, [...NEWKEYS, 7]), SSH_SERVER);
  // Not NEWKEYS: another message type, a padding that does not add up, a short segment.
  assert.equal(mark(false, [0, 0, 0, 12, 10, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), SSH_CLIENT);
  assert.equal(mark(false, [0, 0, 0, 12, 9, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), SSH_CLIENT);
  assert.equal(mark(false, [0, 0, 0, 12, 10]), SSH_CLIENT);
  assert.equal(mark(false, [...new TextEncoder().encode("SSH-2.0-OpenSSH_9.2\r\n")]), SSH_CLIENT);
});

/**
 * Feeds one connection as its payload sizes ("C44", "S76"; "CNK" is the
 * client's NEWKEYS segment) and returns the outcomes the tracker reported.
 */
function outcomes(tracker: SshAuthTracker, id: number, sequence: string): number[] {
  tracker.reset(id);
  const out: number[] = [];
  for (const step of sequence.trim().split(/\s+/)) {
    const o = step === "CNK"
      ? tracker.observe(id, SSH_CLIENT_NEWKEYS, 16)
      : tracker.observe(id, step[0] === "S" ? SSH_SERVER : SSH_CLIENT, Number(step.slice(1)));
    if (o !== 0) out.push(o);
  }
  return out;
}

// Payload sizes of real connections to OpenSSH 9.2 (tests/fixtures/ssh), in order.
const HANDSHAKE = "C41 S41 C1560 S1136 C1208 S1564 CNK";

Deno.test("ssh auth: hydra's guesses are failures, after the answer to the client's 'none' probe", () => {
  const tracker = new SshAuthTracker(4);
  const guesses = " C84 S76".repeat(6);
  assert.deepEqual(
    outcomes(tracker, 1, `${HANDSHAKE} C44 S44 C68 S76 ${guesses}`),
    Array(6).fill(LOGIN_FAILED),
  );
});

Deno.test("ssh auth: a key login is a success; keys refused before it are dropped as failures", () => {
  const tracker = new SshAuthTracker(4);
  const session = "C112 S776 S192 C112 S72 C36 S100 S36 S88 C36 C60";
  assert.deepEqual(
    outcomes(tracker, 0, `${HANDSHAKE} C44 S44 C68 S76 C140 S100 C308 S28 ${session}`),
    [LOGIN_OK],
  );
  // An agent offered three keys the server refused before the right one.
  const refused = " C140 S76".repeat(3);
  assert.deepEqual(
    outcomes(tracker, 2, `${HANDSHAKE} C44 S44 C68 S76 ${refused} C140 S100 C308 S28 ${session}`),
    [LOGIN_FAILED, LOGIN_FAILED, LOGIN_FAILED, LOGIN_OK_AFTER_FAILURES],
  );
  // AES-GCM: other sizes, the same structure (success one block under the accept).
  assert.deepEqual(
    outcomes(tracker, 3, `${HANDSHAKE} C52 S52 C68 S84 C148 S36 C120 S628 S52`),
    [LOGIN_OK],
  );
});

Deno.test("ssh auth: a login banner before the first failure is skipped", () => {
  const tracker = new SshAuthTracker(1);
  assert.deepEqual(
    outcomes(tracker, 0, `${HANDSHAKE} C44 S44 C60 S640 C148 S76 C148 S76 C148 S76`),
    [LOGIN_FAILED, LOGIN_FAILED],
  );
});

Deno.test("ssh auth: nothing before the client's encrypted data, and nothing past the answers it reads", () => {
  const tracker = new SshAuthTracker(2);
  // Without the client's NEWKEYS the server's segments are not answers.
  assert.deepEqual(outcomes(tracker, 0, "C41 S41 C1560 S1136 S44 S76 S76 S76"), []);
  // A session whose login was not recognised: its echoes of the failure's size stop counting.
  const echoes = " C36 S76".repeat(40);
  const seen = outcomes(tracker, 1, `${HANDSHAKE} C44 S44 C68 S76 C36 S90 ${echoes}`);
  assert.ok(seen.length < 10, `${seen.length} failures read from one session`);
  // A reused slot starts again.
  assert.deepEqual(outcomes(tracker, 1, `${HANDSHAKE} C44 S44 C68 S76 C84 S28`), [LOGIN_OK]);
});

Deno.test("ssh auth: a connection that ends on a failure without logging in counts its first failure too", () => {
  const tracker = new SshAuthTracker(3);
  // ncrack: one password a connection; the only answer sets the failure's size.
  assert.deepEqual(outcomes(tracker, 0, `${HANDSHAKE} C44 S44 C148 S76`), []);
  assert.equal(tracker.takeEndFailure(0), true);
  assert.equal(tracker.takeEndFailure(0), false, "once");
  // A login, with a failed "none" probe before it, ends on no failure.
  outcomes(tracker, 1, `${HANDSHAKE} C44 S44 C68 S76 C140 S100 C308 S28 C112 S776`);
  assert.equal(tracker.takeEndFailure(1), false);
  // A session past the answers read (its login not recognised) is not a failure either.
  outcomes(tracker, 2, `${HANDSHAKE} C44 S44 C68 S76 ${" C36 S76".repeat(12)}`);
  assert.equal(tracker.takeEndFailure(2), false);
  // Behind a login banner, one password a connection: the banner's segment carries the failure.
  assert.deepEqual(outcomes(tracker, 0, `${HANDSHAKE} C64 S64 C96 S672`), []);
  assert.equal(tracker.takeEndFailure(0), true);
  outcomes(tracker, 1, `${HANDSHAKE} C44 S44 C60 S640 C140 S100 C308 S28 C112 S776`);
  assert.equal(tracker.takeEndFailure(1), false);
  // A slot never given an SSH segment.
  assert.equal(new SshAuthTracker(1).takeEndFailure(0), false);
});
