/**
 * libpcap bound through Deno.dlopen: the raw symbols, the constants that go
 * with them, and the loader that finds the library by soname.
 */
import { cString, libc, RTLD_NOW } from "./libc.ts";

const PCAP_SYMBOLS = {
  pcap_lib_version: { parameters: [], result: "pointer" },
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_dispatch: { parameters: ["pointer", "i32", "function", "pointer"], result: "i32" },
  pcap_breakloop: { parameters: ["pointer"], result: "void" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_statustostr: { parameters: ["i32"], result: "pointer" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_snapshot: { parameters: ["pointer"], result: "i32" },
  pcap_findalldevs: { parameters: ["buffer", "buffer"], result: "i32" },
  pcap_freealldevs: { parameters: ["pointer"], result: "void" },
  pcap_dump_open: { parameters: ["pointer", "buffer"], result: "pointer" },
  pcap_dump_fopen: { parameters: ["pointer", "pointer"], result: "pointer" },
  pcap_dump_flush: { parameters: ["pointer"], result: "i32" },
  pcap_dump_close: { parameters: ["pointer"], result: "void" },
  pcap_open_offline: { parameters: ["buffer", "buffer"], result: "pointer" },
} as const;

/** The bound libpcap symbols. */
export type PcapSymbols = Deno.DynamicLibrary<typeof PCAP_SYMBOLS>["symbols"];

/** Sonames tried in order: Debian's package name first, then the generic ones. */
export const LIBPCAP_SONAMES = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"] as const;
/** Size libpcap requires for error buffers. */
export const PCAP_ERRBUF_SIZE = 256;
/** `pcap_compile` netmask when the interface netmask is unknown. */
export const PCAP_NETMASK_UNKNOWN = 0xffffffff;
/** Bytes in `struct bpf_program` on 64-bit Linux. */
export const BPF_PROGRAM_BYTES = 16;
/** Bytes in `struct pcap_stat` (three u_int counters) on Linux. */
export const PCAP_STAT_BYTES = 12;
/** `pcap_activate` status: no such device. */
export const PCAP_ERROR_NO_SUCH_DEVICE = -5;
/** `pcap_activate` status: permission denied. */
export const PCAP_ERROR_PERM_DENIED = -8;
/** `pcap_activate` status: promiscuous mode permission denied. */
export const PCAP_ERROR_PROMISC_PERM_DENIED = -11;
/** `pcap_activate` status: interface not up. */
export const PCAP_ERROR_IFACE_NOT_UP = -9;

/** Why libpcap refused something; `kind` lets callers map it to exit codes. */
export type PcapErrorKind =
  | "library-missing"
  | "no-such-device"
  | "permission-denied"
  | "interface-down"
  | "bad-filter"
  | "output"
  | "capture";

/** An error reported by libpcap, with the library's own words in the message. */
export class PcapError extends Error {
  /** Which class of failure this is. */
  readonly kind: PcapErrorKind;
  /** libpcap status code when there was one. */
  readonly status: number;
  constructor(kind: PcapErrorKind, message: string, status = 0) {
    super(message);
    this.name = "PcapError";
    this.kind = kind;
    this.status = status;
  }
}

/** libpcap loaded in this thread, with the C address of `pcap_dump`. */
export interface Libpcap {
  symbols: PcapSymbols;
  /** Which soname was opened. */
  soname: string;
  /** C function pointer of `pcap_dump`, passed to `pcap_dispatch` as its callback. */
  pcapDumpFunction: Deno.PointerObject;
}

let loaded: Libpcap | null = null;

/**
 * Opens libpcap once per thread. Throws a PcapError of kind
 * "library-missing" naming the Debian package when no soname loads.
 */
export function loadLibpcap(): Libpcap {
  if (loaded) return loaded;
  const failures: string[] = [];
  for (const soname of LIBPCAP_SONAMES) {
    let symbols: PcapSymbols;
    try {
      symbols = Deno.dlopen(soname, PCAP_SYMBOLS).symbols;
    } catch (error) {
      failures.push(`${soname}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    // Same soname through libc's dlopen returns the already-loaded library, so
    // dlsym yields the very pcap_dump the bound symbols use.
    const handle = libc().dlopen(cString(soname), RTLD_NOW);
    const pcapDump = handle === null ? null : libc().dlsym(handle, cString("pcap_dump"));
    if (pcapDump === null) {
      failures.push(`${soname}: pcap_dump not found by dlsym`);
      continue;
    }
    loaded = { symbols, soname, pcapDumpFunction: pcapDump };
    return loaded;
  }
  throw new PcapError(
    "library-missing",
    `libpcap is not installed (install the Debian package libpcap0.8: apt-get install libpcap0.8); ` +
      `tried ${failures.join("; ")}`,
  );
}

/** libpcap's version string, e.g. "libpcap version 1.10.3 (with TPACKET_V3)". */
export function libpcapVersion(): string {
  return Deno.UnsafePointerView.getCString(loadLibpcap().symbols.pcap_lib_version()!);
}
