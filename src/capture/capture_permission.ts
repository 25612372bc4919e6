/**
 * Whether this process may capture live: root, or the two capabilities a
 * packet socket in promiscuous mode needs (CAP_NET_RAW, CAP_NET_ADMIN), as
 * the installed service runs (User=ids-sensor with only those two).
 */

/** Capability numbers from linux/capability.h. */
const CAP_NET_ADMIN = 12n;
const CAP_NET_RAW = 13n;

/** True when the effective set (`CapEff:` of /proc/PID/status text) holds both. */
export function capabilitiesAllowCapture(statusText: string): boolean {
  const line = statusText.split("\n").find((l) => l.startsWith("CapEff:"));
  const hex = line?.slice("CapEff:".length).trim();
  if (!hex || !/^[0-9a-f]+$/i.test(hex)) return false;
  const effective = BigInt(`0x${hex}`);
  return ((effective >> CAP_NET_RAW) & 1n) === 1n && ((effective >> CAP_NET_ADMIN) & 1n) === 1n;
}

/** Root, or CAP_NET_RAW and CAP_NET_ADMIN in effect (false when /proc cannot tell). */
export function liveCapturePermitted(): boolean {
  if (Deno.uid() === 0) return true;
  try {
    return capabilitiesAllowCapture(Deno.readTextFileSync("/proc/self/status"));
  } catch {
    return false;
  }
}
