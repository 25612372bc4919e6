/**
 * Native bindings: libpcap (and the few libc calls it needs) through
 * Deno.dlopen. Everything here runs in the calling thread; each worker opens
 * its own binding.
 */
export {
  type CaptureInterface,
  defaultRouteInterface,
  formatIpv6,
  type InterfaceAddress,
  type InterfaceFlags,
  listInterfaces,
} from "./interfaces.ts";
export {
  type Libpcap,
  LIBPCAP_SONAMES,
  libpcapVersion,
  loadLibpcap,
  PcapError,
  type PcapErrorKind,
} from "./libpcap.ts";
export {
  type FanoutGroup,
  FileDumpTarget,
  LiveHandle,
  type LiveHandleOptions,
  MemoryDumpTarget,
  type PcapCounters,
  publishFanoutId,
} from "./pcap_handle.ts";
export {
  adviseHugePages,
  boundNativeHeap,
  type NativeHeapSettings,
  peakResidentBytes,
  releaseFreedNativeMemory,
  residentBytes,
} from "./native_memory.ts";
export {
  currentIds,
  dropPrivileges,
  lookupUser,
  PrivilegeError,
  type SystemUser,
} from "./privileges.ts";
