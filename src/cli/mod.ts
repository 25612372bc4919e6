/** The command line: one commander program, one module per subcommand. */
import { Command } from "@commander-js/extra-typings";
import { registerCapture } from "./capture.ts";
import { registerConfig } from "./config.ts";
import { registerDetect } from "./detect.ts";
import { registerEval } from "./eval.ts";
import { registerFeatures } from "./features.ts";
import { registerFlows } from "./flows.ts";
import { registerInterfaces } from "./interfaces.ts";
import { registerLab } from "./lab.ts";
import { registerLabel } from "./label.ts";
import { registerLearn } from "./learn.ts";
import { registerServe } from "./serve.ts";
import { registerPublishModel, registerScoreWorker } from "./fleet.ts";
import { registerTrain } from "./train.ts";
import { EXIT_CODES_HELP } from "./exit.ts";

export { EXIT, exitCodeOf, reportError } from "./exit.ts";

/** Builds the `ids-sensor` program with every subcommand registered. */
export function buildCli() {
  const program = new Command()
    .name("ids-sensor")
    .description("Network intrusion detection sensor: capture, flow features, detection, alerts")
    .version("0.1.0")
    // Commander's own usage errors are thrown (exit 64 in main.ts), not exited with 1.
    .exitOverride()
    .addHelpText("after", EXIT_CODES_HELP);
  registerDetect(program);
  registerFlows(program);
  registerInterfaces(program);
  registerCapture(program);
  registerFeatures(program);
  registerLab(program);
  registerLabel(program);
  registerTrain(program);
  registerEval(program);
  registerConfig(program);
  registerLearn(program);
  registerServe(program);
  registerScoreWorker(program);
  registerPublishModel(program);
  return program;
}
