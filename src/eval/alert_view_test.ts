/**
 * eval's alert-level view: flagged flows grouped per pair, protocol,
 * verdict, class and window as the evidence layer groups model votes, then
 * the sensor's vote rule (src/evidence/vote_rule.ts).
 */
import assert from "node:assert/strict";
import { alertView } from "./mod.ts";
import type { RowTimeline } from "./labelled_rows.ts";
import {
  type Decisions,
  VERDICT_BENIGN,
  VERDICT_KNOWN,
  VERDICT_UNKNOWN,
} from "../inference/mod.ts";

const B = VERDICT_BENIGN;
const K = VERDICT_KNOWN;
const U = VERDICT_UNKNOWN;
const CLIENT = "10.0.0.21 > 10.0.0.10";
const SCANNER = "10.0.0.66 > 10.0.0.10";
const EXPLOIT = "10.0.0.67 > 10.0.0.10";
const INJECTOR = "10.0.0.68 > 10.0.0.10";
const CLASSES = ["BENIGN", "DoS Hulk", "Web Attack \u2013 Sql Injection"];
const RULE = { minFlows: 3, strongThreshold: 3 };

/** Rows: (pair, verdict, class, score, episode, destination port, end second). */
type Row = [string, number, number, number, number, number, number];

function view(rows: Row[], rule: { minFlows: number; strongThreshold?: number } = RULE) {
  const n = rows.length;
  const end = Float64Array.from(rows, (r) => (60_000 + r[6]) * 1e6);
  const episode = Int32Array.from(rows, (r) => r[4]);
  const timeline: RowTimeline = {
    startMicros: end,
    endMicros: end,
    episode,
    pairs: rows.map((r) => r[0]),
    protocols: new Uint8Array(n).fill(6),
    dstPorts: Uint16Array.from(rows, (r) => r[5]),
    windows: [
      { attacker: "10.0.0.66", start: 60_001, end: 60_030, attack: "scan" },
      { attacker: "10.0.0.67", start: 60_001, end: 60_030, attack: "exploit" },
      { attacker: "10.0.0.68", start: 60_001, end: 60_030, attack: "sql-injection" },
    ],
  };
  const decisions: Decisions = {
    rows: n,
    verdict: Uint8Array.from(rows, (r) => r[1]),
    classIndex: Int16Array.from(rows, (r) => r[2]),
    score: Float32Array.from(rows, (r) => r[3]),
    threshold: new Float32Array(n).fill(1),
    nearestClass: new Int16Array(n).fill(-1),
  };
  const isAttack = Uint8Array.from(episode, (e) => (e >= 0 ? 1 : 0));
  return {
    timeline,
    decisions,
    isAttack,
    rule,
    result: () => alertView(timeline, decisions, isAttack, rule, CLASSES),
  };
}

Deno.test("alertView: single flows are kept back, even strongly anomalous ones; fan-out, repetition of strong anomalies and single-flow classes alert", () => {
  const rows: Row[] = [
    // A client: one weak unknown, one benign, one strong unknown (a stalled session) later on.
    [CLIENT, U, -1, 1.2, -1, 443, 1],
    [CLIENT, B, 0, 0.3, -1, 443, 2],
    [CLIENT, U, -1, 9, -1, 443, 100],
    // A scanner: weak unknowns to 12 ports (fan-out).
    ...Array.from({ length: 12 }, (_, k): Row => [SCANNER, U, -1, 1.1, 0, 1 + k, 3 + k]),
    // An exploit: two strong unknowns against one service.
    [EXPLOIT, U, -1, 5, 1, 80, 4],
    [EXPLOIT, U, -1, 4, 1, 80, 9],
    // SQL injection: one known flow of a class one flow can show.
    [INJECTOR, K, 2, 0.97, 2, 80, 5],
    // One flow of a behaviour class (a flood claimed from one flow) is not an alert.
    [CLIENT, K, 1, 0.99, -1, 80, 6],
  ];
  const v = view(rows).result()!;
  // Client: the weak and strong unknowns (two windows) and the lone DoS claim: all kept back.
  assert.deepEqual(v.benign, { groups: 3, alerted: 0, suppressedGroups: 3, suppressedFlows: 3 });
  assert.deepEqual(v.attack, { groups: 3, alerted: 3, suppressedGroups: 0, suppressedFlows: 0 });
  assert.deepEqual(v.episodes.map((e) => [e.attack, e.alerted, e.alertedGroups]), [
    ["scan", true, 1],
    ["exploit", true, 1],
    ["sql-injection", true, 1],
  ]);
  assert.equal(v.strongFlows, 2);
});

Deno.test("alertView: one strong flow of the exploit alone is kept back; without a strong threshold only fan-out and rate count", () => {
  const rows: Row[] = [
    [EXPLOIT, U, -1, 5, 1, 80, 4],
    ...Array.from({ length: 12 }, (_, k): Row => [SCANNER, U, -1, 1.1, 0, 1 + k, 3 + k]),
  ];
  const v = view(rows).result()!;
  assert.deepEqual(v.episodes.map((e) => e.alerted), [true, false, false]);
  const off = view([...rows, [EXPLOIT, U, -1, 5, 1, 80, 5]], { minFlows: 3 }).result()!;
  assert.equal(off.strongThreshold, null);
  assert.deepEqual(off.episodes.map((e) => e.alerted), [true, false, false]);
  // No address pairs (hand-built timelines): no alert view.
  const t = view(rows);
  assert.equal(
    alertView({ ...t.timeline, pairs: undefined }, t.decisions, t.isAttack, RULE, CLASSES),
    null,
  );
});
