/**
 * MatMul of a batch `[..., N, K]` by a 2-D weight `[K, M]`, the only shape the
 * trainer's dense layers use. Dot products are summed in float64 and rounded
 * once, so results may differ from MLAS's float32 sums in the last bits.
 */
import type { KernelFactory } from "./kernel.ts";
import { expectFloat, floatTensor, UnsupportedModelError } from "./tensor.ts";

export const matMulKernel: KernelFactory = ({ attributes }) => {
  attributes.checkAllRead();
  // The weight's columns made contiguous, once per weight tensor (a constant in practice).
  let transposedOf: Float32Array | null = null;
  let bt = new Float32Array(0);
  return ([x, w], buffers) => {
    const a = expectFloat(x!, "MatMul");
    const b = expectFloat(w!, "MatMul");
    if (a.dims.length < 2 || b.dims.length !== 2) {
      throw new UnsupportedModelError(`MatMul: shapes [${a.dims}] x [${b.dims}]`);
    }
    const k = a.dims[a.dims.length - 1];
    const [bk, m] = b.dims;
    if (k !== bk) throw new Error(`MatMul: [${a.dims}] x [${b.dims}] do not chain`);
    const rows = a.data.length / k;
    const out = buffers.float32(0, rows * m);
    const ad = a.data;
    if (transposedOf !== b.data) {
      bt = new Float32Array(k * m);
      for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) bt[j * k + i] = b.data[i * m + j];
      transposedOf = b.data;
    }
    // Four rows at a time share each load of a weight column.
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const a0 = r * k;
      const a1 = a0 + k;
      const a2 = a1 + k;
      const a3 = a2 + k;
      let j = 0;
      // Two weight columns by four rows: eight sums in flight, six loads per eight products.
      for (; j + 2 <= m; j += 2) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let t0 = 0, t1 = 0, t2 = 0, t3 = 0;
        for (let i = 0, p = j * k, q = p + k; i < k; i++, p++, q++) {
          const w = bt[p];
          const v = bt[q];
          const x0 = ad[a0 + i];
          const x1 = ad[a1 + i];
          const x2 = ad[a2 + i];
          const x3 = ad[a3 + i];
          s0 += x0 * w;
          s1 += x1 * w;
          s2 += x2 * w;
          s3 += x3 * w;
          t0 += x0 * v;
          t1 += x1 * v;
          t2 += x2 * v;
          t3 += x3 * v;
        }
        out[r * m + j] = s0;
        out[(r + 1) * m + j] = s1;
        out[(r + 2) * m + j] = s2;
        out[(r + 3) * m + j] = s3;
        out[r * m + j + 1] = t0;
        out[(r + 1) * m + j + 1] = t1;
        out[(r + 2) * m + j + 1] = t2;
        out[(r + 3) * m + j + 1] = t3;
      }
      for (; j < m; j++) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let i = 0, p = j * k; i < k; i++, p++) {
          const w = bt[p];
          s0 += ad[a0 + i] * w;
          s1 += ad[a1 + i] * w;
          s2 += ad[a2 + i] * w;
          s3 += ad[a3 + i] * w;
        }
        out[r * m + j] = s0;
        out[(r + 1) * m + j] = s1;
        out[(r + 2) * m + j] = s2;
        out[(r + 3) * m + j] = s3;
      }
    }
    for (; r < rows; r++) {
      const aBase = r * k;
      for (let j = 0; j < m; j++) {
        let acc = 0;
        for (let i = 0, p = j * k; i < k; i++, p++) acc += ad[aBase + i] * bt[p];
        out[r * m + j] = acc;
      }
    }
    return [floatTensor([...a.dims.slice(0, -1), m], out)];
  };
};
