/**
 * Notifications against real servers on loopback: Postfix's smtp-sink takes
 * the alert e-mail (the test reads the dumped message back) and rsyslogd,
 * with a private configuration in the foreground, receives RFC 5424 messages
 * over UDP and TCP and parses them (app name, facility, severity, msgid).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createNotifier } from "../src/notify/mod.ts";
import { numberedAlert as sampleAlert } from "./support/sample_alert.ts";
import { isRoot, toolAvailable } from "./support/environment.ts";
import { freePort, until } from "./support/loopback.ts";

async function waitForPort(port: number, proto: "tcp" = "tcp") {
  await until(async () => {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port, transport: proto });
      c.close();
      return true;
    } catch {
      return false;
    }
  }, `a server on port ${port}`);
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, "").replace(
    /=([0-9A-F]{2})/g,
    (_, hex) => String.fromCharCode(parseInt(hex, 16)),
  );
  return new TextDecoder().decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
}

const quiet = { log: () => {}, retryDelaysMs: [50, 100], maxBackoffMs: 500 };
const smtpSink = "smtp-sink";
const haveSmtpSink = toolAvailable(smtpSink);
const haveRsyslog = toolAvailable("rsyslogd");
if (!haveSmtpSink) {
  console.log("skipping the e-mail test: smtp-sink missing (Debian package postfix)");
}
if (!haveRsyslog) {
  console.log("skipping the syslog test: rsyslogd missing (Debian package rsyslog)");
}

Deno.test({
  name: "e-mail: Postfix smtp-sink receives the alert and a digest, the body holds the EVE JSON",
  ignore: !haveSmtpSink,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "notify-smtp-" });
    await Deno.chmod(dir, 0o777); // smtp-sink drops to `nobody` when started as root
    const port = freePort();
    const sink = new Deno.Command(smtpSink, {
      args: [
        ...(isRoot() ? ["-u", "nobody"] : []),
        "-d",
        `${dir}/mail-%H%M%S.`,
        `127.0.0.1:${port}`,
        "10",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      await waitForPort(port);
      const notifier = await createNotifier(
        `smtp://127.0.0.1:${port}?to=soc@example.org&from=ids@example.org&rate=1/60`,
        { spoolDir: join(dir, "spool"), ...quiet },
      );
      notifier.write([sampleAlert(1, 1), sampleAlert(2, 2), sampleAlert(3, 2)]);
      await notifier.close(); // the held-back two become a digest, delivered before close returns
      const mails: string[] = [];
      await until(async () => {
        mails.length = 0;
        for await (const e of Deno.readDir(dir)) {
          if (e.name.startsWith("mail-")) mails.push(await Deno.readTextFile(join(dir, e.name)));
        }
        return mails.length === 2;
      }, "two mails");
      const alertMail = mails.find((m) => /X-Ids-Sensor-Event: alert/.test(m))!;
      const digestMail = mails.find((m) => /X-Ids-Sensor-Event: digest/.test(m))!;
      assert.match(alertMail, /X-Rcpt-Args: <soc@example.org>/);
      assert.match(alertMail, /Subject: \[ids-sensor\] sev1 SYN port scan/);
      const body = decodeQuotedPrintable(alertMail.split(/\r?\n\r?\n/).slice(1).join("\n\n"));
      const json = JSON.parse(body.slice(body.indexOf("{")));
      assert.deepEqual(json, sampleAlert(1, 1));
      assert.match(digestMail, /Subject: \[ids-sensor\] 2 more alerts held back/);
      assert.equal(notifier.stats().sent, 2);
    } finally {
      sink.kill("SIGTERM");
      await sink.status;
      await sink.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "syslog: rsyslogd parses RFC 5424 over UDP and TCP, EVE JSON as the message",
  ignore: !haveRsyslog,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "notify-rsyslog-" });
    const udp = freePort();
    const tcp = freePort();
    const out = join(dir, "received.log");
    await Deno.writeTextFile(
      join(dir, "rsyslog.conf"),
      `global(workDirectory="${dir}")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="${udp}")
input(type="imtcp" address="127.0.0.1" port="${tcp}")
template(name="fields" type="string"
  string="%app-name%|%msgid%|%syslogfacility-text%|%syslogseverity-text%|%inputname%|%msg%\\n")
action(type="omfile" file="${out}" template="fields")
`,
    );
    const daemon = new Deno.Command("rsyslogd", {
      args: ["-n", "-f", join(dir, "rsyslog.conf"), "-i", join(dir, "rsyslogd.pid")],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      await waitForPort(tcp);
      for (const [proto, port] of [["udp", udp], ["tcp", tcp]] as const) {
        const n = await createNotifier(`syslog://127.0.0.1:${port}?proto=${proto}`, {
          spoolDir: join(dir, "spool"),
          ...quiet,
        });
        n.write([sampleAlert(1, 1), sampleAlert(2, 3)]);
        await n.close();
        assert.equal(n.stats().sent, 2);
      }
      const lines: string[] = [];
      await until(async () => {
        try {
          lines.splice(0, lines.length, ...(await Deno.readTextFile(out)).trim().split("\n"));
        } catch { /* not written yet */ }
        return lines.length === 4;
      }, "four syslog lines");
      const parsed = lines.map((l) => {
        const [app, msgid, facility, severity, input, ...msg] = l.split("|");
        return { app, msgid, facility, severity, input, msg: JSON.parse(msg.join("|")) };
      });
      for (const input of ["imudp", "imtcp"]) {
        const got = parsed.filter((p) => p.input === input);
        assert.deepEqual(got.map((p) => [p.app, p.msgid, p.facility, p.severity]), [
          ["ids-sensor", "alert", "local0", "crit"],
          ["ids-sensor", "alert", "local0", "warning"],
        ]);
        assert.deepEqual(got[0].msg, sampleAlert(1, 1));
      }
    } finally {
      daemon.kill("SIGTERM");
      await daemon.status;
      await daemon.stdout.cancel();
      await daemon.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
