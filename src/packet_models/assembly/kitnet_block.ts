// AssemblyScript (not Deno TypeScript): KitNET's block scorer in WebAssembly
// SIMD, built by `deno task build:wasm` into ../kitnet_wasm.ts. It computes
// exactly what KitNetScorer's typed-array scoreBlock computes (the same f64
// sums in the same order, no fused multiply-add: each SIMD lane holds one
// row's sum), so the scores agree to the bit (kitnet_wasm_test.ts). Eight
// rows per step (four f64x2 sums in flight, so the adds' latency overlaps).
//
// Everything lives in the imported memory at addresses the host writes into
// the header at HEADER (see KitNetWasm in ../kitnet_wasm_scorer.ts).

const BLOCK: i32 = 64; // a multiple of 8; its inputs (8 * 64 bytes each) stay in L1
const SIGMOID_LIMIT: f64 = 16.0;
const SIGMOID_STEPS: f64 = 64.0;
const HEADER: usize = 1024;

// Header fields (i32 each, byte offsets from HEADER).
const H_MEMBERS = 0, H_COLS = 4, H_GATHERED = 8, H_VISIBLE = 12, H_HIDDEN = 16, H_INPUT_AT = 20;
const H_WEIGHT_AT = 24, H_HIDDEN_AT = 28, H_INDEX = 32, H_NORM_OFFSET = 36, H_NORM_FACTOR = 40;
const H_VISIBLE_BIAS = 44, H_ENCODER = 48, H_DECODER = 52, H_HIDDEN_BIAS = 56, H_SIGMOID = 60;
const H_SIGMOID_LENGTH = 64, H_BLOCK_X = 68, H_BLOCK_HIDDEN = 72, H_BLOCK_ERROR = 76;
const H_ROWS_IN = 80, H_SCORES_OUT = 84;

@inline function field(at: usize): usize {
  return <usize>load<i32>(HEADER + at);
}

@inline function i32At(base: usize, k: i32): i32 {
  return load<i32>(base + (<usize>k << 2));
}

@inline function f64At(base: usize, k: i32): f64 {
  return load<f64>(base + (<usize>k << 3));
}

let sigmoidTable: usize = 0;
let sigmoidFirst: f64 = 0;
let sigmoidLast: f64 = 0;

// The logistic function from the shared table, as kitnet.ts's sigmoid.
@inline function sigmoid(x: f64): f64 {
  if (!(x > -SIGMOID_LIMIT)) return x != x ? x : sigmoidFirst;
  if (x >= SIGMOID_LIMIT) return sigmoidLast;
  const position = (x + SIGMOID_LIMIT) * SIGMOID_STEPS;
  const k = <i32>position;
  const p = sigmoidTable + (<usize>k << 3);
  const a = load<f64>(p);
  return a + (load<f64>(p, 8) - a) * (position - <f64>k);
}

// Two lanes of sigmoid: the same operations as the scalar one, the table read once per lane;
// a lane outside (-LIMIT, LIMIT) (or NaN) takes the scalar path for both.
@inline function sigmoid2(x: v128): v128 {
  const inside = v128.and(
    f64x2.gt(x, f64x2.splat(-SIGMOID_LIMIT)),
    f64x2.lt(x, f64x2.splat(SIGMOID_LIMIT)),
  );
  if (!i64x2.all_true(inside)) {
    const lo = sigmoid(f64x2.extract_lane(x, 0));
    const hi = sigmoid(f64x2.extract_lane(x, 1));
    return f64x2.replace_lane(f64x2.splat(lo), 1, hi);
  }
  const position = f64x2.mul(
    f64x2.add(x, f64x2.splat(SIGMOID_LIMIT)),
    f64x2.splat(SIGMOID_STEPS),
  );
  const k = i32x4.trunc_sat_f64x2_s_zero(position);
  const pair0 = v128.load(sigmoidTable + (<usize>i32x4.extract_lane(k, 0) << 3));
  const pair1 = v128.load(sigmoidTable + (<usize>i32x4.extract_lane(k, 1) << 3));
  const a = v128.shuffle<f64>(pair0, pair1, 0, 2);
  const b = v128.shuffle<f64>(pair0, pair1, 1, 3);
  const fraction = f64x2.sub(position, f64x2.convert_low_i32x4_s(k));
  return f64x2.add(a, f64x2.mul(f64x2.sub(b, a), fraction));
}

