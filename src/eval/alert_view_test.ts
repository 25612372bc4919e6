/**
 * eval's alert-level view: flagged flows grouped per pair, verdict, class
 * and window as the aggregator groups them, then the unknown rule.
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
const FLOODER = "10.0.0.68 > 10.0.0.10";

Deno.test("alertView: a weak single benign flow is kept back; every attack episode stays alerted", () => {
  // rows: client (1 weak unknown, 1 benign), scanner (3 weak unknowns),
  // exploit (1 strong unknown), flooder (2 known), then a second client window.
  const pairs = [CLIENT, CLIENT, SCANNER, SCANNER, SCANNER, EXPLOIT, FLOODER, FLOODER, CLIENT];
  const verdict = Uint8Array.from([U, B, U, U, U, U, K, K, U]);
  const score = Float32Array.from([1.2, 0.3, 1.1, 1.2, 1.3, 5, 0.99, 0.99, 1.5]);
  const episode = Int32Array.from([-1, -1, 0, 0, 0, 1, 2, 2, -1]);
  const end = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 100], (s) => (60_000 + s) * 1e6);
  const rows = pairs.length;
  const timeline: RowTimeline = {
    startMicros: end,
    endMicros: end,
    episode,
    pairs,
    windows: [
      { attacker: "10.0.0.66", start: 60_003, end: 60_005, attack: "scan" },
      { attacker: "10.0.0.67", start: 60_006, end: 60_006, attack: "exploit" },
      { attacker: "10.0.0.68", start: 60_007, end: 60_008, attack: "flood" },
    ],
  };
  const decisions: Decisions = {
    rows,
    verdict,
    classIndex: Int16Array.from(verdict, (v) => (v === K ? 1 : -1)),
    score,
    threshold: new Float32Array(rows).fill(1),
  };
  const isAttack = Uint8Array.from(episode, (e) => (e >= 0 ? 1 : 0));
  const view = alertView(timeline, decisions, isAttack, { minFlows: 3, strongThreshold: 3 })!;
  // Two client groups (the two windows), both weak single flows.
  assert.deepEqual(view.benign, { groups: 2, alerted: 0, suppressedGroups: 2, suppressedFlows: 2 });
  assert.deepEqual(view.attack, { groups: 3, alerted: 3, suppressedGroups: 0, suppressedFlows: 0 });
  assert.deepEqual(view.episodes.map((e) => [e.attack, e.alerted, e.alertedGroups]), [
    ["scan", true, 1],
    ["exploit", true, 1],
    ["flood", true, 1],
  ]);
  // Without a strong threshold the rule is off: everything flagged is alerted.
  const off = alertView(timeline, decisions, isAttack, { minFlows: 3 })!;
  assert.equal(off.strongThreshold, null);
  assert.equal(off.benign.alerted, 2);
  // A gated unknown (nearest class set) is never kept back.
  decisions.nearestClass = Int16Array.from(pairs, (_, r) => (r === 0 ? 1 : -1));
  const gated = alertView(timeline, decisions, isAttack, { minFlows: 3, strongThreshold: 3 })!;
  assert.equal(gated.benign.alerted, 1);
  // No address pairs (hand-built timelines): no alert view.
  assert.equal(
    alertView({ ...timeline, pairs: undefined }, decisions, isAttack, { minFlows: 3 }),
    null,
  );
});
