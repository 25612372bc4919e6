/**
 * A minimal protobuf wire-format reader: enough to walk ONNX's messages
 * (varints, 64- and 32-bit fixed fields, length-delimited fields, packed
 * repeated scalars). Every read is bounds-checked: damaged bytes throw a
 * ProtobufError, never read past the buffer or loop forever.
 */

export class ProtobufError extends Error {}

/** Wire types (the low 3 bits of a field key). */
export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

export class ProtoReader {
  #pos: number;
  readonly #end: number;
  readonly #view: DataView;

  constructor(readonly bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#pos = start;
    this.#end = end;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** The next field's number and wire type. */
  key(): [field: number, wireType: number] {
    const k = this.varint();
    const field = Math.floor(k / 8);
    if (field === 0) throw new ProtobufError(`field number 0 at byte ${this.#pos}`);
    return [field, k % 8];
  }

  /** An unsigned varint as a number (exact below 2^53; int64 negatives come out as 2^64 - |v|, see `int64`). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new ProtobufError("truncated varint");
      const b = this.bytes[this.#pos++];
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new ProtobufError("varint longer than 10 bytes");
  }

  /** A varint read as a signed int64 (two's complement), exact for |v| < 2^53. */
  int64(): number {
    const start = this.#pos;
    const v = this.varint();
    if (v < 2 ** 63) return v;
    // Negative: redo the arithmetic on BigInt for the exact value.
    let big = 0n;
    let shift = 0n;
    for (let p = start; p < this.#pos; p++, shift += 7n) {
      big |= BigInt(this.bytes[p] & 0x7f) << shift;
    }
    return Number(BigInt.asIntN(64, big));
  }

  float(): number {
    this.#need(4);
    const v = this.#view.getFloat32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  /** The bounds of a length-delimited field's payload, advancing past it. */
  span(): [start: number, end: number] {
    const length = this.varint();
    this.#need(length);
    const start = this.#pos;
    this.#pos += length;
    return [start, this.#pos];
  }

  /** A length-delimited payload as a view (no copy). */
  bytesField(): Uint8Array {
    const [start, end] = this.span();
    return this.bytes.subarray(start, end);
  }

  string(): string {
    return decoder.decode(this.bytesField());
  }

  /** A reader over a nested message. */
  message(): ProtoReader {
    const [start, end] = this.span();
    return new ProtoReader(this.bytes, start, end);
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.#advance(8);
    else if (wireType === BYTES) this.span();
    else if (wireType === FIXED32) this.#advance(4);
    else throw new ProtobufError(`wire type ${wireType} (groups are not used by ONNX)`);
  }

  /** A repeated int64 field's values, packed or one per key, appended to `out`. */
  int64s(wireType: number, out: number[]): void {
    if (wireType === BYTES) {
      const inner = this.message();
      while (!inner.done) out.push(inner.int64());
    } else if (wireType === VARINT) out.push(this.int64());
    else throw new ProtobufError(`repeated int64 with wire type ${wireType}`);
  }

  /** A repeated float field's values, packed or one per key, appended to `out`. */
  floats(wireType: number, out: number[]): void {
    if (wireType === BYTES) {
      const inner = this.message();
      while (!inner.done) out.push(inner.float());
    } else if (wireType === FIXED32) out.push(this.float());
    else throw new ProtobufError(`repeated float with wire type ${wireType}`);
  }

  #need(n: number): void {
    if (n < 0 || this.#pos + n > this.#end) {
      throw new ProtobufError(`field of ${n} bytes runs past the end of its message`);
    }
  }

  #advance(n: number): void {
    this.#need(n);
    this.#pos += n;
  }
}

const decoder = new TextDecoder();
