/**
 * A live libpcap handle: create, configure, activate, filter, then dispatch
 * whole batches into a `pcap_dump` target (a file, or memory through
 * fmemopen) with one FFI call per batch.
 */
import { BPF_INSTRUCTION_BYTES, hostPairFanoutProgram } from "./fanout_program.ts";
import {
  cString,
  errorBufferText,
  IOFBF,
  IONBF,
  lastErrno,
  libc,
  POLLIN,
  readCString,
  SEEK_SET,
} from "./libc.ts";
import {
  BPF_PROGRAM_BYTES,
  loadLibpcap,
  PCAP_ERRBUF_SIZE,
  PCAP_ERROR_IFACE_NOT_UP,
  PCAP_ERROR_NO_SUCH_DEVICE,
  PCAP_ERROR_PERM_DENIED,
  PCAP_ERROR_PROMISC_PERM_DENIED,
  PCAP_NETMASK_UNKNOWN,
  PCAP_STAT_BYTES,
  PcapError,
  type PcapErrorKind,
} from "./libpcap.ts";

/** How to open a live handle. */
export interface LiveHandleOptions {
  /** Interface name, as `ids-sensor interfaces` lists it. */
  interfaceName: string;
  /** Bytes kept of each packet (default 262144, libpcap's maximum). */
  snapLength?: number;
  /** Put the interface in promiscuous mode (default true). */
  promiscuous?: boolean;
  /** Deliver each packet at once instead of per kernel block (default false). */
  immediate?: boolean;
  /** Kernel capture buffer in bytes (default: libpcap's, 2 MiB). */
  bufferBytes?: number;
  /** libpcap read timeout in milliseconds (default 100). */
  timeoutMs?: number;
  /** BPF filter expression, tcpdump syntax. */
  filter?: string;
  /**
   * Joins a PACKET_FANOUT group: the kernel spreads the interface's packets
   * over every socket of the group by a hash of their two IP addresses, the
   * same both ways (fanout_program.ts), so each handle sees whole flows and
   * every connection between two hosts; frames that are not IP go to one.
   */
  fanout?: FanoutGroup;
}

/**
 * One PACKET_FANOUT group shared by several handles (one per capture
 * worker). One handle creates it with PACKET_FANOUT_FLAG_UNIQUEID, so the
 * kernel picks an id no group in the namespace has (two sensors on one host
 * never share one, as a chosen id could), and publishes the id in `shared`;
 * the others wait for it there and join.
 */
export interface FanoutGroup {
  /**
   * Int32 word: 0 until the group exists, then its id; -1 when it will not be
   * made (the creating handle failed, or whoever owns the handles gave up).
   */
  shared: SharedArrayBuffer;
  /** True for the one handle that creates the group. */
  create: boolean;
}

/** Linux socket level and option of packet sockets (linux/if_packet.h). */
const SOL_PACKET = 263;
const PACKET_FANOUT = 18;
/** Fanout by a classic BPF program's result (fanout_program.ts), set with PACKET_FANOUT_DATA. */
const PACKET_FANOUT_CBPF = 6;
const PACKET_FANOUT_DATA = 22;

/** With group id 0: the kernel creates a group with an id not in use (Linux 4.2+). */
const PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;

/** Stores the group's id (or -1: none) and wakes the handles waiting to join. */
export function publishFanoutId(group: FanoutGroup, id: number): void {
  const word = new Int32Array(group.shared);
  Atomics.store(word, 0, id);
  Atomics.notify(word, 0);
}

/** Counters from `pcap_stats`. */
export interface PcapCounters {
  /** Packets the kernel received on the socket (after the filter). */
  received: number;
  /** Packets dropped because the capture buffer was full. */
  kernelDropped: number;
  /** Packets the interface or driver dropped. */
  interfaceDropped: number;
}

