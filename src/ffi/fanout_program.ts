/**
 * The classic BPF program a PACKET_FANOUT group in CBPF mode runs on every
 * frame to pick its capture worker (the kernel takes the result modulo the
 * group's size): a hash of the frame's two IP addresses, the same both ways.
 *
 * Why not the kernel's flow hash (PACKET_FANOUT_HASH): it keeps a connection
 * whole but spreads one host pair's connections over the workers, and the
 * packet monitors count per host pair across connections (an HTTP path scan
 * over many connections, a DNS tunnel's queries from many ports, a sweep's
 * ARP requests): split over N workers, each saw 1/N of the count. It also
 * needed the kernel to reassemble IPv4 fragments first (FLAG_DEFRAG) so they
 * hashed as one, which hid fragment attacks from the IP anomaly monitor;
 * every fragment carries both addresses. A packet to a multicast or
 * broadcast group goes by its source alone: an IPv6 neighbour discovery
 * sweep sends each solicitation to its target's own multicast address, and
 * the ND monitor counts them per source. Frames that are not IP (ARP, and
 * anything unknown) go to the first worker, all of them.
 *
 * The kernel runs it on the packet from its network header on (loads are
 * offsets into the IP header), with the link layer's protocol in
 * skb->protocol (read through the ancillary load), so it serves every link
 * type. The kernel has moved the outer 802.1Q tag into metadata; one more
 * tag (QinQ's inner one) is still in the data and is skipped here.
 */

/** One instruction: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }. */
interface Instruction {
  code: number;
  k?: number;
  /** Jump targets by label (conditional jumps), or `to` (unconditional). */
  jt?: string;
  jf?: string;
  to?: string;
  /** Label of this instruction. */
  label?: string;
}

// linux/bpf_common.h, linux/filter.h
const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_ALU = 0x04, BPF_JMP = 0x05;
const BPF_RET = 0x06, BPF_MISC = 0x07;
const BPF_W = 0x00, BPF_H = 0x08, BPF_B = 0x10;
const BPF_IMM = 0x00, BPF_ABS = 0x20, BPF_IND = 0x40, BPF_MEM = 0x60;
const BPF_RSH = 0x70, BPF_XOR = 0xa0;
const BPF_JA = 0x00, BPF_JEQ = 0x10, BPF_JGE = 0x30;
const BPF_K = 0x00, BPF_X = 0x08, BPF_A = 0x10;
const BPF_TAX = 0x00;

/** `list` with its first instruction labelled. */
function labelled(label: string, list: Instruction[]): Instruction[] {
  return [{ ...list[0], label }, ...list.slice(1)];
}

/** Ancillary load of skb->protocol (SKF_AD_OFF + SKF_AD_PROTOCOL), host byte order. */
const SKF_AD_PROTOCOL = 0xfffff000;

/**
 * The hash into A of the IP header at M[M_BASE]: its `pair` words, or only its
 * `source` words when the destination's first `size` at `at` passes `jump` k
 * (a group address). Labels start with `name`; the pair's branch jumps to
 * `done`, the source's ends at the last instruction.
 */
function addressHash(
  name: string,
  size: number,
  at: number,
  jump: number,
  k: number,
  pair: number[],
  source: number[],
  done: string,
): Instruction[] {
  return [
    { code: BPF_LDX | BPF_W | BPF_MEM, k: M_BASE },
    { code: BPF_LD | size | BPF_IND, k: at },
    { code: BPF_JMP | jump | BPF_K, k, jt: `${name}group`, jf: `${name}pair` },
    ...labelled(`${name}pair`, xorWords(pair)),
    { code: BPF_JMP | BPF_JA, to: done },
    ...labelled(`${name}group`, xorWords(source)),
  ];
}

/** Scratch words: the hash so far, and the IP header's offset. */
const M_HASH = 0, M_BASE = 1;

/** Offsets of the address words from the IP header: both addresses, and the source alone. */
const IPV4_ADDRESS_WORDS = [12, 16], IPV4_SOURCE_WORDS = [12];
const IPV6_ADDRESS_WORDS = [8, 12, 16, 20, 24, 28, 32, 36], IPV6_SOURCE_WORDS = [8, 12, 16, 20];

