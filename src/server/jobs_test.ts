import assert from "node:assert/strict";
import { captureFormatOf, safeName } from "./jobs.ts";

Deno.test("captureFormatOf: pcap in both byte orders and resolutions, pcapng, else null", () => {
  assert.equal(captureFormatOf(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1])), "pcap");
  assert.equal(captureFormatOf(new Uint8Array([0xa1, 0xb2, 0xc3, 0xd4])), "pcap");
  assert.equal(captureFormatOf(new Uint8Array([0x4d, 0x3c, 0xb2, 0xa1])), "pcap");
  assert.equal(captureFormatOf(new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a])), "pcapng");
  assert.equal(captureFormatOf(new TextEncoder().encode("GET /")), null);
  assert.equal(captureFormatOf(new Uint8Array([0xd4])), null);
});

Deno.test("safeName: no folders, no control characters, never empty", () => {
  assert.equal(safeName("../../etc/passwd"), "passwd");
  assert.equal(safeName("C:\\Users\\x\\cap.pcap"), "cap.pcap");
  assert.equal(safeName("a\u0000b\nc.pcap"), "abc.pcap");
  assert.equal(safeName("../"), "upload");
  assert.equal(safeName("x".repeat(500)).length, 200);
});
