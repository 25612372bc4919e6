/**
 * A growable ASCII byte buffer for text output written row by row (the
 * `flows` CSV): numbers and short strings go straight into bytes, with no
 * string per cell, no join and no TextEncoder pass over the whole text.
 */
export class AsciiBytes {
  #bytes: Uint8Array;
  #length = 0;

  constructor(initialBytes = 1 << 16) {
    this.#bytes = new Uint8Array(initialBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** Forgets what was written (the buffer is kept for the next rows). */
  clear(): void {
    this.#length = 0;
  }

  /** A copy of what was written (the caller may hold it while this buffer is reused). */
  take(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  /** A view of what was written, valid until the next write or clear. */
  view(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  #room(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.#length + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  /** One byte (a separator such as `,` or `\n`). */
  byte(code: number): void {
    this.#room(1);
    this.#bytes[this.#length++] = code;
  }

  /** `text`, which must be ASCII (UTF-16 code units below 128). */
  ascii(text: string): void {
    const n = text.length;
    this.#room(n);
    const bytes = this.#bytes;
    let at = this.#length;
    for (let i = 0; i < n; i++) bytes[at++] = text.charCodeAt(i);
    this.#length = at;
  }

  /** `value` as `String(value)` prints it, for an integer (a safe integer or -0). */
  integer(value: number): void {
    if (value < 0) {
      this.byte(45);
      value = -value;
    }
    if (value < 10) {
      // Zero and one-digit counts are most of a flow row's cells.
      this.byte(48 + value);
      return;
    }
    if (value > Number.MAX_SAFE_INTEGER) {
      this.ascii(String(value));
      return;
    }
    let digits = 1;
    for (let p = 10; p <= value; p *= 10) digits++;
    this.#room(digits);
    const bytes = this.#bytes;
    let at = this.#length + digits;
    this.#length = at;
    do {
      const next = Math.floor(value / 10);
      bytes[--at] = 48 + (value - next * 10);
      value = next;
    } while (value > 0);
  }
}
