import assert from "node:assert/strict";
import { discordPayload, makeDigest, rfc5424, slackPayload, summaryLine } from "./message.ts";
import { numberedAlert as sampleAlert } from "../../tests/support/sample_alert.ts";

Deno.test("RFC 5424 line: PRI from facility and alert severity, EVE JSON as MSG", () => {
  const line = rfc5424(
    { type: "alert", alert: sampleAlert(1, 1) },
    16,
    "ids-sensor",
    "sensor-1",
    42,
  );
  const match = /^<(\d+)>1 (\S+) sensor-1 ids-sensor 42 alert - (.*)$/.exec(line);
  assert.ok(match, line);
  assert.equal(Number(match[1]), 16 * 8 + 2); // local0.crit
  assert.ok(!Number.isNaN(Date.parse(match[2])));
  assert.deepEqual(JSON.parse(match[3]), sampleAlert(1, 1));
});

Deno.test("digest counts by name and source; payloads carry the summary", () => {
  const held = [sampleAlert(1), sampleAlert(2), sampleAlert(1)];
  const digest = makeDigest(held, 7, 0, 60_000);
  assert.equal(digest.held_back, 7);
  assert.deepEqual(digest.by_name, [
    { name: "SYN port scan", class: "syn-scan", severity: 2, count: 3 },
  ]);
  assert.deepEqual(digest.top_sources[0], { src_ip: "10.0.0.2", count: 2 });
  const message = { type: "digest" as const, digest };
  assert.match(summaryLine(message), /^\[ids-sensor\] 7 more alerts held back/);
  const slack = slackPayload(message) as { text: string };
  assert.equal(slack.text, summaryLine(message));
  const discord = discordPayload({ type: "alert", alert: sampleAlert(3, 1) }) as {
    embeds: { title: string; color: number }[];
  };
  assert.equal(discord.embeds[0].title, "SYN port scan");
  assert.equal(discord.embeds[0].color, 0xd0312d);
});
