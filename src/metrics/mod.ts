/**
 * Prometheus metrics of the sensor: the exposition format, the sensor's
 * metric families, a web-standard `(Request) => Response` handler for
 * `/metrics`, and the small server behind `--metrics ADDR:PORT`.
 *
 * ```ts
 * import { SensorMetrics, serveMetrics } from "./mod.ts";
 * const metrics = new SensorMetrics();
 * serveMetrics("127.0.0.1:9477", metrics.handler());
 * // runDetection({ ..., onProgress: (p) => metrics.update(p) })
 * ```
 */
export {
  exponentialBounds,
  EXPOSITION_CONTENT_TYPE,
  Histogram,
  type HistogramSample,
  type Labels,
  type MetricFamily,
  renderExposition,
  type Sample,
} from "./exposition.ts";
export { SensorMetrics, type SensorMetricsSources } from "./sensor_metrics.ts";
export { type MetricsServer, parseListenAddress, serveMetrics } from "./server.ts";
export { makeStatsEvent, type StatsEvent } from "./eve_stats.ts";
