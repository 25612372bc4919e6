/**
 * Prometheus text exposition format (version 0.0.4): metric families with
 * HELP and TYPE lines, escaped label values, cumulative histogram buckets.
 * Nothing here knows about the sensor; sensor_metrics.ts fills it.
 */

/** Label names to values. */
export type Labels = Record<string, string>;

/** One counter or gauge sample. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** A family of samples sharing a name, help text and type. */
export type MetricFamily =
  | { name: string; help: string; type: "counter" | "gauge"; samples: Sample[] }
  | { name: string; help: string; type: "histogram"; histograms: HistogramSample[] };

/** One histogram (per label set): cumulative counts per upper bound. */
export interface HistogramSample {
  labels?: Labels;
  /** Upper bounds, ascending (without +Inf). */
  bounds: readonly number[];
  /** Observations at or below each bound (cumulative), then the +Inf count last. */
  cumulative: number[];
  sum: number;
  count: number;
}

/** A histogram that observes values into fixed buckets (no allocation per observation). */
export class Histogram {
  readonly #bounds: readonly number[];
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /** `bounds`: the bucket upper bounds, ascending. */
  constructor(bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i] > bounds[i - 1])) throw new RangeError("histogram bounds must ascend");
    }
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Records one value. */
  observe(value: number): void {
    let i = 0;
    while (i < this.#bounds.length && value > this.#bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += value;
    this.#count++;
  }

  /** The exposition view (cumulative counts). */
  snapshot(labels?: Labels): HistogramSample {
    const cumulative: number[] = [];
    let running = 0;
    for (const c of this.#counts) cumulative.push(running += c);
    return { labels, bounds: this.#bounds, cumulative, sum: this.#sum, count: this.#count };
  }
}

/** Bounds growing by `factor` from `start`, `count` of them (as Prometheus' ExponentialBuckets). */
export function exponentialBounds(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Number((start * factor ** i).toPrecision(6)));
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  for (const [k] of pairs) if (!LABEL.test(k)) throw new Error(`bad label name "${k}"`);
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

/** Renders families as the text format Prometheus scrapes. */
export function renderExposition(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name)) throw new Error(`bad metric name "${family.name}"`);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === "histogram") {
      for (const h of family.histograms) {
        h.bounds.forEach((bound, i) => {
          lines.push(
            `${family.name}_bucket${labelText(h.labels, ["le", formatValue(bound)])} ${
              h.cumulative[i]
            }`,
          );
        });
        lines.push(
          `${family.name}_bucket${labelText(h.labels, ["le", "+Inf"])} ${h.cumulative.at(-1)}`,
        );
        lines.push(`${family.name}_sum${labelText(h.labels)} ${formatValue(h.sum)}`);
        lines.push(`${family.name}_count${labelText(h.labels)} ${h.count}`);
      }
    } else {
      for (const s of family.samples) {
        lines.push(`${family.name}${labelText(s.labels)} ${formatValue(s.value)}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

/** The Content-Type of the text format. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
