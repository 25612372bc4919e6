/**
 * Keeps glibc's malloc from holding on to freed memory. V8 allocates every
 * ArrayBuffer's bytes with malloc, so a flood's feature batches, inference
 * buffers and onnxruntime's outputs (a megabyte or more each, hundreds a
 * second) go through it. By default glibc raises its mmap threshold to the
 * largest block freed so far (up to 32 MiB), after which such buffers come
 * from per-thread arenas that it does not give back; measured, a scoring
 * loop held 60 to 90 MB of freed blocks that way (scripts/bench/flood_memory.ts).
 * A fixed threshold makes large blocks mmapped and unmapped on free, and a
 * periodic trim returns what the arenas still keep.
 */
import { libc } from "./libc.ts";

/** mallopt parameter numbers (glibc malloc.h). */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;
const M_ARENA_MAX = -8;

/** Blocks at least this big are mmapped and unmapped on free (glibc's initial default). */
export const MMAP_THRESHOLD_BYTES = 128 * 1024;
/** Free memory at an arena's top beyond this is returned at once. */
export const TRIM_THRESHOLD_BYTES = 1024 * 1024;
/** At most this many malloc arenas (glibc's default is 8 per core). */
export const ARENA_MAX = 2;

/** What boundNativeHeap did. */
export interface NativeHeapSettings {
  applied: boolean;
  /** Why not, when not applied (no libc, no FFI permission). */
  reason?: string;
}

let settings: NativeHeapSettings | null = null;

/**
 * Sets the fixed mmap and trim thresholds and the arena bound, once per
 * process; call it before the workers start (arenas are made as threads first
 * allocate). Without FFI permission or glibc it does nothing and says why.
 */
export function boundNativeHeap(): NativeHeapSettings {
  if (settings) return settings;
  try {
    const c = libc();
    const ok = c.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) === 1 &&
      c.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) === 1 &&
      c.mallopt(M_ARENA_MAX, ARENA_MAX) === 1;
    settings = ok ? { applied: true } : { applied: false, reason: "mallopt refused a setting" };
  } catch (error) {
    settings = { applied: false, reason: error instanceof Error ? error.message : String(error) };
  }
  return settings;
}

/**
 * Returns the free pages malloc still holds in every arena to the system
 * (malloc_trim). It walks the heap, so call it on a timer (about once a
 * second), never per batch. Returns false when it could not run.
 */
export function releaseFreedNativeMemory(): boolean {
  if (!boundNativeHeap().applied) return false;
  libc().malloc_trim(0n);
  return true;
}

/** madvise advice (Linux): back the range with transparent huge pages. */
const MADV_HUGEPAGE = 14;
/** x86-64's transparent huge page size. */
const HUGE_PAGE_BYTES = 2 * 1024 * 1024;

let hugePagesRefused = false;

/**
 * Asks the kernel to back the 2 MiB-aligned part of a large typed array with
 * transparent huge pages (madvise MADV_HUGEPAGE; this kernel's THP mode is
 * `madvise`, so nothing gets them unasked). A table filled a little at a time
 * then takes one page fault per 2 MiB instead of one per 4 KiB (on this VM a
 * fresh 4 KiB page costs 15-66 us of system time), and its random reads miss
 * the TLB less. One call per table, never per packet. Returns the bytes
 * advised: 0 without FFI permission or libc, or when the kernel refuses.
 */
export function adviseHugePages(array: ArrayBufferView): number {
  if (hugePagesRefused || array.byteLength < 2 * HUGE_PAGE_BYTES) return 0;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      hugePagesRefused = true;
      return 0;
    }
    const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(array)));
    const page = BigInt(HUGE_PAGE_BYTES);
    const start = (address + page - 1n) / page * page;
    const end = (address + BigInt(array.byteLength)) / page * page;
    if (end <= start) return 0;
    if (libc().madvise(Deno.UnsafePointer.create(start), end - start, MADV_HUGEPAGE) !== 0) {
      hugePagesRefused = true;
      return 0;
    }
    return Number(end - start);
  } catch {
    hugePagesRefused = true;
    return 0;
  }
}

/** Peak resident set size of this process (VmHWM), bytes; 0 where /proc is missing. */
export function peakResidentBytes(): number {
  return procStatusKiB("VmHWM") * 1024;
}

/** Resident set size of this process now (VmRSS), bytes; 0 where /proc is missing. */
export function residentBytes(): number {
  return procStatusKiB("VmRSS") * 1024;
}

function procStatusKiB(field: string): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = status.match(new RegExp(`${field}:\\s+(\\d+) kB`));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
