/**
 * Builds a training dataset straight from a capture: the flow meter's feature
 * rows (the very rows the sensor scores), labelled by attack windows
 * (src/label) or all BENIGN when there are none.
 */
import { FEATURE_SET } from "../features/mod.ts";
import {
  BENIGN_LABEL,
  createFlowLabeller,
  labelCapture,
  parseAttackWindows,
} from "../label/mod.ts";
import type { Dataset } from "./dataset.ts";

/** Meters and labels `capturePath`; `labelsText` is an attack-window CSV or undefined. */
export async function datasetFromCapture(
  capturePath: string,
  labelsText: string | undefined,
): Promise<Dataset> {
  const windows = labelsText ? parseAttackWindows(labelsText) : [];
  const labeller = createFlowLabeller(windows);
  const cols = FEATURE_SET.columns.length;
  const chunks: Float32Array[] = [];
  const labels: string[] = [];
  await labelCapture(capturePath, labeller, (batch, batchLabels) => {
    if (batch.width !== cols) {
      throw new Error(`flow meter width ${batch.width} differs from the feature set's ${cols}`);
    }
    // Batches are reused by the meter: copy the rows out.
    chunks.push(batch.features.slice(0, batch.count * cols));
    labels.push(...batchLabels);
  });
  const rows = labels.length;
  const x = new Float32Array(rows * cols);
  let offset = 0;
  for (const chunk of chunks) {
    x.set(chunk, offset);
    offset += chunk.length;
  }
  const classNames = [BENIGN_LABEL, ...new Set(labels.filter((l) => l !== BENIGN_LABEL))];
  const index = new Map(classNames.map((n, i) => [n, i]));
  const y = Int32Array.from(labels, (l) => index.get(l)!);
  const issues: Record<string, number> = {};
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      x[i] = 0;
      issues["non-finite value"] = (issues["non-finite value"] ?? 0) + 1;
    }
  }
  return {
    x,
    y,
    rows,
    cols,
    columnNames: FEATURE_SET.columns.map((c) => c.name),
    classNames,
    benignClass: 0,
    source: capturePath,
    issues,
  };
}
