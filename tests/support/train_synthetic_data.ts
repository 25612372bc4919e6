/** Small synthetic labelled tables for the training tests (no real data needed). */
import type { Dataset } from "../../src/train/dataset.ts";
import { Random } from "../../src/train/random.ts";

/**
 * `rows` rows of `cols` heavy-tailed features in `classes` classes: class k
 * shifts columns with `c % classes === k` (class 0 is "benign"), plus noise.
 */
export function syntheticDataset(rows: number, cols: number, classes: number, seed = 7): Dataset {
  const rng = new Random(seed);
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    // Half the rows benign, the rest spread over the attack classes.
    y[i] = rng.next() < 0.5 ? 0 : 1 + rng.int(classes - 1);
    for (let c = 0; c < cols; c++) {
      const shift = c % classes === y[i] && y[i] !== 0 ? 2.5 : 0;
      // exp() makes byte/duration-like heavy tails.
      x[i * cols + c] = Math.exp(rng.normal() + shift) * (c + 1);
    }
  }
  return {
    x,
    y,
    rows,
    cols,
    columnNames: Array.from({ length: cols }, (_, c) => `f${c}`),
    classNames: ["BENIGN", ...Array.from({ length: classes - 1 }, (_, k) => `attack${k + 1}`)],
    benignClass: 0,
  };
}
