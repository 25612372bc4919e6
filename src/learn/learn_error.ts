/** The one error type of src/learn, with the kind of problem for exit codes. */

/** Why learning refused its input: `usage` (how it was called), `data` (unusable), `no-input` (missing). */
export class LearnError extends Error {
  override name = "LearnError";
  constructor(message: string, readonly kind: "usage" | "data" | "no-input") {
    super(message);
  }
}
