/** The terminal form of an evaluation summary. */
import { formatReport } from "../train/mod.ts";
import type { EvalSummary } from "./evaluate.ts";

const pct = (v: number | null) => v === null ? "n/a" : `${(100 * v).toFixed(2)}%`;
const num = (v: number | null, digits = 4) => v === null ? "n/a" : v.toFixed(digits);

/** A confusion matrix as an aligned text table (all-zero true rows of pseudo-classes left out). */
export function formatConfusion(names: readonly string[], confusion: number[][]): string {
  const width = Math.max("true \\ predicted".length, ...names.map((n) => n.length));
  const cell = Math.max(
    6,
    ...names.map((n) => n.length),
    ...confusion.flat().map((v) => String(v).length),
  );
  const lines = [
    `${"true \\ predicted".padEnd(width)}  ${names.map((n) => n.padStart(cell)).join(" ")}`,
  ];
  confusion.forEach((row, i) => {
    if (row.every((v) => v === 0)) return;
    lines.push(`${names[i].padEnd(width)}  ${row.map((v) => String(v).padStart(cell)).join(" ")}`);
  });
  return lines.join("\n");
}

/** Everything in the summary, as text. */
export function formatEvalText(s: EvalSummary): string {
  const out: string[] = [];
  out.push(
    `eval ${s.source}: ${s.rows} rows (benign ${s.benignRows}, attack ${s.attackRows}) ` +
      `with model ${s.model.dir}`,
  );
  out.push(
    `verdicts: benign ${s.verdicts.benign}, known ${s.verdicts.known}, unknown ${s.verdicts.unknown}` +
      (s.model.classThresholdOverride !== null
        ? ` (class threshold ${s.model.classThresholdOverride})`
        : ""),
  );
  const issues = Object.entries(s.issues).map(([k, n]) => `${k}: ${n}`);
  if (issues.length) out.push(`input issues: ${issues.join(", ")}`);
  out.push("");
  out.push(
    `binary view (attack = any non-benign verdict): accuracy ${num(s.binaryAccuracy)}, ` +
      `benign false-positive rate ${pct(s.benignFalsePositiveRate)}, detection rate ${
        pct(s.detectionRate)
      }`,
  );
  const attack = s.binary.perClass[1];
  out.push(
    `  attack precision ${num(attack.precision)}, recall ${num(attack.recall)}, F1 ${
      num(attack.f1)
    }`,
  );
  if (s.anomaly) {
    out.push(
      `anomaly score: ROC-AUC ${num(s.anomaly.rocAuc)}, threshold ${
        s.anomaly.threshold.toPrecision(4)
      }, ` +
        `benign above ${pct(s.anomaly.benignAboveThreshold)}, attack above ${
          pct(s.anomaly.attackAboveThreshold)
        }`,
    );
  } else out.push("anomaly score: the bundle has no anomaly model");
  if (s.classGate) {
    const g = s.classGate;
    out.push(
      `class gate (open set): ${g.gatedToUnknown} verdicts turned from known into unknown; ` +
        `genuine claims of known attack classes rejected ${g.genuineRejected}/${g.genuineClaims} ` +
        `(${pct(g.genuineRejectionRate)})`,
    );
  }
  out.push("");
  out.push(
    "multi-class view (known verdicts by class; unknown counts as detected for attacks the model was not trained on):",
  );
  out.push(formatReport(s.multiClass));
  out.push("");
  out.push("confusion matrix (rows: true label, columns: verdict):");
  out.push(formatConfusion(s.multiClassNames, s.multiClass.confusion));
  out.push("");
  out.push("verdicts by true label:");
  for (const b of s.byLabel) {
    const knownAs = Object.entries(b.knownAs).map(([k, n]) => `${k} ${n}`).join(", ");
    out.push(
      `  ${b.label} (${b.modelClass === null ? "not in model" : `model class ${b.modelClass}`}): ` +
        `${b.rows} rows, benign ${b.benign}, known ${b.known}${knownAs ? ` (${knownAs})` : ""}, ` +
        `unknown ${b.unknown}${gatedText(b)}`,
    );
  }
  if (s.episodes) {
    out.push("");
    out.push("attack episodes (labels file windows):");
    if (s.episodes.length === 0) out.push("  none");
    for (const e of s.episodes) {
      out.push(
        `  ${e.attack} from ${e.attacker} ${new Date(e.start * 1000).toISOString()} ` +
          `(${(e.end - e.start).toFixed(1)} s): ${e.flows} flows, ${e.flagged} flagged ` +
          `(known ${e.knownVerdicts}, unknown ${e.unknownVerdicts}); ` +
          (e.alerted
            ? `first flagged flow ended ${e.detectionDelaySeconds!.toFixed(2)} s after the start`
            : "NOT alerted (no flow flagged)") +
          (e.timeToAlertSeconds === undefined
            ? ""
            : e.timeToAlertSeconds === null
            ? "; NO alert"
            : `; first alert ("${e.firstAlertName}") ${
              e.timeToAlertSeconds.toFixed(2)
            } s after its first packet`) +
          (e.timeToBehaviourSeconds === undefined || e.behaviourName === e.firstAlertName
            ? ""
            : e.timeToBehaviourSeconds === null
            ? "; never named by a behaviour"
            : `; named "${e.behaviourName}" ${
              e.timeToBehaviourSeconds.toFixed(2)
            } s after its first packet`),
      );
    }
  }
  if (s.alerts) {
    const a = s.alerts;
    const strong = a.strongThreshold === null
      ? ""
      : `, or (anomaly-only) ${a.strongFlows} flows scoring >= ${a.strongThreshold.toPrecision(4)}`;
    const rule = `a group needs a class one flow can show, ${a.minUnknownFlows} flows with ` +
      `fan-out or rate${strong}`;
    const line = (c: typeof a.benign) =>
      `${c.groups} groups, ${c.alerted} alerted under the rule` +
      (c.suppressedGroups ? ` (${c.suppressedGroups} kept back, ${c.suppressedFlows} flows)` : "");
    out.push("");
    out.push(`alert level (${a.windowSeconds} s windows per source > target; rule: ${rule}):`);
    out.push(`  benign traffic: ${line(a.benign)}`);
    out.push(`  attack traffic: ${line(a.attack)}`);
    for (const e of a.episodes) {
      out.push(
        `  ${e.attack} from ${e.attacker}: ${e.alertedGroups}/${e.groups} alert groups kept; ` +
          (e.alerted
            ? "alerted"
            : e.alertedWithoutRule
            ? "NOT alerted under the rule"
            : "NOT alerted"),
      );
    }
  }
  return out.join("\n");
}

/** " (gate: looks like X n, ...)" for labels with gated unknown verdicts. */
function gatedText(b: EvalSummary["byLabel"][number]): string {
  if (b.gatedUnknown === 0) return "";
  const nearest = Object.entries(b.nearestAs).map(([k, n]) => `${k} ${n}`).join(", ");
  return ` (${b.gatedUnknown} by the class gate; claimed as ${nearest})`;
}
