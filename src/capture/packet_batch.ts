/**
 * The contract between capture sources and the decoder: a batch of packets
 * laid out in reusable typed arrays, so the hot path allocates nothing per
 * packet. Packet `i` occupies `data[offset[i] .. offset[i] + capturedLength[i])`.
 * Arrays are sized to `capacity`; only the first `count` entries are valid.
 * A source may reuse the same batch object (and its buffers) for the next
 * batch, so consumers must finish with a batch before asking for another.
 */
export interface PacketBatch {
  /** Number of valid packets in this batch. */
  count: number;
  /** Bytes holding the packets (may be a view into a larger or shared buffer). */
  data: Uint8Array;
  /** Byte offset of each packet in `data`. */
  offset: Uint32Array;
  /** Bytes captured for each packet (at most the snap length). */
  capturedLength: Uint32Array;
  /** Bytes the packet had on the wire. */
  wireLength: Uint32Array;
  /** Capture time of each packet, microseconds since the Unix epoch. */
  timestampMicros: Float64Array;
  /** libpcap DLT / LINKTYPE of each packet (pcapng may mix interfaces). */
  linkType: Uint16Array;
}

/** Allocates an empty batch able to hold `capacity` packets. */
export function createPacketBatch(capacity: number, dataBytes: number): PacketBatch {
  return {
    count: 0,
    data: new Uint8Array(dataBytes),
    offset: new Uint32Array(capacity),
    capturedLength: new Uint32Array(capacity),
    wireLength: new Uint32Array(capacity),
    timestampMicros: new Float64Array(capacity),
    linkType: new Uint16Array(capacity),
  };
}