// Member k's RMSE for each of the block's n rows (normalised inputs in blockX) into blockError.
// Rows past n up to the next multiple of 8 are computed from stale inputs and never read.
function memberBlock(k: i32, n: i32): void {
  const v = i32At(field(H_VISIBLE), k), h = i32At(field(H_HIDDEN), k);
  const inputAt = i32At(field(H_INPUT_AT), k);
  const wAt = i32At(field(H_WEIGHT_AT), k), yAt = i32At(field(H_HIDDEN_AT), k);
  const xb = field(H_BLOCK_X) + (<usize>(inputAt * BLOCK) << 3);
  const yb = field(H_BLOCK_HIDDEN), err = field(H_BLOCK_ERROR);
  const enc = field(H_ENCODER) + (<usize>wAt << 3), dec = field(H_DECODER) + (<usize>wAt << 3);
  const hiddenBias = field(H_HIDDEN_BIAS) + (<usize>yAt << 3);
  const visibleBias = field(H_VISIBLE_BIAS) + (<usize>inputAt << 3);
  const stride: usize = <usize>BLOCK << 3;
  for (let j = 0; j < h; j++) {
    const bias = f64x2.splat(f64At(hiddenBias, j));
    const row = enc + (<usize>(j * v) << 3);
    const y = yb + (<usize>(j * BLOCK) << 3);
    for (let r = 0; r < n; r += 8) {
      let a01 = bias, a23 = bias, a45 = bias, a67 = bias;
      let xp = xb + (<usize>r << 3);
      for (let i = 0; i < v; i++) {
        const w = v128.load64_splat(row + (<usize>i << 3));
        a01 = f64x2.add(a01, f64x2.mul(v128.load(xp), w));
        a23 = f64x2.add(a23, f64x2.mul(v128.load(xp, 16), w));
        a45 = f64x2.add(a45, f64x2.mul(v128.load(xp, 32), w));
        a67 = f64x2.add(a67, f64x2.mul(v128.load(xp, 48), w));
        xp += stride;
      }
      const at = y + (<usize>r << 3);
      v128.store(at, sigmoid2(a01));
      v128.store(at, sigmoid2(a23), 16);
      v128.store(at, sigmoid2(a45), 32);
      v128.store(at, sigmoid2(a67), 48);
    }
  }
  for (let r = 0; r < n; r += 8) {
    const at = err + (<usize>r << 3), zero = f64x2.splat(0);
    v128.store(at, zero), v128.store(at, zero, 16), v128.store(at, zero, 32);
    v128.store(at, zero, 48);
  }
  for (let i = 0; i < v; i++) {
    const bias = f64x2.splat(f64At(visibleBias, i));
    const row = dec + (<usize>(i * h) << 3);
    const xi = xb + (<usize>(i * BLOCK) << 3);
    for (let r = 0; r < n; r += 8) {
      let z01 = bias, z23 = bias, z45 = bias, z67 = bias;
      let yp = yb + (<usize>r << 3);
      for (let j = 0; j < h; j++) {
        const w = v128.load64_splat(row + (<usize>j << 3));
        z01 = f64x2.add(z01, f64x2.mul(v128.load(yp), w));
        z23 = f64x2.add(z23, f64x2.mul(v128.load(yp, 16), w));
        z45 = f64x2.add(z45, f64x2.mul(v128.load(yp, 32), w));
        z67 = f64x2.add(z67, f64x2.mul(v128.load(yp, 48), w));
        yp += stride;
      }
      const xr = xi + (<usize>r << 3), er = err + (<usize>r << 3);
      const d01 = f64x2.sub(v128.load(xr), sigmoid2(z01));
      const d23 = f64x2.sub(v128.load(xr, 16), sigmoid2(z23));
      const d45 = f64x2.sub(v128.load(xr, 32), sigmoid2(z45));
      const d67 = f64x2.sub(v128.load(xr, 48), sigmoid2(z67));
      v128.store(er, f64x2.add(v128.load(er), f64x2.mul(d01, d01)));
      v128.store(er, f64x2.add(v128.load(er, 16), f64x2.mul(d23, d23)), 16);
      v128.store(er, f64x2.add(v128.load(er, 32), f64x2.mul(d45, d45)), 32);
      v128.store(er, f64x2.add(v128.load(er, 48), f64x2.mul(d67, d67)), 48);
    }
  }
  const visible = <f64>v;
  for (let r = 0; r < n; r++) {
    const p = err + (<usize>r << 3);
    store<f64>(p, Math.sqrt(load<f64>(p) / visible));
  }
}

// Scores rows [start, start + n) of the input rows (n <= BLOCK) into the scores.
function scoreBlock(start: i32, n: i32): void {
  const members = <i32>field(H_MEMBERS), cols = <i32>field(H_COLS);
  const gathered = <i32>field(H_GATHERED), last = members - 1;
  const index = field(H_INDEX), offsetN = field(H_NORM_OFFSET), factor = field(H_NORM_FACTOR);
  const xb = field(H_BLOCK_X), err = field(H_BLOCK_ERROR), rowsIn = field(H_ROWS_IN);
  // Input by input, two rows at a time (the second of an odd last pair reads a row past n, or
  // the scores area after the rows: memory either way, landing in a padding row never read).
  const rowBytes: usize = <usize>cols << 2;
  for (let i = 0; i < gathered; i++) {
    const o = f64x2.splat(f64At(offsetN, i)), f = f64x2.splat(f64At(factor, i));
    let from = rowsIn + (<usize>(start * cols + i32At(index, i)) << 2);
    const to = xb + (<usize>(i * BLOCK) << 3);
    for (let r = 0; r < n; r += 2) {
      const pair = v128.load32_lane(from + rowBytes, v128.load32_zero(from), 1);
      v128.store(to + (<usize>r << 3), f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(pair), o), f));
      from += rowBytes << 1;
    }
  }
  for (let k = 0; k < last; k++) {
    memberBlock(k, n);
    const input = gathered + k;
    const o = f64At(offsetN, input), f = f64At(factor, input);
    const at = xb + (<usize>(input * BLOCK) << 3);
    for (let r = 0; r < n; r++) {
      store<f64>(at + (<usize>r << 3), (f64At(err, r) - o) * f);
    }
  }
  memberBlock(last, n);
  const out = field(H_SCORES_OUT);
  for (let r = 0; r < n; r++) store<f32>(out + (<usize>(start + r) << 2), <f32>f64At(err, r));
}

// Scores the first `rows` input rows into the scores area (the host sets the header first).
export function scoreRows(rows: i32): void {
  sigmoidTable = field(H_SIGMOID);
  const length = <i32>field(H_SIGMOID_LENGTH);
  sigmoidFirst = f64At(sigmoidTable, 0);
  sigmoidLast = f64At(sigmoidTable, length - 2);
  for (let start = 0; start < rows; start += BLOCK) {
    scoreBlock(start, min(BLOCK, rows - start));
  }
}
