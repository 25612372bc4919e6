/**
 * Field values every alert line is written with, whoever makes the line
 * (the aggregator's groups, the packet monitors' findings): times, the
 * aggregation window, and rounded numbers.
 */

/** ISO 8601 UTC with milliseconds of a time in microseconds since the epoch. */
export function isoTime(micros: number): string {
  return new Date(micros / 1000).toISOString();
}

/** The whole windows of `windowMicros` that hold [first, last] (at least one). */
export function alertWindow(first: number, last: number, windowMicros: number) {
  const start = Math.floor(first / windowMicros) * windowMicros;
  const end = Math.max(start + windowMicros, Math.ceil(last / windowMicros) * windowMicros);
  return { start: isoTime(start), end: isoTime(end), seconds: (end - start) / 1e6 };
}

/** Six significant digits: enough to read, short in JSON. */
export function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : 0;
}