/** An activated live capture handle owned by one thread. */
export class LiveHandle {
  /** Link type (DLT) of the interface. */
  readonly linkType: number;
  /** Snap length libpcap applies. */
  readonly snapLength: number;
  /** The interface captured. */
  readonly interfaceName: string;
  /** The PACKET_FANOUT group this handle joined (0: none). */
  fanoutGroupId = 0;
  readonly #pointer: Deno.PointerObject;
  readonly #pollFd = new Int32Array(2);
  readonly #statBuffer = new Uint32Array(PCAP_STAT_BYTES / 4);
  #closed = false;

  private constructor(interfaceName: string, pointer: Deno.PointerObject) {
    const pcap = loadLibpcap().symbols;
    this.interfaceName = interfaceName;
    this.#pointer = pointer;
    this.linkType = pcap.pcap_datalink(pointer);
    this.snapLength = pcap.pcap_snapshot(pointer);
    this.#pollFd[0] = pcap.pcap_get_selectable_fd(pointer);
    this.#pollFd[1] = POLLIN;
  }

  /**
   * Creates, configures and activates a handle, then applies the filter.
   * Throws PcapError with libpcap's message on any refusal.
   */
  static open(options: LiveHandleOptions): LiveHandle {
    const pcap = loadLibpcap().symbols;
    const name = options.interfaceName;
    const errorBuffer = new Uint8Array(PCAP_ERRBUF_SIZE);
    const pointer = pcap.pcap_create(cString(name), errorBuffer);
    if (pointer === null) {
      throw new PcapError("capture", `cannot open ${name}: ${errorBufferText(errorBuffer)}`);
    }
    try {
      pcap.pcap_set_snaplen(pointer, options.snapLength ?? 262144);
      pcap.pcap_set_promisc(pointer, options.promiscuous === false ? 0 : 1);
      pcap.pcap_set_immediate_mode(pointer, options.immediate ? 1 : 0);
      pcap.pcap_set_timeout(pointer, options.timeoutMs ?? 100);
      if (options.bufferBytes) pcap.pcap_set_buffer_size(pointer, options.bufferBytes);
      const status = pcap.pcap_activate(pointer);
      if (status < 0) throw activationError(name, status, readCString(pcap.pcap_geterr(pointer)));
      // libpcap's read timeout never fires on a quiet Linux link (TPACKET_V3),
      // so the handle is non-blocking and waits happen in poll() with a timeout.
      if (pcap.pcap_setnonblock(pointer, 1, errorBuffer) < 0) {
        throw new PcapError("capture", `${name}: ${errorBufferText(errorBuffer)}`);
      }
      const handle = new LiveHandle(name, pointer);
      if (options.filter) handle.#applyFilter(options.filter);
      if (options.fanout) handle.#joinFanout(options.fanout);
      return handle;
    } catch (error) {
      // The other members stop waiting and fail too.
      if (options.fanout?.create) publishFanoutId(options.fanout, -1);
      pcap.pcap_close(pointer);
      throw error;
    }
  }

