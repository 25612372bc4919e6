/**
 * The packet-level feature sets beside the flow one (schema.ts): one row per
 * metered packet, named and versioned like it, so a bundle member that reads
 * them is checked the same way.
 *
 * - `packet`: the packet's own header fields, payload length, entropy and
 *   inter-arrival times on its host, channel and socket.
 * - `packet-sequence`: the last N packets of the packet's conversation (both
 *   directions of an IP pair) summarised, ending at this packet.
 * - `afterimage`: Kitsune's damped incremental statistics (Mirsky et al.,
 *   NDSS 2018) over five decay factors per source MAC-IP, source IP, channel,
 *   channel jitter and socket.
 */
import type { FeatureColumn, FeatureSet } from "./schema.ts";

const c = (name: string, unit: string, description: string): FeatureColumn => ({
  name,
  description,
  unit,
});

const flag = (name: string) =>
  c(`TCP ${name}`, "0/1", `TCP ${name} flag set (0 for other protocols)`);

/** Per-packet fields: headers, payload, inter-arrival times per host, channel and socket. */
export const PACKET_FEATURE_SET: FeatureSet = {
  name: "packet",
  version: 1,
  columns: [
    c("Protocol", "number", "IP protocol number"),
    c("IP Version", "number", "4 or 6"),
    c("Frame Length", "bytes", "Bytes on the wire"),
    c("IP Length", "bytes", "IP datagram bytes from the IP header"),
    c("TTL", "hops", "IPv4 TTL or IPv6 hop limit"),
    c("L4 Header Length", "bytes", "TCP data offset * 4, UDP 8, ICMP 8, else 0"),
    c("Payload Length", "bytes", "L4 payload bytes as sent"),
    c("Captured Payload", "bytes", "L4 payload bytes present in the capture (snap length)"),
    c(
      "Payload Entropy",
      "bits/byte",
      "Shannon entropy of the first 1024 captured payload bytes (0 without payload)",
    ),
    c(
      "Payload Printable",
      "fraction",
      "Share of those bytes that are printable ASCII or whitespace",
    ),
    c("Payload Zero", "fraction", "Share of those bytes that are 0"),
    c("Source Port", "port", "Source port (ICMP: the type)"),
    c("Destination Port", "port", "Destination port (ICMP: the reply type or the code)"),
    c("Source Port Low", "0/1", "Source port below 1024"),
    c("Destination Port Low", "0/1", "Destination port below 1024"),
    c("Source Port Ephemeral", "0/1", "Source port 32768 or above"),
    flag("FIN"),
    flag("SYN"),
    flag("RST"),
    flag("PSH"),
    flag("ACK"),
    flag("URG"),
    flag("ECE"),
    flag("CWR"),
    flag("NS"),
    c("TCP Window", "bytes", "TCP window field (unscaled; 0 for other protocols)"),
    c("TCP MSS", "bytes", "TCP MSS option, -1 when absent"),
    c("First Fragment", "0/1", "First fragment of a fragmented datagram"),
    c("VLAN Tagged", "0/1", "Packet carried an 802.1Q tag"),
    c(
      "Host IAT",
      "microseconds",
      "Time since the source address's previous packet (-1 for its first)",
    ),
    c("Channel IAT", "microseconds", "Time since the previous packet source -> destination (-1)"),
    c(
      "Reverse Channel Gap",
      "microseconds",
      "Time since the last packet destination -> source (-1 when none yet)",
    ),
    c(
      "Socket IAT",
      "microseconds",
      "Time since the previous packet on this 5-tuple direction (-1)",
    ),
    c("Host Packets", "packets", "Packets from the source address so far, this one included"),
    c("Channel Packets", "packets", "Packets source -> destination so far"),
    c("Socket Packets", "packets", "Packets on this 5-tuple direction so far"),
    c("Reverse Channel Packets", "packets", "Packets destination -> source so far"),
  ],
};

const seqStats = (what: string, unit: string): FeatureColumn[] => [
  c(`Window ${what} Mean`, unit, `Mean ${what.toLowerCase()} over the window`),
  c(`Window ${what} Std`, unit, `Population standard deviation of ${what.toLowerCase()}`),
  c(`Window ${what} Min`, unit, `Smallest ${what.toLowerCase()}`),
  c(`Window ${what} Max`, unit, `Largest ${what.toLowerCase()}`),
];

/** Default sliding window of the sequence set, in packets per conversation. */
export const DEFAULT_WINDOW_PACKETS = 16;