/** `words` of the IP header at M[M_BASE] xor-ed into A (and M[M_HASH]). */
function xorWords(words: number[]): Instruction[] {
  const out: Instruction[] = [{ code: BPF_LD | BPF_IMM, k: 0 }, { code: BPF_ST, k: M_HASH }];
  for (const w of words) {
    out.push(
      { code: BPF_LDX | BPF_W | BPF_MEM, k: M_BASE },
      { code: BPF_LD | BPF_W | BPF_IND, k: w },
      { code: BPF_LDX | BPF_W | BPF_MEM, k: M_HASH },
      { code: BPF_ALU | BPF_XOR | BPF_X },
      { code: BPF_ST, k: M_HASH },
    );
  }
  return out;
}

const PROGRAM: Instruction[] = [
  // The IP header starts at the data, or after one more 802.1Q tag (4 bytes, its type at 2).
  { code: BPF_LD | BPF_IMM, k: 0 },
  { code: BPF_ST, k: M_BASE },
  { code: BPF_LD | BPF_H | BPF_ABS, k: SKF_AD_PROTOCOL },
  { code: BPF_JMP | BPF_JEQ | BPF_K, k: 0x8100, jt: "tagged", jf: "type" },
  { label: "tagged", code: BPF_LD | BPF_IMM, k: 4 },
  { code: BPF_ST, k: M_BASE },
  { code: BPF_LD | BPF_H | BPF_ABS, k: 2 },
  { label: "type", code: BPF_JMP | BPF_JEQ | BPF_K, k: 0x0800, jt: "ipv4", jf: "not4" },
  // To a multicast or broadcast group (224.0.0.0 and up): by the source alone.
  ...labelled(
    "ipv4",
    addressHash("v4", BPF_W, 16, BPF_JGE, 0xe0000000, IPV4_ADDRESS_WORDS, IPV4_SOURCE_WORDS, "mix"),
  ),
  { code: BPF_JMP | BPF_JA, to: "mix" },
  { label: "not4", code: BPF_JMP | BPF_JEQ | BPF_K, k: 0x86dd, jt: "ipv6", jf: "other" },
  // To a multicast group (ff00::/8; neighbour solicitations go to their target's own): the source.
  ...labelled(
    "ipv6",
    addressHash("v6", BPF_B, 24, BPF_JEQ, 0xff, IPV6_ADDRESS_WORDS, IPV6_SOURCE_WORDS, "mix"),
  ),
  // Fold the high bits into the low ones: the kernel keeps the remainder by the group's size.
  { label: "mix", code: BPF_MISC | BPF_TAX },
  { code: BPF_ALU | BPF_RSH | BPF_K, k: 16 },
  { code: BPF_ALU | BPF_XOR | BPF_X },
  { code: BPF_MISC | BPF_TAX },
  { code: BPF_ALU | BPF_RSH | BPF_K, k: 8 },
  { code: BPF_ALU | BPF_XOR | BPF_X },
  { code: BPF_RET | BPF_A },
  { label: "other", code: BPF_RET | BPF_K, k: 0 },
];

/** Bytes of one instruction. */
export const BPF_INSTRUCTION_BYTES = 8;

/** The program's instructions as the kernel reads them (struct sock_filter[], little-endian). */
export function hostPairFanoutProgram(): Uint8Array {
  const at = new Map<string, number>();
  PROGRAM.forEach((ins, i) => {
    if (ins.label) at.set(ins.label, i);
  });
  const bytes = new Uint8Array(PROGRAM.length * BPF_INSTRUCTION_BYTES);
  const view = new DataView(bytes.buffer);
  PROGRAM.forEach((ins, i) => {
    const skip = (label: string | undefined): number => {
      if (label === undefined) return 0;
      const target = at.get(label);
      if (target === undefined || target <= i) throw new Error(`fanout program: bad jump ${label}`);
      return target - i - 1;
    };
    const o = i * BPF_INSTRUCTION_BYTES;
    view.setUint16(o, ins.code, true);
    view.setUint8(o + 2, skip(ins.jt));
    view.setUint8(o + 3, skip(ins.jf));
    view.setUint32(o + 4, ins.to !== undefined ? skip(ins.to) : (ins.k ?? 0), true);
  });
  return bytes;
}
