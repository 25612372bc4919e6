/**
 * Packet decoding for the flow meter: packet `i` of a PacketBatch is decoded
 * into one reused DecodedPacket (no object per packet). Every packet gets an
 * outcome: metered (it feeds a flow) or a named reason why not, so that
 * `metered + sum(notMetered) = packets` always holds. Bad bytes never throw.
 *
 * Fragments: only the first fragment of an IP datagram carries the L4 header,
 * so it alone is metered, once per datagram. Non-first fragments are counted
 * under "ip-fragment-non-first" and not attributed to a flow. This matches
 * tshark's conversation tables, which (with its default reassembly) count one
 * TCP/UDP frame per reassembled datagram. For UDP the payload size is taken
 * from the UDP length field, which covers the whole datagram.
 *
 * Tunnels: a mirrored or overlay link carries its traffic inside another
 * packet (VXLAN from AWS, Azure and GCP traffic mirroring and from Linux
 * and Kubernetes overlays; Geneve from gateway load balancers; ERSPAN from
 * switches' remote SPAN; GRE, IP in IP, MPLS, PPPoE). The decoder opens them
 * (at most MAX_TUNNELS deep) and meters the innermost packet, as Suricata
 * and Zeek do: otherwise every conversation on the link is one tunnel flow
 * and the sensor sees nothing. `tunnel` names the innermost one opened. A
 * tunnel header that does not validate leaves the packet as its outer flow.
 */
import type { PacketBatch } from "../capture/mod.ts";

/** Why a packet did not feed a flow; index 0 means it did. */
export const DECODE_OUTCOMES = [
  "metered",
  "unsupported-link-type",
  "truncated-link-header",
  "arp",
  "other-ethertype",
  "truncated-ip-header",
  "bad-ip-version",
  "bad-ip-header-length",
  "bad-ip-total-length",
  "truncated-ipv6-extension-header",
  "ip-fragment-non-first",
  "truncated-tcp-header",
  "bad-tcp-header-length",
  "truncated-udp-header",
  "bad-udp-length",
  "truncated-icmp-header",
] as const;
export type DecodeOutcome = typeof DECODE_OUTCOMES[number];

/** Tunnels the decoder opens (DecodedPacket.tunnel; index 0: none). */
export const DECODE_TUNNELS = [
  "none",
  "vxlan",
  "geneve",
  "gre",
  "erspan",
  "ip-in-ip",
  "mpls",
  "pppoe",
] as const;
export type DecodeTunnel = typeof DECODE_TUNNELS[number];
const VXLAN = 1, GENEVE = 2, GRE = 3, ERSPAN = 4, IP_IN_IP = 5, MPLS = 6, PPPOE = 7;
/**
 * Most tunnels opened in one packet (VXLAN inside GRE inside MPLS is 3);
 * past it the packet is metered as the flow it is at that depth.
 */
export const MAX_TUNNELS = 4;
/**
 * UDP ports of VXLAN: IANA's 4789 (cloud traffic mirroring, most overlays)
 * and Linux's older default 8472 (flannel, Kubernetes' common overlay).
 */
const VXLAN_PORT = 4789, VXLAN_LINUX_PORT = 8472, GENEVE_PORT = 6081;

/** Outcome indices, named for readability in the decoder. */
const OK = 0,
  UNSUPPORTED_LINK = 1,
  TRUNCATED_LINK = 2,
  ARP = 3,
  OTHER_ETHERTYPE = 4,
  TRUNCATED_IP = 5,
  BAD_IP_VERSION = 6,
  BAD_IP_HEADER_LENGTH = 7,
  BAD_IP_TOTAL_LENGTH = 8,
  TRUNCATED_IPV6_EXT = 9,
  FRAGMENT_NON_FIRST = 10,
  TRUNCATED_TCP = 11,
  BAD_TCP_HEADER_LENGTH = 12,
  TRUNCATED_UDP = 13,
  BAD_UDP_LENGTH = 14,
  TRUNCATED_ICMP = 15;

/** TCP flag bits as in the TCP header (byte 13), plus NS as bit 8. */
export const TCP_FIN = 0x01,
  TCP_SYN = 0x02,
  TCP_RST = 0x04,
  TCP_PSH = 0x08,
  TCP_ACK = 0x10,
  TCP_URG = 0x20,
  TCP_ECE = 0x40,
  TCP_CWR = 0x80;

