/**
 * The few libc functions the capture path needs: `fmemopen` and stdio
 * positioning (so libpcap's `pcap_dump` can write into JS-owned memory),
 * `poll` (libpcap's read timeout never fires on a quiet Linux link), and
 * `dlopen`/`dlsym` (Deno.dlopen gives no C function pointers, and
 * `pcap_dispatch` needs one for its callback), `setsockopt`/`getsockopt`
 * (PACKET_FANOUT on the handle's socket, which libpcap has no call for), and `mallopt`/`malloc_trim`
 * (so freed typed arrays go back to the system, see native_memory.ts), and `madvise` (huge pages
 * for large tables, see native_memory.ts).
 */

const LIBC_SYMBOLS = {
  fmemopen: { parameters: ["buffer", "usize", "buffer"], result: "pointer" },
  setvbuf: { parameters: ["pointer", "pointer", "i32", "usize"], result: "i32" },
  fseek: { parameters: ["pointer", "i64", "i32"], result: "i32" },
  ftell: { parameters: ["pointer"], result: "i64" },
  fflush: { parameters: ["pointer"], result: "i32" },
  fclose: { parameters: ["pointer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  mallopt: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
} as const;

/** The bound libc symbols. */
export type LibcSymbols = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

/** `fseek` origin: from the start of the stream. */
export const SEEK_SET = 0;
/** `setvbuf` mode: fully buffered. */
export const IOFBF = 0;
/** `setvbuf` mode: unbuffered. */
export const IONBF = 2;
/** `dlopen` flag: resolve every symbol now. */
export const RTLD_NOW = 2;
/** `poll` event: data to read. */
export const POLLIN = 1;

let loaded: LibcSymbols | null = null;

/** Opens libc once per thread (each worker has its own binding). */
export function libc(): LibcSymbols {
  if (loaded) return loaded;
  const names = ["libc.so.6", "libc.so"];
  const failures: string[] = [];
  for (const name of names) {
    try {
      loaded = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
      return loaded;
    } catch (error) {
      failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`cannot open the C library (${failures.join("; ")})`);
}

const encoder = new TextEncoder();

/** A NUL-terminated copy of `text` for C string parameters. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(encoder.encode(text).byteLength + 1);
  encoder.encodeInto(text, bytes);
  return bytes;
}

/** Reads a NUL-terminated C string, or returns "" for a null pointer. */
export function readCString(pointer: Deno.PointerValue): string {
  return pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer);
}

/** The calling thread's errno as "message (errno N)"; read it right after the failed call. */
export function lastErrno(): string {
  const c = libc();
  const pointer = c.__errno_location();
  const errno = pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32();
  return `${readCString(c.strerror(errno))} (errno ${errno})`;
}

/** Reads a C string out of a fixed-size error buffer. */
export function errorBufferText(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return new TextDecoder().decode(buffer.subarray(0, end < 0 ? buffer.length : end)).trim();
}
