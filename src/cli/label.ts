/**
 * `ids-sensor label <capture> --labels labels.csv --out flows.csv`: the
 * `flows` CSV of a capture with a Label column, BENIGN or the attack name,
 * by the rule in src/label/flow_labeller.ts.
 */
import { type Command, Option } from "@commander-js/extra-typings";
import {
  checkLabelCoverage,
  createFlowLabeller,
  labelCapture,
  labelledFlowCsvHeader,
  labelledFlowCsvLines,
  parseAttackWindows,
} from "../label/mod.ts";
import { checkInputFile, openAtomicOutput, writeToPipe } from "./files.ts";
import { seconds } from "./options.ts";

/** Registers the `label` subcommand. */
export function registerLabel(program: Command): void {
  program
    .command("label")
    .description(
      "Meter a capture into flows and label each one from an attack-window file " +
        "(attacker,start,end,attack): a flow to or from an attacker that overlaps its window " +
        "gets the attack's name, every other flow BENIGN",
    )
    .argument("<capture>", "capture file (pcap or pcapng)")
    .requiredOption("--labels <file>", "attack windows CSV: attacker,start,end,attack")
    .option(
      "--out <file>",
      "write the labelled CSV here instead of stdout (replaced when complete)",
    )
    .addOption(
      new Option("--tolerance <seconds>", "widen every window by this much on both sides")
        .argParser(seconds("--tolerance")).default(0),
    )
    .action(async (capture, options) => {
      // Inputs and outputs first: nothing is metered (or truncated) before both are usable.
      await checkInputFile(capture, "capture file");
      await checkInputFile(options.labels, "labels file");
      const windows = parseAttackWindows(await Deno.readTextFile(options.labels));
      const labeller = createFlowLabeller(windows, { toleranceSeconds: options.tolerance });
      const output = options.out ? await openAtomicOutput(options.out) : null;
      const writer = (output?.writable ?? Deno.stdout.writable).getWriter();
      const encoder = new TextEncoder();
      let open = true;
      try {
        open = await writeToPipe(writer, encoder.encode(labelledFlowCsvHeader() + "\n"));
        const summary = await labelCapture(capture, labeller, async (batch, labels) => {
          if (open) {
            open = await writeToPipe(writer, encoder.encode(labelledFlowCsvLines(batch, labels)));
          }
        });
        writer.releaseLock();
        // Labels from another capture would make every flow BENIGN: refused, nothing replaced.
        const coverage = checkLabelCoverage(windows, summary.byLabel, {
          labels: options.labels,
          capture,
        });
        for (const warning of coverage.warnings) console.error(`warning: ${warning}`);
        if (output) await output.commit();
        else await Deno.stdout.writable.close().catch(() => {});
        if (!open) return;
        const counts = Object.entries(summary.byLabel).map(([k, n]) => `${k} ${n}`).join(", ");
        console.error(
          `${capture}: ${summary.flows} flows (${counts || "none"}); ` +
            `${windows.length} attack windows from ${options.labels}`,
        );
      } catch (error) {
        try {
          writer.releaseLock();
        } catch { /* already released */ }
        await output?.abort();
        throw error;
      }
    });
}