export const PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17, PROTO_ICMPV6 = 58, PROTO_SCTP = 132;

/** The reused result of decoding one packet; valid until the next decode. */
export class DecodedPacket {
  /**
   * Capture time, microseconds since the epoch (the batch's timestamp). The
   * flow table reads it here: passed as an argument to a call that is not
   * inlined, a double this large is boxed, one allocation per packet.
   */
  timeMicros = 0;
  /**
   * Direction-independent hash of the flow key, set by setFlowHash (the flow
   * meter sets it before the table sees the packet). A field for the same
   * reason as timeMicros: most 32-bit hashes are too large to pass unboxed.
   */
  flowHash = 0;
  /** 4 or 6. */
  ipVersion = 0;
  /** 16 bytes; IPv4 stored IPv4-mapped (::ffff:a.b.c.d). */
  readonly srcAddr = new Uint8Array(16);
  readonly dstAddr = new Uint8Array(16);
  /** The same bytes as 32-bit words, for hashing and comparing. */
  readonly srcWords = new Uint32Array(this.srcAddr.buffer);
  readonly dstWords = new Uint32Array(this.dstAddr.buffer);
  protocol = 0;
  /**
   * Ports; for ICMP/ICMPv6 the Community ID convention: srcPort = type,
   * dstPort = the paired reply type (echo 8 -> 0) or else the code.
   */
  srcPort = 0;
  dstPort = 0;
  /** VLAN id of the innermost tagged Ethernet frame, 0 when untagged. */
  vlan = 0;
  /** The innermost tunnel opened to reach this packet (DECODE_TUNNELS index), 0 when none. */
  tunnel = 0;
  /** TCP flags (0 for other protocols). */
  tcpFlags = 0;
  tcpWindow = 0;
  /** MSS option value, -1 when absent. */
  tcpMss = -1;
  /** L4 header bytes (TCP data offset * 4, UDP 8, ICMP 8, else 0). */
  l4HeaderBytes = 0;
  /** L4 payload bytes as sent (from IP/UDP lengths, not the capture length). */
  payloadBytes = 0;
  /** IP datagram bytes from the IP header's length. */
  ipBytes = 0;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl = 0;
  /** Offset in the batch's `data` where the L4 payload starts (payload may be cut by the snap length). */
  payloadOffset = 0;
  /** Set by the flow meter: the login outcome a server's segment says (login_outcomes.ts), else 0. */
  loginOutcome = 0;
  /** Set by the flow meter: what an SSH segment is (ssh_auth.ts), else 0. */
  sshSegment = 0;
  /** True when this is the first fragment of a fragmented datagram. */
  firstFragment = false;
  /** For ICMP: true when the ICMP type is one-way (no reply type). */
  icmpOneWay = false;
  /** For ARP (outcome "arp"): offset in the batch's `data` where the ARP message starts. */
  arpOffset = 0;
  /** For IPv4: offset in the batch's `data` of the IP header (see ipv4Fragment). */
  ipOffset = 0;
  /** An IPv4 fragment (first or later), whatever the decode's outcome: its header is at ipOffset. */
  ipv4Fragment = false;
  /**
   * An IPv6 fragment (first or later: a fragment header with an offset or
   * more to come), whatever the decode's outcome; its place in the datagram
   * (bytes [fragmentStart, fragmentEnd)), identification and next header.
   */
  ipv6Fragment = false;
  fragmentStart = 0;
  fragmentEnd = 0;
  fragmentId = 0;
  fragmentNext = 0;
}

const IPV4_MAPPED_PREFIX_WORD2 = 0xffff0000; // bytes 10,11 = 0xff in little-endian word 2

/**
 * Decodes packet `index` of `batch` into `out`; returns the outcome index
 * (0 = metered). `otherLinkTypes` counts packets of unsupported link types.
 */