  /** setsockopt(PACKET_FANOUT) on libpcap's socket: a few FFI calls, once, after activation. */
  #joinFanout(group: FanoutGroup): void {
    const fd = this.#pollFd[0];
    // By host pair (fanout_program.ts), not the kernel's flow hash (which needed FLAG_DEFRAG).
    const mode = PACKET_FANOUT_CBPF;
    let id: number;
    if (group.create) {
      this.#setFanout(fd, 0, mode | PACKET_FANOUT_FLAG_UNIQUEID, "create a PACKET_FANOUT group");
      const value = new Int32Array(1);
      const length = new Uint32Array([4]);
      if (
        libc().getsockopt(
          fd,
          SOL_PACKET,
          PACKET_FANOUT,
          new Uint8Array(value.buffer),
          new Uint8Array(length.buffer),
        ) < 0
      ) {
        throw new PcapError("capture", `${this.interfaceName}: PACKET_FANOUT id: ${lastErrno()}`);
      }
      id = value[0] & 0xffff;
      this.#setFanoutProgram(fd);
      publishFanoutId(group, id);
    } else {
      const word = new Int32Array(group.shared);
      while (Atomics.load(word, 0) === 0) Atomics.wait(word, 0, 0, 1000);
      id = Atomics.load(word, 0);
      if (id <= 0) {
        throw new PcapError(
          "capture",
          `${this.interfaceName}: no PACKET_FANOUT group to join (its creating handle failed)`,
        );
      }
      this.#setFanout(fd, id, mode, `join PACKET_FANOUT group ${id}`);
    }
    this.fanoutGroupId = id;
  }

  /** The group's program (one per group, set by its creator): struct sock_fprog { u16 len; ptr filter; }. */
  #setFanoutProgram(fd: number): void {
    const program = hostPairFanoutProgram();
    const fprog = new Uint8Array(16);
    const view = new DataView(fprog.buffer);
    view.setUint16(0, program.length / BPF_INSTRUCTION_BYTES, true);
    view.setBigUint64(8, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(program))), true);
    if (libc().setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, fprog, fprog.length) < 0) {
      throw new PcapError(
        "capture",
        `${this.interfaceName}: cannot set the PACKET_FANOUT program: ${lastErrno()}`,
      );
    }
  }

  #setFanout(fd: number, id: number, mode: number, what: string): void {
    const value = new Int32Array([id | (mode << 16)]);
    if (libc().setsockopt(fd, SOL_PACKET, PACKET_FANOUT, new Uint8Array(value.buffer), 4) < 0) {
      throw new PcapError("capture", `${this.interfaceName}: cannot ${what}: ${lastErrno()}`);
    }
  }

  #applyFilter(expression: string): void {
    const pcap = loadLibpcap().symbols;
    const program = new Uint8Array(BPF_PROGRAM_BYTES);
    if (
      pcap.pcap_compile(this.#pointer, program, cString(expression), 1, PCAP_NETMASK_UNKNOWN) < 0
    ) {
      throw new PcapError(
        "bad-filter",
        `bad BPF filter "${expression}": ${this.#lastError()}`,
      );
    }
    const status = pcap.pcap_setfilter(this.#pointer, program);
    pcap.pcap_freecode(program);
    if (status < 0) {
      throw new PcapError(
        "bad-filter",
        `cannot set filter on ${this.interfaceName}: ${this.#lastError()}`,
      );
    }
  }

  /**
   * Runs `pcap_dispatch` with libpcap's `pcap_dump` as the callback: up to
   * `maxPackets` packets are written by C into `dumper`'s stream. Returns the
   * number of packets written (0 when none were waiting).
   */
  dispatchToDumper(dumper: Deno.PointerObject, maxPackets: number): number {
    const pcap = loadLibpcap();
    const count = pcap.symbols.pcap_dispatch(
      this.#pointer,
      maxPackets,
      pcap.pcapDumpFunction,
      dumper,
    );
    if (count < 0) {
      throw new PcapError(
        "capture",
        `capture on ${this.interfaceName} failed: ${this.#lastError()}`,
      );
    }
    return count;
  }

  /** Waits up to `timeoutMs` for packets; true when some may be ready. */
  waitReadable(timeoutMs: number): boolean {
    this.#pollFd[1] = POLLIN;
    return libc().poll(new Uint8Array(this.#pollFd.buffer), 1n, timeoutMs) > 0;
  }

  /** Reads `pcap_stats` (32-bit counters that wrap, as libpcap keeps them). */
  counters(): PcapCounters {
    const pcap = loadLibpcap().symbols;
    if (pcap.pcap_stats(this.#pointer, new Uint8Array(this.#statBuffer.buffer)) < 0) {
      throw new PcapError("capture", `pcap_stats on ${this.interfaceName}: ${this.#lastError()}`);
    }
    return {
      received: this.#statBuffer[0],
      kernelDropped: this.#statBuffer[1],
      interfaceDropped: this.#statBuffer[2],
    };
  }

  /** Opens a pcap file for `pcap_dump` (the file header is written at once). */
  openFileDumper(path: string): FileDumpTarget {
    const dumper = loadLibpcap().symbols.pcap_dump_open(this.#pointer, cString(path));
    if (dumper === null) {
      throw new PcapError("output", `cannot write ${path}: ${this.#lastError()}`);
    }
    return new FileDumpTarget(dumper);
  }

  /**
   * Opens a `pcap_dump` target on `memory` through libc fmemopen. The memory
   * (which may be a SharedArrayBuffer view) must outlive the target.
   */
  openMemoryDumper(memory: Uint8Array): MemoryDumpTarget {
    return new MemoryDumpTarget(this.#pointer, memory);
  }

  /** Closes the handle; later calls are no-ops. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    loadLibpcap().symbols.pcap_close(this.#pointer);
  }

  #lastError(): string {
    return readCString(loadLibpcap().symbols.pcap_geterr(this.#pointer));
  }
}

/** A `pcap_dump` stream writing a pcap file. */
export class FileDumpTarget {
  /** Pass this to LiveHandle.dispatchToDumper. */
  readonly dumper: Deno.PointerObject;

  constructor(dumper: Deno.PointerObject) {
    this.dumper = dumper;
  }

  /** Pushes buffered records to the file, so a killed process keeps them. */
  flush(): void {
    loadLibpcap().symbols.pcap_dump_flush(this.dumper);
  }

  /** Flushes and closes the file. */
  close(): void {
    loadLibpcap().symbols.pcap_dump_close(this.dumper);
  }
}

/**
 * A `pcap_dump` stream writing into memory. After a dispatch, `flushedEnd()`
 * says how many bytes of records the memory holds; `rewind()` starts over.
 */
export class MemoryDumpTarget {
  /** Pass this to LiveHandle.dispatchToDumper. */
  readonly dumper: Deno.PointerObject;
  readonly #stream: Deno.PointerObject;

  constructor(pcapPointer: Deno.PointerObject, memory: Uint8Array, stdioBufferBytes = 0) {
    const c = libc();
    // "w" needs writable memory only; libc adds a NUL after the last byte
    // written when there is room, which the record parser never reads.
    const stream = c.fmemopen(memory, BigInt(memory.byteLength), cString("w"));
    if (stream === null) throw new PcapError("output", "fmemopen failed");
    // Unbuffered by default: pcap_dump's writes go straight into `memory`.
    if (stdioBufferBytes > 0) c.setvbuf(stream, null, IOFBF, BigInt(stdioBufferBytes));
    else c.setvbuf(stream, null, IONBF, 0n);
    const dumper = loadLibpcap().symbols.pcap_dump_fopen(pcapPointer, stream);
    if (dumper === null) {
      c.fclose(stream);
      throw new PcapError("output", "pcap_dump_fopen failed on an fmemopen stream");
    }
    this.dumper = dumper;
    this.#stream = stream;
  }

  /** Next write goes to byte 0 (the file header written at open is overwritten). */
  rewind(): void {
    libc().fseek(this.#stream, 0n, SEEK_SET);
  }

  /** Bytes written since the last rewind. */
  flushedEnd(): number {
    const c = libc();
    c.fflush(this.#stream);
    return Number(c.ftell(this.#stream));
  }

  /** Closes the dumper and its stream. */
  close(): void {
    loadLibpcap().symbols.pcap_dump_close(this.dumper);
  }
}

function activationError(name: string, status: number, detail: string): PcapError {
  const statusText = readCString(loadLibpcap().symbols.pcap_statustostr(status));
  let kind: PcapErrorKind = "capture";
  let message = `cannot capture on ${name}: ${statusText}`;
  if (status === PCAP_ERROR_NO_SUCH_DEVICE) {
    kind = "no-such-device";
    message = `no such interface "${name}" (see \`ids-sensor interfaces\`)`;
  } else if (status === PCAP_ERROR_PERM_DENIED || status === PCAP_ERROR_PROMISC_PERM_DENIED) {
    kind = "permission-denied";
    message = `permission denied capturing on ${name} (run as root or grant CAP_NET_RAW)`;
  } else if (status === PCAP_ERROR_IFACE_NOT_UP) {
    kind = "interface-down";
    message = `interface ${name} is not up`;
  }
  return new PcapError(kind, detail ? `${message}: ${detail}` : message, status);
}
