/**
 * KitNET's block scorer in WebAssembly SIMD (assembly/kitnet_block.ts,
 * compiled into kitnet_wasm.ts): the same f64 sums in the same order as the
 * typed-array scoreBlock, one row per SIMD lane, so the scores agree to
 * the bit (tested), at a fraction of the time. One instance per scorer (its
 * own memory), so a scorer per thread as before. Rows are copied into the
 * instance's memory CHUNK rows at a time.
 */
import { KITNET_WASM_BASE64 } from "./kitnet_wasm.ts";

/** A KitNET flattened as KitNetScorer holds it (see its constructor). */
export interface KitNetFlat {
  featureCount: number;
  visible: Int32Array;
  hidden: Int32Array;
  inputAt: Int32Array;
  weightAt: Int32Array;
  hiddenAt: Int32Array;
  index: Int32Array;
  normOffset: Float64Array;
  normFactor: Float64Array;
  visibleBias: Float64Array;
  encoder: Float64Array;
  decoder: Float64Array;
  hiddenBias: Float64Array;
  sigmoidTable: Float64Array;
}

/** Rows the wasm block holds (kitnet_block.ts's BLOCK) and rows copied in per call. */
const BLOCK = 64, CHUNK = 8 * BLOCK;
/** Where the header sits (kitnet_block.ts's HEADER) and its 22 i32 fields, in their order there. */
const HEADER = 1024, HEADER_FIELDS = 22;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where this runtime has no WebAssembly SIMD. */
function wasmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const binary = Uint8Array.from(atob(KITNET_WASM_BASE64), (c) => c.charCodeAt(0));
      compiled = new WebAssembly.Module(binary);
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** True when this runtime can run the WebAssembly scorer. */
export function kitNetWasmAvailable(): boolean {
  return wasmModule() !== null;
}

export class KitNetWasm {
  private readonly run: (rows: number) => void;
  private readonly cols: number;
  private readonly rowsIn: Float32Array;
  private readonly scoresOut: Float32Array;

  constructor(flat: KitNetFlat) {
    const module = wasmModule();
    if (module === null) throw new Error("WebAssembly SIMD is not available");
    const members = flat.visible.length;
    const gathered = flat.inputAt[members - 1];
    const inputs = flat.inputAt[members];
    const maxHidden = Math.max(...flat.hidden);
    this.cols = flat.featureCount;
    // Lay every array out after the header, 16-byte aligned, in the header's field order.
    let cursor = HEADER + 4 * HEADER_FIELDS;
    const place = (bytes: number) => {
      cursor = Math.ceil(cursor / 16) * 16;
      const at = cursor;
      cursor += bytes;
      return at;
    };
    const arrays: (Int32Array | Float64Array)[] = [
      flat.visible,
      flat.hidden,
      flat.inputAt,
      flat.weightAt,
      flat.hiddenAt,
      flat.index,
      flat.normOffset,
      flat.normFactor,
      flat.visibleBias,
      flat.encoder,
      flat.decoder,
      flat.hiddenBias,
      flat.sigmoidTable,
    ];
    const at = arrays.map((a) => place(a.byteLength));
    const blockX = place(8 * inputs * BLOCK);
    const blockHidden = place(8 * maxHidden * BLOCK);
    const blockError = place(8 * BLOCK);
    // One row more than a chunk: the block's gather reads rows in pairs (an odd count's last pair
    // reads one row past the rows given).
    const rowsIn = place(4 * this.cols * (CHUNK + 1));
    const scoresOut = place(4 * CHUNK);
    const memory = new WebAssembly.Memory({ initial: Math.ceil(cursor / 65536) });
    const buffer = memory.buffer;
    arrays.forEach((a, k) => {
      if (a instanceof Int32Array) new Int32Array(buffer, at[k], a.length).set(a);
      else new Float64Array(buffer, at[k], a.length).set(a);
    });
    new Int32Array(buffer, HEADER, HEADER_FIELDS).set([
      members,
      this.cols,
      gathered,
      ...at.slice(0, 12),
      at[12],
      flat.sigmoidTable.length,
      blockX,
      blockHidden,
      blockError,
      rowsIn,
      scoresOut,
    ]);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.run = instance.exports.scoreRows as (rows: number) => void;
    this.rowsIn = new Float32Array(buffer, rowsIn, this.cols * CHUNK);
    this.scoresOut = new Float32Array(buffer, scoresOut, CHUNK);
  }

  /** Scores `rows` rows of width featureCount from `x` into `out`. */
  scoreRows(x: Float32Array, rows: number, out: Float32Array): Float32Array {
    const cols = this.cols;
    for (let start = 0; start < rows; start += CHUNK) {
      const n = Math.min(CHUNK, rows - start);
      this.rowsIn.set(x.subarray(start * cols, (start + n) * cols));
      this.run(n);
      out.set(n === CHUNK ? this.scoresOut : this.scoresOut.subarray(0, n), start);
    }
    return out;
  }
}