export function decodePacket(
  batch: PacketBatch,
  index: number,
  out: DecodedPacket,
  otherLinkTypes?: Map<number, number>,
): number {
  const data = batch.data;
  const start = batch.offset[index];
  const end = start + batch.capturedLength[index];
  const linkType = batch.linkType[index];
  out.timeMicros = batch.timestampMicros[index];
  out.ipv4Fragment = false;
  out.ipv6Fragment = false;
  if (end > data.length) return TRUNCATED_LINK;
  out.vlan = 0;
  out.tunnel = 0;
  let at = start;
  let etherType = 0;
  switch (linkType) {
    case 1: // Ethernet
      return decodeEthernet(data, at, end, out, 0);
    case 113: // Linux cooked v1: protocol at 14
      if (end - at < 16) return TRUNCATED_LINK;
      etherType = (data[at + 14] << 8) | data[at + 15];
      at += 16;
      break;
    case 276: // Linux cooked v2: protocol at 0
      if (end - at < 20) return TRUNCATED_LINK;
      etherType = (data[at] << 8) | data[at + 1];
      at += 20;
      break;
    case 101:
    case 12:
    case 14: // raw IP (DLT_RAW variants): version nibble decides
      return decodeRawIp(data, at, end, out, 0);
    case 228:
      return decodeIpv4(data, at, end, out, 0);
    case 229:
      return decodeIpv6(data, at, end, out, 0);
    case 0: { // BSD null/loopback: address family in host byte order
      if (end - at < 4) return TRUNCATED_LINK;
      const le = data[at] | (data[at + 1] << 8);
      const be = (data[at + 2] << 8) | data[at + 3];
      const family = le !== 0 ? le : be;
      at += 4;
      return decodeByAddressFamily(family, data, at, end, out);
    }
    case 108: { // OpenBSD loop: address family in network byte order
      if (end - at < 4) return TRUNCATED_LINK;
      const family = (data[at + 2] << 8) | data[at + 3];
      at += 4;
      return decodeByAddressFamily(family, data, at, end, out);
    }
    default:
      if (otherLinkTypes) otherLinkTypes.set(linkType, (otherLinkTypes.get(linkType) ?? 0) + 1);
      return UNSUPPORTED_LINK;
  }
  return decodeEtherType(etherType, data, at, end, out, 0);
}

/** An Ethernet frame at `at` (the link's, or one a tunnel carries). */
function decodeEthernet(
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (end - at < 14) return TRUNCATED_LINK;
  return decodeEtherType((data[at + 12] << 8) | data[at + 13], data, at + 14, end, out, tunnels);
}

/** What follows an EtherType field at `at`; `tunnels` opened so far. */
function decodeEtherType(
  etherType: number,
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  // VLAN tags (802.1Q, 802.1ad QinQ, legacy 0x9100): keep the outer id of the frame.
  let tags = 0;
  while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
    if (end - at < 4) return TRUNCATED_LINK;
    if (tags === 0) out.vlan = ((data[at] << 8) | data[at + 1]) & 0x0fff;
    etherType = (data[at + 2] << 8) | data[at + 3];
    at += 4;
    if (++tags > 8) return OTHER_ETHERTYPE;
  }
  if (etherType === 0x0800) return decodeIpv4(data, at, end, out, tunnels);
  if (etherType === 0x86dd) return decodeIpv6(data, at, end, out, tunnels);
  if (etherType === 0x0806) {
    out.arpOffset = at;
    return ARP;
  }
  if (tunnels < MAX_TUNNELS) {
    if (etherType === 0x8847 || etherType === 0x8848) {
      return decodeMpls(data, at, end, out, tunnels);
    }
    if (etherType === 0x8864) return decodePppoe(data, at, end, out, tunnels);
  }
  return OTHER_ETHERTYPE;
}

/**
 * An MPLS label stack: the labels up to the bottom of the stack, then IPv4
 * or IPv6 by the version nibble, or an Ethernet pseudowire behind its
 * 4-byte control word (first nibble 0).
 */
function decodeMpls(
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  for (let labels = 0;; labels++) {
    if (end - at < 4) return TRUNCATED_LINK;
    const bottom = (data[at + 2] & 1) === 1;
    at += 4;
    if (bottom) break;
    if (labels === 8) return OTHER_ETHERTYPE;
  }
  if (end - at < 1) return TRUNCATED_IP;
  out.tunnel = MPLS;
  const nibble = data[at] >> 4;
  if (nibble === 4) return decodeIpv4(data, at, end, out, tunnels + 1);
  if (nibble === 6) return decodeIpv6(data, at, end, out, tunnels + 1);
  if (nibble === 0) return decodeEthernet(data, at + 4, end, out, tunnels + 1);
  return OTHER_ETHERTYPE;
}

