import assert from "node:assert/strict";
import { AsciiBytes } from "./ascii_bytes.ts";

const text = (out: AsciiBytes) => new TextDecoder().decode(out.view());

Deno.test("ascii bytes: integers print as String() prints them, at every digit count and sign", () => {
  const values = [0, -0, 1, 9, 10, 11, 99, 100, 101, 65535, 2 ** 31, 2 ** 32 + 1, 1e15, 1e15 - 1];
  values.push(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, 2 ** 60, 1e20, 9.99e20);
  for (let p = 1; p < 1e16; p *= 10) values.push(p - 1, p, p + 1);
  for (let k = 0; k < 2000; k++) values.push(Math.floor((k * 7919) ** 1.7));
  for (const v of [...values]) values.push(-v);
  const out = new AsciiBytes(4);
  for (const v of values) {
    out.clear();
    out.integer(v);
    assert.equal(text(out), String(v), `value ${v}`);
  }
});

Deno.test("ascii bytes: grows past its first buffer and keeps what was written; take copies", () => {
  const out = new AsciiBytes(8);
  let expected = "";
  for (let k = 0; k < 1000; k++) {
    out.ascii(`row${k}`);
    out.byte(44);
    out.integer(k * 37);
    out.byte(10);
    expected += `row${k},${k * 37}\n`;
  }
  assert.equal(out.length, expected.length);
  const copy = out.take();
  out.clear();
  out.ascii("overwritten");
  assert.equal(new TextDecoder().decode(copy), expected);
  assert.equal(text(out), "overwritten");
});
