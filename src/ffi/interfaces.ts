/**
 * Capture interfaces as libpcap sees them (`pcap_findalldevs`), and the
 * interface carrying the default route (the detector's default).
 */
import { errorBufferText, readCString } from "./libc.ts";
import { loadLibpcap, PCAP_ERRBUF_SIZE, PcapError } from "./libpcap.ts";

/** One address of an interface. */
export interface InterfaceAddress {
  /** "ipv4", "ipv6", or "link" (the hardware address). */
  family: "ipv4" | "ipv6" | "link";
  /** Text form: dotted quad, RFC 5952 IPv6, or colon-separated MAC. */
  address: string;
  /** Netmask in the same family's text form, or null. */
  netmask: string | null;
}

/** State bits libpcap reports for an interface. */
export interface InterfaceFlags {
  up: boolean;
  running: boolean;
  loopback: boolean;
  wireless: boolean;
}

/** One capture interface. */
export interface CaptureInterface {
  name: string;
  /** libpcap's description, or "" when it has none (usual on Linux). */
  description: string;
  addresses: InterfaceAddress[];
  flags: InterfaceFlags;
}

const PCAP_IF_LOOPBACK = 0x1;
const PCAP_IF_UP = 0x2;
const PCAP_IF_RUNNING = 0x4;
const PCAP_IF_WIRELESS = 0x8;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_PACKET = 17;

/** Lists every interface libpcap can capture on, in libpcap's order. */
export function listInterfaces(): CaptureInterface[] {
  const pcap = loadLibpcap().symbols;
  const head = new BigUint64Array(1);
  const errorBuffer = new Uint8Array(PCAP_ERRBUF_SIZE);
  if (pcap.pcap_findalldevs(new Uint8Array(head.buffer), errorBuffer) < 0) {
    throw new PcapError("capture", `cannot list interfaces: ${errorBufferText(errorBuffer)}`);
  }
  const first = Deno.UnsafePointer.create(head[0]);
  const interfaces: CaptureInterface[] = [];
  try {
    // struct pcap_if { next; name; description; addresses; u32 flags; }
    for (let device = first; device !== null;) {
      const view = new Deno.UnsafePointerView(device);
      const flags = view.getUint32(32);
      const addresses: InterfaceAddress[] = [];
      // struct pcap_addr { next; addr; netmask; broadaddr; dstaddr; }
      for (let entry = view.getPointer(24); entry !== null;) {
        const entryView = new Deno.UnsafePointerView(entry);
        const address = readSockaddr(entryView.getPointer(8));
        if (address) {
          const mask = readSockaddr(entryView.getPointer(16));
          addresses.push({
            family: address.family,
            address: address.text,
            netmask: mask && mask.family === address.family ? mask.text : null,
          });
        }
        entry = entryView.getPointer(0);
      }
      interfaces.push({
        name: readCString(view.getPointer(8)),
        description: readCString(view.getPointer(16)),
        addresses,
        flags: {
          up: (flags & PCAP_IF_UP) !== 0,
          running: (flags & PCAP_IF_RUNNING) !== 0,
          loopback: (flags & PCAP_IF_LOOPBACK) !== 0,
          wireless: (flags & PCAP_IF_WIRELESS) !== 0,
        },
      });
      device = view.getPointer(0);
    }
  } finally {
    if (first !== null) pcap.pcap_freealldevs(first);
  }
  return interfaces;
}

function readSockaddr(
  pointer: Deno.PointerValue,
): { family: InterfaceAddress["family"]; text: string } | null {
  if (pointer === null) return null;
  const view = new Deno.UnsafePointerView(pointer);
  const family = view.getUint16(0);
  if (family === AF_INET) {
    // struct sockaddr_in { u16 family; u16 port; u8 addr[4]; }
    return { family: "ipv4", text: [4, 5, 6, 7].map((i) => view.getUint8(i)).join(".") };
  }
  if (family === AF_INET6) {
    // struct sockaddr_in6 { u16 family; u16 port; u32 flowinfo; u8 addr[16]; u32 scope; }
    const bytes = new Uint8Array(16);
    view.copyInto(bytes, 8);
    return { family: "ipv6", text: formatIpv6(bytes) };
  }
  if (family === AF_PACKET) {
    // struct sockaddr_ll { u16 family; u16 proto; i32 ifindex; u16 hatype; u8 pkttype; u8 halen; u8 addr[8]; }
    const length = Math.min(view.getUint8(11), 8);
    if (length === 0) return null;
    const parts: string[] = [];
    for (let i = 0; i < length; i++) {
      parts.push(view.getUint8(12 + i).toString(16).padStart(2, "0"));
    }
    return { family: "link", text: parts.join(":") };
  }
  return null;
}

/** RFC 5952 text form: lower case, leading zeros dropped, longest zero run as "::". */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}

/**
 * The interface of the IPv4 default route from /proc/net/route (lowest
 * metric wins), or null when there is none (or no /proc).
 */
export function defaultRouteInterface(routeTable = "/proc/net/route"): string | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(routeTable);
  } catch {
    return null;
  }
  let best: string | null = null;
  let bestMetric = Infinity;
  // Columns: Iface Destination Gateway Flags RefCnt Use Metric Mask ...
  for (const line of text.split("\n").slice(1)) {
    const columns = line.trim().split(/\s+/);
    if (columns.length < 8) continue;
    const [name, destination, , flagsHex, , , metricText, mask] = columns;
    const routeUp = (parseInt(flagsHex, 16) & 0x1) !== 0;
    if (destination !== "00000000" || mask !== "00000000" || !routeUp) continue;
    const metric = Number(metricText);
    if (metric < bestMetric) [best, bestMetric] = [name, metric];
  }
  return best;
}
