/**
 * The tensors the lite interpreter passes between nodes: float32 values in a
 * Float32Array (rounded to float32 after every op, as onnxruntime's kernels
 * are), int64 values held exactly in a Float64Array (shapes, axes, indices,
 * labels; |v| < 2^53), booleans as 0/1 bytes.
 */

/** Element types the interpreter runs; any other makes a model fall back to onnxruntime. */
export type LiteType = "float32" | "int64" | "bool";

export type LiteTensor =
  | { type: "float32"; dims: number[]; data: Float32Array }
  | { type: "int64"; dims: number[]; data: Float64Array }
  | { type: "bool"; dims: number[]; data: Uint8Array };

/** A model outside the interpreter's subset (op, attribute, dtype): score it with onnxruntime instead. */
export class UnsupportedModelError extends Error {}

/** Product of `dims` (1 for a scalar). */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function floatTensor(dims: number[], data?: Float32Array): LiteTensor & { type: "float32" } {
  return { type: "float32", dims, data: data ?? new Float32Array(sizeOf(dims)) };
}

/** The float32 tensor `t` must be (the op's contract), else a clear error naming `what`. */
export function expectFloat(t: LiteTensor, what: string): LiteTensor & { type: "float32" } {
  if (t.type !== "float32") {
    throw new UnsupportedModelError(`${what}: ${t.type} input, want float32`);
  }
  return t;
}

/** The int64 tensor `t` must be, else a clear error naming `what`. */
export function expectInt64(t: LiteTensor, what: string): LiteTensor & { type: "int64" } {
  if (t.type !== "int64") throw new UnsupportedModelError(`${what}: ${t.type} input, want int64`);
  return t;
}

/** The same values viewed with other dims (no copy). */
export function withDims(t: LiteTensor, dims: number[]): LiteTensor {
  return { ...t, dims } as LiteTensor;
}

/** `axis` (possibly negative) as an index into `rank` dims. */
export function normaliseAxis(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new UnsupportedModelError(`${what}: axis ${axis} out of range for rank ${rank}`);
  }
  return a;
}
