/**
 * Capture straight to a pcap file: the worker's libpcap writes every packet
 * with `pcap_dump`, batch by batch, flushing every second.
 */
import { CaptureWorker } from "./live_worker_client.ts";

/** Options for captureToFile. */
export interface FileCaptureOptions {
  interfaceName: string;
  /** pcap file to write (created or truncated). */
  path: string;
  /** Bytes kept per packet (default 262144: whole packets). */
  snapLength?: number;
  promiscuous?: boolean;
  /** Kernel capture buffer in bytes (default 32 MiB). */
  bufferBytes?: number;
  filter?: string;
  /** Stop by itself after this long (0 or absent: until stop()). */
  durationSeconds?: number;
}

/**
 * Starts a worker capturing `interfaceName` into `path`. Await `ready`
 * (rejects with a PcapError when the interface or filter is refused), call
 * `stop()` to end early, await `finished`, then read `stats()`.
 */
export function captureToFile(options: FileCaptureOptions): CaptureWorker {
  return new CaptureWorker({
    handle: {
      interfaceName: options.interfaceName,
      snapLength: options.snapLength ?? 262144,
      promiscuous: options.promiscuous,
      bufferBytes: options.bufferBytes ?? 32 << 20,
      filter: options.filter,
    },
    slotCount: 0,
    slotBytes: 0,
    wakeup: new SharedArrayBuffer(4),
    durationSeconds: options.durationSeconds ?? 0,
    filePath: options.path,
  });
}
