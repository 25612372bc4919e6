/**
 * The public captures of ../shared/data/pcaps/chrissanders through the
 * sensor's engine with the bundled model, against the expectations and the
 * fixed development / held-out split of tests/fixtures/public_captures.json.
 * The ceilings are the figures measured when the split was first read
 * (README "Alerts"): a change that raises false alerts on either part, or
 * loses the SYN scan, fails here.
 */
import assert from "node:assert/strict";
import { measurePublicCaptures, PUBLIC_CAPTURES_DIR } from "../scripts/public_captures.ts";

const present = await Deno.stat(PUBLIC_CAPTURES_DIR).then(() => true, () => false);
if (!present) console.error(`public_captures_test: skipped, ${PUBLIC_CAPTURES_DIR} is absent`);

/**
 * Benign captures alerted, as measured with the committed bundled model and the vote rule that
 * needs a strong anomaly on two answered flows (development 0 of 48, held-out 0 of 13; one strong
 * flow alone alerting gave 2 and 1).
 */
const MEASURED_CEILING = { dev: 0, "held-out": 0 } as const;

Deno.test({
  name:
    "public captures: attacks named by behaviour, false alerts within the measured ceiling on both parts",
  ignore: !present,
  async fn() {
    const { results, summaries } = await measurePublicCaptures();
    for (const s of summaries) {
      console.error(
        `${s.split}: benign captures alerted ${s.benignAlerted}/${s.benignCaptures} ` +
          `(${(100 * s.falseAlertRate).toFixed(1)}%), attacks found ${s.attacksFound}/${s.attacks}`,
      );
      assert(
        s.benignAlerted <= MEASURED_CEILING[s.split],
        `${s.split}: ${s.benignAlerted} benign captures alerted, measured ceiling ` +
          `${MEASURED_CEILING[s.split]}: ` +
          results.filter((r) => r.split === s.split && r.kind === "benign" && r.alerts.length)
            .map((r) => `${r.file}: ${r.alerts.map((a) => a.alert.name).join(", ")}`).join("; "),
      );
      assert.equal(s.attacksFound, s.attacks, `${s.split}: an expected attack was not alerted`);
    }
    // A benign capture is never given a behaviour's name (scan, flood, brute force): at most an
    // unknown anomaly.
    for (const r of results.filter((r) => r.kind === "benign")) {
      for (const a of r.alerts) {
        assert.equal(a.alert.verdict, "unknown", `${r.file}: ${a.alert.name}`);
      }
    }
  },
});
