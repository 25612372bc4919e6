/**
 * Records the larger dataset the bundled model is trained on: several runs of
 * every scenario at normal intensity, each in its own folder with capture,
 * labels and manifest, plus the labelled flows CSV of each run and an index.
 * The output lives outside git (default /var/tmp/ids-sensor-dataset).
 *
 *   deno run -A scripts/lab/record_dataset.ts [--out DIR] [--seconds N] [--rounds R] [--seed S]
 *
 * Every run is audited (each attack window holds its attacker's flows, no
 * benign client carries an attack label); a run that fails the audit is
 * reported and left out of the index.
 */
import { parseArgs } from "node:util";
import { flowRecordAt } from "../../src/features/mod.ts";
import {
  auditAttackTimeline,
  createFlowLabeller,
  labelCapture,
  type LabelledFlow,
  labelledFlowCsvHeader,
  labelledFlowCsvLines,
  parseAttackWindows,
} from "../../src/label/mod.ts";
import { CLIENTS, runLab, SCENARIOS } from "../../src/lab/mod.ts";

/** One recorded run in the dataset index. */
interface DatasetRun {
  dir: string;
  scenario: string;
  seed: number;
  seconds: number;
  packets: number;
  flows: number;
  byLabel: Record<string, number>;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    options: {
      out: { type: "string", default: "/var/tmp/ids-sensor-dataset" },
      seconds: { type: "string", default: "120" },
      rounds: { type: "string", default: "2" },
      seed: { type: "string", default: "20240601" },
      intensity: { type: "string", default: "1" },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const baseSeed = Number(values.seed);
  const intensity = Number(values.intensity);
  const index: DatasetRun[] = [];
  const failures: string[] = [];
  // The attack scenarios once per round, and mixed/benign runs twice as long.
  for (let round = 0; round < rounds; round++) {
    for (const [i, scenario] of SCENARIOS.entries()) {
      const runSeconds = scenario.name === "mixed" || scenario.name === "benign"
        ? seconds * 2
        : seconds;
      const seed = baseSeed + round * 100 + i;
      const dir = `${values.out}/${String(round).padStart(2, "0")}-${scenario.name}`;
      const { manifest, capturePath, labelsPath } = await runLab({
        scenario: scenario.name,
        seconds: runSeconds,
        outDir: dir,
        seed,
        intensity,
      });
      const windows = parseAttackWindows(await Deno.readTextFile(labelsPath));
      const flows: LabelledFlow[] = [];
      const csv = await Deno.open(`${dir}/flows.csv`, {
        write: true,
        create: true,
        truncate: true,
      });
      const writer = csv.writable.getWriter();
      const encoder = new TextEncoder();
      await writer.write(encoder.encode(labelledFlowCsvHeader() + "\n"));
      const summary = await labelCapture(capturePath, createFlowLabeller(windows), async (b, l) => {
        for (let k = 0; k < b.count; k++) {
          const r = flowRecordAt(b, k);
          flows.push({
            srcIp: r.srcIp,
            dstIp: r.dstIp,
            startMicros: r.startMicros,
            endMicros: r.endMicros,
            label: l[k],
          });
        }
        await writer.write(encoder.encode(labelledFlowCsvLines(b, l)));
      });
      await writer.close();
      const audit = auditAttackTimeline(flows, windows, CLIENTS.map((c) => c.ip));
      if (audit.problems.length > 0) {
        failures.push(`${dir}: ${audit.problems.join("; ")}`);
        console.error(`[dataset] ${dir} failed the audit:\n  ${audit.problems.join("\n  ")}`);
        continue;
      }
      index.push({
        dir,
        scenario: scenario.name,
        seed,
        seconds: runSeconds,
        packets: manifest.packets.inFile,
        flows: summary.flows,
        byLabel: summary.byLabel,
      });
      console.error(`[dataset] ${dir}: ${summary.flows} flows ${JSON.stringify(summary.byLabel)}`);
    }
  }
  await Deno.writeTextFile(
    `${values.out}/index.json`,
    JSON.stringify({ runs: index, failures, createdAt: new Date().toISOString() }, null, 2) + "\n",
  );
  console.log(
    `${index.length} runs in ${values.out}/index.json, ${failures.length} failed the audit`,
  );
  if (failures.length > 0) Deno.exitCode = 1;
}