/**
 * A PPPoE session frame: its 6-byte header and PPP's protocol, IPv4 (0x21)
 * or IPv6 (0x57), in two bytes or, compressed (RFC 1661 PFC), one: a
 * protocol's low byte is odd and its high byte even.
 */
function decodePppoe(
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (end - at < 8) return TRUNCATED_LINK;
  if (data[at] !== 0x11 || data[at + 1] !== 0) return OTHER_ETHERTYPE;
  const compressed = (data[at + 6] & 1) === 1;
  const protocol = compressed ? data[at + 6] : (data[at + 6] << 8) | data[at + 7];
  const inner = at + (compressed ? 7 : 8);
  out.tunnel = PPPOE;
  if (protocol === 0x0021) return decodeIpv4(data, inner, end, out, tunnels + 1);
  if (protocol === 0x0057) return decodeIpv6(data, inner, end, out, tunnels + 1);
  return OTHER_ETHERTYPE;
}

function decodeByAddressFamily(
  family: number,
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
): number {
  if (family === 2) return decodeIpv4(data, at, end, out, 0);
  // AF_INET6 differs by OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30.
  if (family === 10 || family === 24 || family === 28 || family === 30) {
    return decodeIpv6(data, at, end, out, 0);
  }
  return OTHER_ETHERTYPE;
}

function decodeRawIp(
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (end - at < 1) return TRUNCATED_IP;
  const version = data[at] >> 4;
  if (version === 4) return decodeIpv4(data, at, end, out, tunnels);
  if (version === 6) return decodeIpv6(data, at, end, out, tunnels);
  return BAD_IP_VERSION;
}

function decodeIpv4(
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  out.ipOffset = at;
  if (end - at < 20) return TRUNCATED_IP;
  if (data[at] >> 4 !== 4) return BAD_IP_VERSION;
  const headerBytes = (data[at] & 0x0f) * 4;
  if (headerBytes < 20) return BAD_IP_HEADER_LENGTH;
  if (end - at < headerBytes) return TRUNCATED_IP;
  let totalLength = (data[at + 2] << 8) | data[at + 3];
  // Length 0 appears with TCP segmentation offload on the capturing host.
  if (totalLength === 0) totalLength = end - at;
  if (totalLength < headerBytes) return BAD_IP_TOTAL_LENGTH;
  const fragmentField = (data[at + 6] << 8) | data[at + 7];
  const fragmentOffset = fragmentField & 0x1fff;
  out.ipv4Fragment = (fragmentField & 0x3fff) !== 0;
  if (fragmentOffset !== 0) return FRAGMENT_NON_FIRST;
  out.firstFragment = (fragmentField & 0x2000) !== 0;
  out.ipVersion = 4;
  const src = out.srcWords, dst = out.dstWords;
  src[0] = 0, src[1] = 0, src[2] = IPV4_MAPPED_PREFIX_WORD2;
  dst[0] = 0, dst[1] = 0, dst[2] = IPV4_MAPPED_PREFIX_WORD2;
  const s = out.srcAddr, d = out.dstAddr;
  s[12] = data[at + 12], s[13] = data[at + 13], s[14] = data[at + 14], s[15] = data[at + 15];
  d[12] = data[at + 16], d[13] = data[at + 17], d[14] = data[at + 18], d[15] = data[at + 19];
  out.ipBytes = totalLength;
  out.ttl = data[at + 8];
  return decodeTransport(
    data,
    at + headerBytes,
    end,
    totalLength - headerBytes,
    data[at + 9],
    out,
    tunnels,
  );
}

