import assert from "node:assert/strict";
import { NotifyTargetError, parseNotifyTarget, redact } from "./target.ts";

Deno.test("smtp URL: credentials, recipients, STARTTLS, defaults", () => {
  const t = parseNotifyTarget(
    "smtp://alice:s%3Acret@mail.example:587?to=a@b.example,c@d.example&from=ids@x.example&starttls=1",
  );
  assert.equal(t.kind, "smtp");
  assert.deepEqual(t.smtp, {
    host: "mail.example",
    port: 587,
    user: "alice",
    pass: "s:cret",
    secure: false,
    starttls: "require",
    from: "ids@x.example",
    to: ["a@b.example", "c@d.example"],
  });
  assert.equal(t.label, "smtp://mail.example:587");
  assert.equal(t.minSeverity, 3);
  assert.deepEqual(t.rate, { count: 30, seconds: 60 });
  assert.throws(() => parseNotifyTarget("smtp://mail.example"), /needs to=ADDRESS/);
});

Deno.test("webhook URL keeps its own query, loses ours", () => {
  const t = parseNotifyTarget("https://siem.example/hook?token=abc&min_severity=high&rate=5/1m");
  assert.equal(t.kind, "webhook");
  assert.equal(t.endpoint, "https://siem.example/hook?token=abc");
  assert.equal(t.minSeverity, 1);
  assert.deepEqual(t.rate, { count: 5, seconds: 60 });
  assert.equal(t.label, "https://siem.example");
});

Deno.test("slack and discord: full and short forms, base override", () => {
  assert.equal(
    parseNotifyTarget("slack://hooks.slack.com/services/T0/B0/XYZ").endpoint,
    "https://hooks.slack.com/services/T0/B0/XYZ",
  );
  assert.equal(
    parseNotifyTarget("slack://T0/B0/XYZ").endpoint,
    "https://hooks.slack.com/services/T0/B0/XYZ",
  );
  assert.equal(
    parseNotifyTarget("discord://123/AbC").endpoint,
    "https://discord.com/api/webhooks/123/AbC",
  );
  const local = parseNotifyTarget("discord://123/AbC?base=http://127.0.0.1:8099");
  assert.equal(local.endpoint, "http://127.0.0.1:8099/api/webhooks/123/AbC");
  assert.throws(() => parseNotifyTarget("slack://T0/B0"), /whole webhook path/);
});

Deno.test("syslog URL: proto, facility, port default", () => {
  const t = parseNotifyTarget("syslog://127.0.0.1?proto=tcp&facility=daemon");
  assert.deepEqual(t.syslog, {
    host: "127.0.0.1",
    port: 514,
    proto: "tcp",
    facility: 3,
    appName: "ids-sensor",
  });
  assert.throws(() => parseNotifyTarget("syslog://h?proto=sctp"), /proto must be udp or tcp/);
});

Deno.test("bad URLs name the part that is wrong, without the password", () => {
  assert.throws(() => parseNotifyTarget("ftp://x"), /unknown scheme "ftp:"/);
  assert.throws(() => parseNotifyTarget("not a url"), NotifyTargetError);
  assert.throws(
    () => parseNotifyTarget("https://x.example?min_severity=urgent"),
    /min_severity must be high, medium, low or 1..3, got "urgent"/,
  );
  assert.throws(() => parseNotifyTarget("https://x.example?rate=0/60"), /rate must be N\/SECONDS/);
  try {
    parseNotifyTarget("smtp://bob:hunter2@h:25?starttls=maybe&to=a@b");
    assert.fail("accepted");
  } catch (error) {
    assert.match(String(error), /starttls must be 1 or 0/);
    assert.doesNotMatch(String(error), /hunter2/);
  }
  assert.equal(redact("smtp://bob:hunter2@h:25"), "smtp://bob:***@h:25");
});