/** Sliding windows of the last N packets of a conversation (IP pair, both ways), one row per packet. */
export const SEQUENCE_FEATURE_SET: FeatureSet = {
  name: "packet-sequence",
  version: 1,
  columns: [
    c("Window Packets", "packets", "Packets in the window (at most N, default 16)"),
    c("Window Duration", "microseconds", "Time from the window's first to its last packet"),
    c("Window Packets/s", "packets/second", "Packets per second of window duration (0 at 0)"),
    ...seqStats("Frame Length", "bytes"),
    ...seqStats("Payload", "bytes"),
    ...seqStats("IAT", "microseconds"),
    c("Window Entropy Mean", "bits/byte", "Mean payload entropy over packets with payload"),
    c("Window Entropy Max", "bits/byte", "Largest payload entropy"),
    c("Window Same Direction", "fraction", "Share of packets sent in this packet's direction"),
    c("Window Direction Changes", "count", "Times consecutive packets change direction"),
    c("Window SYN", "fraction", "Share of packets with TCP SYN"),
    c("Window FIN", "fraction", "Share of packets with TCP FIN"),
    c("Window RST", "fraction", "Share of packets with TCP RST"),
    c("Window PSH", "fraction", "Share of packets with TCP PSH"),
    c("Window ACK Only", "fraction", "Share of TCP packets with ACK and no payload"),
    c("Window Empty", "fraction", "Share of packets without payload"),
    c(
      "Window Destination Ports",
      "count",
      "Distinct destination ports in the window (per sender)",
    ),
    c("Window Source Ports", "count", "Distinct source ports in the window"),
    c("Window Protocols", "count", "Distinct IP protocols in the window"),
  ],
};

/** AfterImage decay factors (lambda, per second): weights halve every 1/lambda seconds. */
export const AFTERIMAGE_LAMBDAS = [5, 3, 1, 0.1, 0.01] as const;

function afterImageColumns(): FeatureColumn[] {
  const columns: FeatureColumn[] = [];
  const oneD = (stream: string, what: string, value: string) => {
    for (const l of AFTERIMAGE_LAMBDAS) {
      columns.push(
        c(`${stream}_L${l}_weight`, "packets", `Decayed packet count of ${what} (lambda ${l}/s)`),
        c(`${stream}_L${l}_mean`, "bytes", `Decayed mean ${value} of ${what}`),
        c(`${stream}_L${l}_std`, "bytes", `Decayed standard deviation of ${value} of ${what}`),
      );
    }
  };
  const twoD = (stream: string, what: string) => {
    for (const l of AFTERIMAGE_LAMBDAS) {
      columns.push(
        c(`${stream}_L${l}_weight`, "packets", `Decayed packet count of ${what} (lambda ${l}/s)`),
        c(`${stream}_L${l}_mean`, "bytes", `Decayed mean frame length of ${what}`),
        c(`${stream}_L${l}_std`, "bytes", `Decayed standard deviation of frame length of ${what}`),
        c(
          `${stream}_L${l}_magnitude`,
          "bytes",
          "sqrt(mean^2 + reverse mean^2): both directions' decayed means",
        ),
        c(`${stream}_L${l}_radius`, "bytes", "sqrt(var + reverse var)"),
        c(
          `${stream}_L${l}_covariance`,
          "bytes^2",
          "Decayed covariance of the two directions' residuals",
        ),
        c(`${stream}_L${l}_pcc`, "ratio", "Covariance / (std * reverse std), 0 when either is 0"),
      );
    }
  };
  oneD("MI", "the source MAC and IP", "frame length");
  oneD("H", "the source IP", "frame length");
  twoD("HH", "the channel source IP -> destination IP");
  for (const l of AFTERIMAGE_LAMBDAS) {
    columns.push(
      c(`HH_jit_L${l}_weight`, "packets", `Decayed packet count of the channel (lambda ${l}/s)`),
      c(`HH_jit_L${l}_mean`, "seconds", "Decayed mean time between the channel's packets"),
      c(`HH_jit_L${l}_std`, "seconds", "Decayed standard deviation of that time"),
    );
  }
  twoD("HpHp", "the socket (protocol, source IP:port -> destination IP:port)");
  return columns;
}

/** Kitsune's 115 AfterImage features, by stream (MI, H, HH, HH_jit, HpHp), then lambda. */
export const AFTERIMAGE_FEATURE_SET: FeatureSet = {
  name: "afterimage",
  version: 1,
  columns: afterImageColumns(),
};

/** Every packet-level set, by name. */
export const PACKET_FEATURE_SETS: Readonly<Record<string, FeatureSet>> = {
  [PACKET_FEATURE_SET.name]: PACKET_FEATURE_SET,
  [SEQUENCE_FEATURE_SET.name]: SEQUENCE_FEATURE_SET,
  [AFTERIMAGE_FEATURE_SET.name]: AFTERIMAGE_FEATURE_SET,
};

/** Names of the packet-level sets. */
export type PacketSetName = "packet" | "packet-sequence" | "afterimage";