function decodeIpv6(
  data: Uint8Array,
  at: number,
  end: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (end - at < 40) return TRUNCATED_IP;
  if (data[at] >> 4 !== 6) return BAD_IP_VERSION;
  let payloadLength = (data[at + 4] << 8) | data[at + 5];
  // 0 means a jumbogram (or offload): fall back to what was captured.
  if (payloadLength === 0) payloadLength = end - at - 40;
  out.ipVersion = 6;
  out.firstFragment = false;
  const s = out.srcAddr, d = out.dstAddr;
  for (let k = 0; k < 16; k++) {
    s[k] = data[at + 8 + k];
    d[k] = data[at + 24 + k];
  }
  out.ipBytes = payloadLength + 40;
  out.ttl = data[at + 7];
  let next = data[at + 6];
  let cursor = at + 40;
  let remaining = payloadLength;
  // Walk extension headers; each step advances, and the chain is bounded.
  for (let hops = 0; hops < 16; hops++) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (end - cursor < 2) return TRUNCATED_IPV6_EXT;
      const length = (data[cursor + 1] + 1) * 8;
      if (length > remaining) return BAD_IP_TOTAL_LENGTH;
      next = data[cursor];
      cursor += length;
      remaining -= length;
    } else if (next === 51) { // AH: length in 4-byte units minus 2
      if (end - cursor < 2) return TRUNCATED_IPV6_EXT;
      const length = (data[cursor + 1] + 2) * 4;
      if (length > remaining) return BAD_IP_TOTAL_LENGTH;
      next = data[cursor];
      cursor += length;
      remaining -= length;
    } else if (next === 44) { // fragment header
      if (end - cursor < 8) return TRUNCATED_IPV6_EXT;
      if (remaining < 8) return BAD_IP_TOTAL_LENGTH;
      const field = (data[cursor + 2] << 8) | data[cursor + 3];
      if ((field & 0xfff9) !== 0) {
        out.ipv6Fragment = true;
        out.fragmentStart = (field >> 3) * 8;
        out.fragmentEnd = out.fragmentStart + remaining - 8;
        out.fragmentId = ((data[cursor + 4] << 24) | (data[cursor + 5] << 16) |
          (data[cursor + 6] << 8) | data[cursor + 7]) >>> 0;
        out.fragmentNext = data[cursor];
      }
      if ((field >> 3) !== 0) return FRAGMENT_NON_FIRST;
      out.firstFragment = (field & 1) !== 0;
      next = data[cursor];
      cursor += 8;
      remaining -= 8;
    } else {
      return decodeTransport(data, cursor, end, remaining, next, out, tunnels);
    }
  }
  return TRUNCATED_IPV6_EXT;
}

