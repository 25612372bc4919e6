import assert from "node:assert/strict";
import { formatLearnSummary } from "./learn.ts";

const SUMMARY = {
  bundleDir: "/tmp/learned",
  flows: 1200,
  heldOutFlows: 300,
  keptClassifier: "classifier",
  anomalyThreshold: 0.5,
  strongThreshold: 2,
  heldOutBenignFpr: 0.01,
  classGate: null,
  classThresholds: [],
  packetMembersNotCarried: [],
};

Deno.test("learn summary: packet members of the base bundle left out are named, with the remedy", () => {
  assert.doesNotMatch(formatLearnSummary(SUMMARY), /packet members/);
  const text = formatLearnSummary({
    ...SUMMARY,
    packetMembersNotCarried: ["lof@packet-sequence", "kitnet@afterimage"],
  });
  assert.match(
    text,
    /packet members of the base bundle not carried over \(lof@packet-sequence, kitnet@afterimage\)/,
  );
  assert.match(text, /train --base-bundle BUNDLE --packet-models LIST/);
});
