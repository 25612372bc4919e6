/**
 * The contract between the graph compiler and the operator kernels: a kernel
 * factory reads and checks its node's attributes (and constant inputs) once at
 * compile time and returns the function run per batch.
 */
import type { NodeAttributes } from "./attributes.ts";
import type { LiteTensor } from "./tensor.ts";

/**
 * Buffers for output `k` of the running node, NOT zeroed (kernels write every
 * element; one that accumulates clears its buffer first). Buffers of values
 * that stay inside the graph are reused from batch to batch: a fresh
 * megabyte-sized typed array per op costs more in page faults and zeroing
 * than the op itself.
 */
export interface OutputBuffers {
  float32(k: number, size: number): Float32Array;
  int64(k: number, size: number): Float64Array;
  bool(k: number, size: number): Uint8Array;
}

/** Runs one node on one batch: its inputs (null for omitted optional ones) to its outputs. */
export type Kernel = (inputs: (LiteTensor | null)[], out: OutputBuffers) => LiteTensor[];

export interface KernelContext {
  attributes: NodeAttributes;
  /** Inputs known at compile time (initializers, folded constants); null when computed per batch. */
  constants: (LiteTensor | null)[];
  /** The opset version of the node's domain. */
  opset: number;
}

/** Builds a node's kernel; throws UnsupportedModelError for anything outside the subset. */
export type KernelFactory = (context: KernelContext) => Kernel;