function decodeTransport(
  data: Uint8Array,
  at: number,
  end: number,
  l4Bytes: number,
  protocol: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  out.protocol = protocol;
  out.tcpFlags = 0;
  out.tcpWindow = 0;
  out.tcpMss = -1;
  out.icmpOneWay = false;
  const captured = end - at;
  switch (protocol) {
    case PROTO_TCP: {
      if (captured < 20 || l4Bytes < 20) return TRUNCATED_TCP;
      const headerBytes = (data[at + 12] >> 4) * 4;
      if (headerBytes < 20 || headerBytes > l4Bytes) return BAD_TCP_HEADER_LENGTH;
      out.srcPort = (data[at] << 8) | data[at + 1];
      out.dstPort = (data[at + 2] << 8) | data[at + 3];
      out.tcpFlags = data[at + 13] | ((data[at + 12] & 1) << 8);
      out.tcpWindow = (data[at + 14] << 8) | data[at + 15];
      out.l4HeaderBytes = headerBytes;
      out.payloadBytes = l4Bytes - headerBytes;
      out.payloadOffset = at + headerBytes;
      if (headerBytes > 20) readTcpOptions(data, at + 20, Math.min(at + headerBytes, end), out);
      return OK;
    }
    case PROTO_UDP: {
      if (captured < 8 || l4Bytes < 8) return TRUNCATED_UDP;
      const length = (data[at + 4] << 8) | data[at + 5];
      // A first fragment carries less than `length`; otherwise it must fit.
      if (length < 8 || (!out.firstFragment && length > l4Bytes)) return BAD_UDP_LENGTH;
      out.srcPort = (data[at] << 8) | data[at + 1];
      out.dstPort = (data[at + 2] << 8) | data[at + 3];
      out.l4HeaderBytes = 8;
      out.payloadBytes = length - 8;
      out.payloadOffset = at + 8;
      const port = out.dstPort;
      if (
        (port === VXLAN_PORT || port === VXLAN_LINUX_PORT || port === GENEVE_PORT) &&
        tunnels < MAX_TUNNELS && !out.ipv4Fragment && !out.ipv6Fragment
      ) {
        return port === GENEVE_PORT
          ? decodeGeneve(data, at + 8, end, length - 8, out, tunnels)
          : decodeVxlan(data, at + 8, end, length - 8, out, tunnels);
      }
      return OK;
    }
    case PROTO_SCTP: {
      if (captured < 12 || l4Bytes < 12) return TRUNCATED_UDP;
      out.srcPort = (data[at] << 8) | data[at + 1];
      out.dstPort = (data[at + 2] << 8) | data[at + 3];
      out.l4HeaderBytes = 12;
      out.payloadBytes = l4Bytes - 12;
      out.payloadOffset = at + 12;
      return OK;
    }
    case PROTO_ICMP:
    case PROTO_ICMPV6: {
      if (captured < 4 || l4Bytes < 4) return TRUNCATED_ICMP;
      const type = data[at], code = data[at + 1];
      const reply = icmpCounterpart(protocol, type);
      out.srcPort = type;
      out.icmpOneWay = reply < 0;
      out.dstPort = reply < 0 ? code : reply;
      out.l4HeaderBytes = l4Bytes < 8 ? l4Bytes : 8;
      out.payloadBytes = l4Bytes - out.l4HeaderBytes;
      out.payloadOffset = at + out.l4HeaderBytes;
      return OK;
    }
    default:
      out.srcPort = 0;
      out.dstPort = 0;
      out.l4HeaderBytes = 0;
      out.payloadBytes = l4Bytes;
      out.payloadOffset = at;
      // A whole datagram only: a fragment's tunnelled packet is not all here.
      if (tunnels < MAX_TUNNELS && !out.ipv4Fragment && !out.ipv6Fragment) {
        if (protocol === PROTO_GRE) return decodeGre(data, at, end, l4Bytes, out, tunnels);
        if (protocol === PROTO_IPIP || protocol === PROTO_IPV6_IN_IP) {
          out.tunnel = IP_IN_IP;
          return protocol === PROTO_IPIP
            ? decodeIpv4(data, at, end, out, tunnels + 1)
            : decodeIpv6(data, at, end, out, tunnels + 1);
        }
      }
      return OK;
  }
}

const PROTO_IPIP = 4, PROTO_IPV6_IN_IP = 41, PROTO_GRE = 47;

/**
 * A VXLAN datagram's payload at `at` (RFC 7348: 8 bytes, the I flag set,
 * then an Ethernet frame). Anything else on the port stays a UDP flow.
 */
function decodeVxlan(
  data: Uint8Array,
  at: number,
  end: number,
  bytes: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (bytes < 8 + 14 || end - at < 8 || (data[at] & 0x08) === 0) return OK;
  out.tunnel = VXLAN;
  return decodeEthernet(data, at + 8, end, out, tunnels + 1);
}

/**
 * A Geneve datagram's payload (RFC 8926: version 0, options in 4-byte
 * words, then what its protocol type says: Ethernet, IPv4 or IPv6).
 */
function decodeGeneve(
  data: Uint8Array,
  at: number,
  end: number,
  bytes: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (bytes < 8 || end - at < 8 || data[at] >> 6 !== 0) return OK;
  const header = 8 + (data[at] & 0x3f) * 4;
  const protocol = (data[at + 2] << 8) | data[at + 3];
  if (header > bytes) return OK;
  if (protocol === 0x6558) {
    out.tunnel = GENEVE;
    return decodeEthernet(data, at + header, end, out, tunnels + 1);
  }
  if (protocol === 0x0800 || protocol === 0x86dd) {
    out.tunnel = GENEVE;
    return decodeEtherType(protocol, data, at + header, end, out, tunnels + 1);
  }
  return OK;
}

/**
 * A GRE packet (RFC 2784/2890, version 0): its optional checksum, key and
 * sequence words, then IPv4, IPv6, MPLS, an Ethernet frame (0x6558, gretap),
 * or a mirrored frame behind an ERSPAN header: type I (0x88be without a
 * sequence number: none), II (0x88be: 8 bytes) or III (0x22eb: 12 bytes,
 * 20 with its platform subheader). Other GRE (PPTP's version 1, WCCP...)
 * stays a flow of protocol 47.
 */
