/**
 * What ships inside the project (and the compiled binary): the default model
 * bundle and the demo capture, resolved against this file so that
 * `deno compile --include models` finds them too.
 */
import { fileURLToPath } from "node:url";

/** The bundled model, trained on the range's data by scripts/train_default_model.ts. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL("../../models/default", import.meta.url));
/** A range capture the model never saw, for `analyze` with no file. */
export const DEMO_CAPTURE = fileURLToPath(
  new URL("../../models/demo/capture.pcap", import.meta.url),
);
