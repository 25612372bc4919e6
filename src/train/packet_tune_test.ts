/**
 * Packet-member tuning on the lab fixtures (real captures the range
 * recorded): attack packets labelled by their windows, trials ranked on the
 * search types, one type held out.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseAttackWindows } from "../label/mod.ts";
import { FAMILIES, type Family } from "./families/mod.ts";
import {
  evaluatePacketMember,
  memberTrainingSet,
  packetRowsFromCaptures,
  packetTuneSplit,
  tunePacketMember,
} from "./mod.ts";

const LAB = fileURLToPath(new URL("../../tests/fixtures/lab/", import.meta.url));
const CAPTURES = ["benign", "mixed", "slowloris", "http-brute-force"];

async function labelledRows() {
  return await packetRowsFromCaptures(
    CAPTURES.map((c) => `${LAB}${c}/capture.pcap`),
    ["packet-sequence"],
    {
      windows: await Promise.all(
        CAPTURES.map(async (c) =>
          parseAttackWindows(await Deno.readTextFile(`${LAB}${c}/labels.csv`))
        ),
      ),
    },
  );
}

Deno.test("packet rows with windows: attack packets set aside by type, benign ones split as before", async () => {
  const { sets, report } = await labelledRows();
  const rows = sets.get("packet-sequence")!;
  assert.deepEqual(report.attackTypes, ["syn-scan", "syn-flood", "slowloris", "http-brute-force"]);
  const attack = report.attackPackets.reduce((a, b) => a + b, 0);
  assert.ok(report.attackPackets.every((n) => n > 100), `${report.attackPackets}`);
  assert.equal(rows.attack!.rows, attack);
  assert.equal(
    rows.training.rows + rows.calibration.rows + attack + report.attackerPacketsOutside,
    report.packets,
  );
  assert.equal(rows.calibration.flow!.length, rows.calibration.rows);
  // Windows whose attackers are not in the capture: no attack packet, every packet benign.
  const benignOnly = await packetRowsFromCaptures([`${LAB}benign/capture.pcap`], ["packet"], {
    windows: [parseAttackWindows(await Deno.readTextFile(`${LAB}mixed/labels.csv`))],
  });
  const benignRows = benignOnly.sets.get("packet")!;
  assert.equal(benignRows.attack!.rows, 0);
  assert.equal(benignRows.training.rows + benignRows.calibration.rows, benignOnly.report.packets);
});

Deno.test("packet --tune: the chosen LOF beats a deliberately bad fixed one and the defaults on the search types", async () => {
  const { sets, report } = await labelledRows();
  const rows = sets.get("packet-sequence")!;
  const split = packetTuneSplit(rows, report.attackTypes, "http-brute-force");
  assert.deepEqual(split.search.map((t) => report.attackTypes[t]), [
    "syn-scan",
    "syn-flood",
    "slowloris",
  ]);
  const family = FAMILIES.lof as Family;
  const request = { family, set: "packet-sequence" as const, name: "lof@packet-sequence" };
  const options = { trials: 3, seed: 1, targetFpr: 0.001, minPackets: 3 };
  const result = await tunePacketMember(rows, request, split, options);
  assert.equal(result.trials.length, 3);
  assert.equal(result.heldOutType, "http-brute-force");
  // A reachability floor above every distance: every density equal, every packet scores 1.
  const bad = evaluatePacketMember(
    family.train(memberTrainingSet(rows), { minReach: 1e6 }, 1),
    rows,
    split,
    options,
  );
  assert.ok(
    result.chosen.score > bad.score,
    `chosen ${result.chosen.score} vs bad ${bad.score}`,
  );
  assert.ok(result.chosen.score >= result.defaults.score);
  // No more benign false alerts than the defaults.
  assert.ok(result.chosen.benignFlowVoteRate <= result.defaults.benignFlowVoteRate);
  assert.equal(result.chosenFrom, "trial");
  assert.ok(result.chosen.searchFlowDetection > 0.3, `${result.chosen.searchFlowDetection}`);
  // Every trial's threshold holds the packet false-positive target on held-out benign packets.
  for (const t of [result.defaults, ...result.trials]) assert.ok(t.benignPacketFpr <= 0.002);
  assert.equal(result.chosen.heldOut.type, "http-brute-force");
  assert.equal(result.chosen.heldOut.packets, report.attackPackets[3]);
});

Deno.test("packet --tune: one attack type is not enough, an unknown held-out type is refused", async () => {
  const { sets, report } = await packetRowsFromCaptures(
    [`${LAB}slowloris/capture.pcap`],
    ["packet"],
    { windows: [parseAttackWindows(await Deno.readTextFile(`${LAB}slowloris/labels.csv`))] },
  );
  assert.throws(
    () => packetTuneSplit(sets.get("packet")!, report.attackTypes),
    /at least two attack types .* has slowloris/,
  );
  const two = await labelledRows();
  assert.throws(
    () => packetTuneSplit(two.sets.get("packet-sequence")!, two.report.attackTypes, "udp-scan"),
    /--packet-holdout "udp-scan" has no attack packets/,
  );
});
