import assert from "node:assert/strict";
import { exponentialBounds, Histogram, renderExposition } from "./exposition.ts";

Deno.test("exposition: HELP, TYPE, escaped labels, cumulative buckets", () => {
  const h = new Histogram([0.1, 1]);
  for (const v of [0.05, 0.5, 0.5, 7]) h.observe(v);
  const text = renderExposition([
    {
      name: "x_total",
      help: "a\\b\nc",
      type: "counter",
      samples: [{ labels: { who: 'say "hi"\n' }, value: 3 }],
    },
    { name: "lat_seconds", help: "latency", type: "histogram", histograms: [h.snapshot()] },
  ]);
  assert.equal(
    text,
    [
      "# HELP x_total a\\\\b\\nc",
      "# TYPE x_total counter",
      'x_total{who="say \\"hi\\"\\n"} 3',
      "# HELP lat_seconds latency",
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{le="0.1"} 1',
      'lat_seconds_bucket{le="1"} 3',
      'lat_seconds_bucket{le="+Inf"} 4',
      "lat_seconds_sum 8.05",
      "lat_seconds_count 4",
      "",
    ].join("\n"),
  );
  assert.deepEqual(exponentialBounds(1, 4, 3), [1, 4, 16]);
  assert.throws(() => new Histogram([1, 1]), /ascend/);
  assert.throws(
    () => renderExposition([{ name: "bad-name", help: "", type: "gauge", samples: [] }]),
    /bad metric name/,
  );
});
