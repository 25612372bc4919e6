/**
 * Typed access to a node's attributes. Every attribute a kernel does not
 * read is an error at compile time: an attribute the interpreter would
 * silently ignore could change the result, so such a model falls back to
 * onnxruntime instead.
 */
import type { AttributeValue, ModelNode } from "./read_model.ts";
import { UnsupportedModelError } from "./tensor.ts";

export class NodeAttributes {
  readonly #read = new Set<string>();

  constructor(readonly node: ModelNode) {}

  /** Fails on any attribute not read (and not in `ignored`) so far. */
  checkAllRead(ignored: readonly string[] = []): void {
    for (const name of this.node.attributes.keys()) {
      if (!this.#read.has(name) && !ignored.includes(name)) {
        throw new UnsupportedModelError(`${this.node.opType}: attribute ${name}`);
      }
    }
  }

  has(name: string): boolean {
    return this.node.attributes.has(name);
  }

  int(name: string, fallback?: number): number {
    return this.#get(name, "int", fallback) as number;
  }

  float(name: string, fallback?: number): number {
    return this.#get(name, "float", fallback) as number;
  }

  string(name: string, fallback?: string): string {
    return this.#get(name, "string", fallback) as string;
  }

  ints(name: string, fallback?: number[]): number[] {
    return this.#get(name, "ints", fallback) as number[];
  }

  floats(name: string, fallback?: Float32Array): Float32Array {
    return this.#get(name, "floats", fallback) as Float32Array;
  }

  strings(name: string, fallback?: string[]): string[] {
    return this.#get(name, "strings", fallback) as string[];
  }

  #get(name: string, kind: AttributeValue["kind"], fallback: unknown): unknown {
    this.#read.add(name);
    const a = this.node.attributes.get(name);
    if (a === undefined) {
      if (fallback === undefined) {
        throw new UnsupportedModelError(`${this.node.opType}: missing attribute ${name}`);
      }
      return fallback;
    }
    if (a.kind !== kind) {
      throw new UnsupportedModelError(
        `${this.node.opType}: attribute ${name} is ${a.kind}, want ${kind}`,
      );
    }
    return a.value;
  }
}
