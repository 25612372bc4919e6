import assert from "node:assert/strict";
import { checkLabelCoverage, UnmatchedLabelsError } from "./mod.ts";

const files = { labels: "labels.csv", capture: "capture.pcap" };
const windows = [
  { attacker: "10.66.0.66", start: 1718000012, end: 1718000031, attack: "syn-scan" },
  { attacker: "10.66.0.67", start: 1718000040, end: 1718000050, attack: "udp-scan" },
];

Deno.test("labels that match no flow are refused, naming both files and the counts", () => {
  assert.throws(
    () => checkLabelCoverage(windows, { BENIGN: 120 }, files),
    (error: unknown) => {
      assert.ok(error instanceof UnmatchedLabelsError);
      assert.match(error.message, /^labels.csv: none of its 2 attack window\(s\)/);
      assert.match(error.message, /syn-scan, udp-scan; 2024-06-10T06:13:32.000Z/);
      assert.match(error.message, /any of the 120 flows of capture.pcap/);
      return true;
    },
  );
});

Deno.test("an attack without flows is a warning; no windows is all-benign traffic", () => {
  const partial = checkLabelCoverage(windows, { BENIGN: 100, "syn-scan": 20 }, files);
  assert.deepEqual(partial.matched, ["syn-scan"]);
  assert.deepEqual(partial.unmatched, ["udp-scan"]);
  assert.equal(partial.warnings.length, 1);
  assert.match(partial.warnings[0], /udp-scan \(1 window\(s\), attacker 10.66.0.67\)/);
  assert.match(partial.warnings[0], /none of the 120 flows of capture.pcap.*syn-scan 20/);
  assert.deepEqual(checkLabelCoverage([], { BENIGN: 5 }, files).warnings, []);
});