function decodeGre(
  data: Uint8Array,
  at: number,
  end: number,
  bytes: number,
  out: DecodedPacket,
  tunnels: number,
): number {
  if (bytes < 4 || end - at < 4) return OK;
  const flags = data[at];
  if ((data[at + 1] & 0x07) !== 0) return OK;
  const header = 4 + ((flags & 0x80) !== 0 ? 4 : 0) + ((flags & 0x20) !== 0 ? 4 : 0) +
    ((flags & 0x10) !== 0 ? 4 : 0);
  if (header > bytes) return OK;
  const protocol = (data[at + 2] << 8) | data[at + 3];
  const inner = at + header;
  switch (protocol) {
    case 0x0800:
    case 0x86dd:
    case 0x8847:
      out.tunnel = GRE;
      return decodeEtherType(protocol, data, inner, end, out, tunnels + 1);
    case 0x6558:
      out.tunnel = GRE;
      return decodeEthernet(data, inner, end, out, tunnels + 1);
    case 0x88be: {
      // Type II carries a sequence number (S flag) and its 8-byte header; type I neither.
      const erspan = (flags & 0x10) !== 0 ? 8 : 0;
      if (erspan > 0 && (end - inner < 8 || data[inner] >> 4 !== 1)) return OK;
      out.tunnel = ERSPAN;
      return decodeEthernet(data, inner + erspan, end, out, tunnels + 1);
    }
    case 0x22eb: {
      if (end - inner < 12 || data[inner] >> 4 !== 2) return OK;
      // The O flag (last bit of the header) adds an 8-byte platform-specific subheader.
      const erspan = (data[inner + 11] & 0x01) !== 0 ? 20 : 12;
      out.tunnel = ERSPAN;
      return decodeEthernet(data, inner + erspan, end, out, tunnels + 1);
    }
  }
  return OK;
}

function readTcpOptions(data: Uint8Array, at: number, end: number, out: DecodedPacket): void {
  while (at < end) {
    const kind = data[at];
    if (kind === 0) return; // end of options
    if (kind === 1) { // no-op
      at++;
      continue;
    }
    if (at + 1 >= end) return;
    const length = data[at + 1];
    if (length < 2) return; // malformed: stop rather than loop
    if (kind === 2 && length === 4 && at + 4 <= end) {
      out.tcpMss = (data[at + 2] << 8) | data[at + 3];
    }
    at += length;
  }
}

/**
 * ICMP request/reply pairs as in the Community ID spec: the counterpart type
 * of a two-way message, or -1 for one-way messages.
 */
export function icmpCounterpart(protocol: number, type: number): number {
  if (protocol === PROTO_ICMP) {
    switch (type) {
      case 8:
        return 0; // echo
      case 0:
        return 8;
      case 13:
        return 14; // timestamp
      case 14:
        return 13;
      case 15:
        return 16; // info
      case 16:
        return 15;
      case 17:
        return 18; // address mask
      case 18:
        return 17;
      case 10:
        return 9; // router solicitation / advertisement
      case 9:
        return 10;
    }
    return -1;
  }
  switch (type) {
    case 128:
      return 129; // echo
    case 129:
      return 128;
    case 133:
      return 134; // router
    case 134:
      return 133;
    case 135:
      return 136; // neighbor
    case 136:
      return 135;
    case 130:
      return 131; // multicast listener query / report
    case 131:
      return 130;
    case 139:
      return 140; // node information
    case 140:
      return 139;
    case 144:
      return 145; // home agent address discovery
    case 145:
      return 144;
  }
  return -1;
}

/** Counts of decode outcomes; `packets = metered + every other outcome`. */
export interface DecodeCounters {
  packets: number;
  /** By outcome name, including "metered". */
  byOutcome: Record<DecodeOutcome, number>;
  /** Packets of unsupported link types, by link type number. */
  unsupportedLinkTypes: Record<number, number>;
  /** Packets read from inside a tunnel, by the innermost tunnel opened (no "none"). */
  tunnels: Partial<Record<DecodeTunnel, number>>;
}
