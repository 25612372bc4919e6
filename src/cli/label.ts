/**
 * `ids-sensor label <capture> --labels labels.csv --out flows.csv`: the
 * `flows` CSV of a capture with a Label column, BENIGN or the attack name,
 * by the rule in src/label/flow_labeller.ts.
 */
import type { Command } from "@commander-js/extra-typings";
import {
  createFlowLabeller,
  labelCapture,
  labelledFlowCsvHeader,
  labelledFlowCsvLines,
  parseAttackWindows,
} from "../label/mod.ts";

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
    .option("--out <file>", "write the labelled CSV here instead of stdout")
    .option("--tolerance <seconds>", "widen every window by this much on both sides", "0")
    .action(async (capture, options) => {
      const tolerance = Number(options.tolerance);
      if (!(tolerance >= 0)) {
        throw new Error(`--tolerance must be >= 0 seconds, got "${options.tolerance}"`);
      }
      const windows = parseAttackWindows(await Deno.readTextFile(options.labels));
      const labeller = createFlowLabeller(windows, { toleranceSeconds: tolerance });
      const file = options.out
        ? await Deno.open(options.out, { write: true, create: true, truncate: true })
        : null;
      const writer = (file ?? Deno.stdout).writable.getWriter();
      const encoder = new TextEncoder();
      try {
        await writer.write(encoder.encode(labelledFlowCsvHeader() + "\n"));
        const summary = await labelCapture(capture, labeller, async (batch, labels) => {
          await writer.write(encoder.encode(labelledFlowCsvLines(batch, labels)));
        });
        const counts = Object.entries(summary.byLabel).map(([k, n]) => `${k} ${n}`).join(", ");
        console.error(
          `${capture}: ${summary.flows} flows (${counts || "none"}); ` +
            `${windows.length} attack windows from ${options.labels}`,
        );
      } finally {
        await writer.close().catch(() => {});
      }
    });
}
