/**
 * Streams a classic pcap file (Ethernet, microsecond timestamps) to disk in
 * 8 MiB chunks, so the capture generators need little memory for any size.
 */
import { PCAP_FILE_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from "../../src/capture/mod.ts";

/** A pcap file being written; frames are filled in place through `bytes` and `view`. */
export class PcapStream {
  readonly bytes = new Uint8Array(8 << 20);
  readonly view = new DataView(this.bytes.buffer);
  private used = PCAP_FILE_HEADER_BYTES;

  private constructor(private readonly file: Deno.FsFile) {
    const view = this.view;
    view.setUint32(0, 0xa1b2c3d4, true);
    view.setUint16(4, 2, true);
    view.setUint16(6, 4, true);
    view.setUint32(16, 262144, true);
    view.setUint32(20, 1, true);
  }

  /** Creates (or truncates) `path` and writes the file header. */
  static async create(path: string): Promise<PcapStream> {
    return new PcapStream(await Deno.open(path, { write: true, create: true, truncate: true }));
  }

  /**
   * Starts a record of `length` zeroed frame bytes taken at `timeMicros`;
   * returns the offset of its frame in `bytes`.
   */
  async record(timeMicros: number, length: number): Promise<number> {
    if (this.used + PCAP_RECORD_HEADER_BYTES + length > this.bytes.length) await this.flush();
    const at = this.used, view = this.view;
    const seconds = Math.floor(timeMicros / 1e6);
    view.setUint32(at, seconds, true);
    view.setUint32(at + 4, timeMicros - seconds * 1e6, true);
    view.setUint32(at + 8, length, true);
    view.setUint32(at + 12, length, true);
    const frame = at + PCAP_RECORD_HEADER_BYTES;
    this.bytes.fill(0, frame, frame + length);
    this.used = frame + length;
    return frame;
  }

  /** Writes what is buffered and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    this.file.close();
  }

  private async flush(): Promise<void> {
    let written = 0;
    while (written < this.used) {
      written += await this.file.write(this.bytes.subarray(written, this.used));
    }
    this.used = 0;
  }
}
