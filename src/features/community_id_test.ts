import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createHash } from "node:crypto";
import { communityIdV1, sha1 } from "./mod.ts";

const v4 = (a: number, b: number, c: number, d: number) =>
  new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
const v6 = (hex: string) => new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

Deno.test("sha1: FIPS 180 test vectors", () => {
  const enc = new TextEncoder();
  assertEquals(hex(sha1(enc.encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assertEquals(hex(sha1(new Uint8Array(0))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  assertEquals(
    hex(sha1(enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
});

Deno.test("sha1: every message length from 0 to 300 bytes agrees with node:crypto (padding edges, long messages)", () => {
  const bytes = new Uint8Array(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  for (let n = 0; n <= bytes.length; n++) {
    const message = bytes.subarray(0, n);
    const expected = createHash("sha1").update(message).digest("hex");
    assertEquals(hex(sha1(message)), expected, `length ${n}`);
  }
});

// Vectors from corelight/community-id-spec (as used by Zeek's and others' test suites).
const A = v4(1, 2, 3, 4), B = v4(5, 6, 7, 8);
const C = v6("fe80000102030405060708090a0b0c0d"), D = v6("fe80101112131415161718191a1b1c1d");

Deno.test("community id: TCP, UDP, ICMP, ICMPv6, portless; both directions; seed 0 and 1", () => {
  const cases: [Uint8Array, Uint8Array, number, number, number, number, string, number][] = [
    [A, B, 1122, 3344, 6, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=", 4],
    [A, B, 1122, 3344, 17, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", 4],
    [A, B, 8, 0, 1, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", 4],
    [C, D, 128, 0, 58, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", 6],
    [A, B, 0, 0, 46, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", 4],
    [A, B, 1122, 3344, 6, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=", 4],
    [A, B, 1122, 3344, 17, 1, "1:OShq+iKDAMVouh/4bMxB9Sz4amw=", 4],
    [A, B, 8, 0, 1, 1, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=", 4],
    [C, D, 128, 0, 58, 1, "1:IO27GQzPuCtNnwFvjWALMHu5tJE=", 6],
  ];
  for (const [src, dst, sport, dport, proto, seed, expected, version] of cases) {
    assertEquals(communityIdV1(version, src, dst, sport, dport, proto, seed), expected);
    // The reverse direction (ICMP: the reply type) hashes the same.
    const rsport = proto === 1 ? 0 : proto === 58 ? 129 : dport;
    const rdport = proto === 1 || proto === 58 ? 0 : sport;
    assertEquals(communityIdV1(version, dst, src, rsport, rdport, proto, seed), expected);
  }
});
