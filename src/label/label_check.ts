/**
 * Whether an attack-window file belongs to the capture it labels: a file
 * whose windows match no flow (another run's labels, a clock off by hours)
 * would make every flow BENIGN, and a model trained on that learns attacks as
 * normal traffic. So nothing matching is an error, and an attack with no flow
 * is reported with the counts.
 */
import type { AttackWindow } from "./attack_windows.ts";
import { BENIGN_LABEL } from "./flow_labeller.ts";

/** Labels that match no flow of the capture they were given with. */
export class UnmatchedLabelsError extends Error {
  override name = "UnmatchedLabelsError";
}

/** What the windows matched. */
export interface LabelCoverage {
  /** Attack names with at least one flow. */
  matched: string[];
  /** Attack names whose windows matched no flow. */
  unmatched: string[];
  /** One line per unmatched attack, for a warning (empty when all matched). */
  warnings: string[];
}

/**
 * Checks `flowsByLabel` (flows per label after labelling) against `windows`;
 * throws {@link UnmatchedLabelsError} when there are windows and none of
 * them matched a flow. `labels` and `capture` name the files in messages.
 */
export function checkLabelCoverage(
  windows: readonly AttackWindow[],
  flowsByLabel: Readonly<Record<string, number>>,
  files: { labels: string; capture: string },
): LabelCoverage {
  const attacks = [...new Set(windows.map((w) => w.attack))];
  const matched = attacks.filter((a) => (flowsByLabel[a] ?? 0) > 0);
  const unmatched = attacks.filter((a) => !matched.includes(a));
  const flows = Object.values(flowsByLabel).reduce((sum, n) => sum + n, 0);
  if (windows.length > 0 && matched.length === 0) {
    const start = Math.min(...windows.map((w) => w.start));
    const end = Math.max(...windows.map((w) => w.end));
    throw new UnmatchedLabelsError(
      `${files.labels}: none of its ${windows.length} attack window(s) ` +
        `(${attacks.join(", ")}; ${iso(start)} to ${iso(end)}) matches any of the ` +
        `${flows} flows of ${files.capture}: every flow would be ${BENIGN_LABEL}. ` +
        `Are these the labels of this capture (same attacker addresses, same clock)?`,
    );
  }
  const warnings = unmatched.map((attack) => {
    const own = windows.filter((w) => w.attack === attack);
    return `${files.labels}: attack ${attack} (${own.length} window(s), attacker ` +
      `${[...new Set(own.map((w) => w.attacker))].join(", ")}) matches none of the ${flows} ` +
      `flows of ${files.capture}; the other attacks matched ` +
      matched.map((a) => `${a} ${flowsByLabel[a]}`).join(", ");
  });
  return { matched, unmatched, warnings };
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
