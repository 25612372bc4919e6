/**
 * libpcap binding: the library loads by soname, interfaces list with parsed
 * addresses and flags (lo with 127.0.0.1), IPv6 text form, and the default
 * route read from a route table.
 */
import assert from "node:assert/strict";
import {
  defaultRouteInterface,
  formatIpv6,
  LIBPCAP_SONAMES,
  libpcapVersion,
  listInterfaces,
  loadLibpcap,
} from "./mod.ts";

let libpcapReason: string | null = null;
try {
  loadLibpcap();
} catch (error) {
  libpcapReason = error instanceof Error ? error.message : String(error);
  console.warn(`libpcap tests: skipped, ${libpcapReason}`);
}

Deno.test({
  name: "ffi: libpcap opens by one of its sonames and reports its version",
  ignore: libpcapReason !== null,
  fn() {
    assert.ok((LIBPCAP_SONAMES as readonly string[]).includes(loadLibpcap().soname));
    assert.match(libpcapVersion(), /^libpcap version \d+\.\d+/);
  },
});

Deno.test({
  name: "ffi: interfaces list lo as a running loopback with 127.0.0.1/8",
  ignore: libpcapReason !== null,
  fn() {
    const kernelNames = [...Deno.readDirSync("/sys/class/net")].map((entry) => entry.name);
    const interfaces = listInterfaces();
    const lo = interfaces.find((entry) => entry.name === "lo");
    assert.ok(lo, `lo missing from ${interfaces.map((entry) => entry.name).join(", ")}`);
    assert.deepEqual(lo.flags, { up: true, running: true, loopback: true, wireless: false });
    const ipv4 = lo.addresses.filter((address) => address.family === "ipv4");
    assert.deepEqual(ipv4, [{ family: "ipv4", address: "127.0.0.1", netmask: "255.0.0.0" }]);
    // Every interface the kernel had is listed, unless it vanished meanwhile
    // (other tests create and delete veths).
    for (const name of kernelNames) {
      const listed = interfaces.some((entry) => entry.name === name);
      let stillThere = true;
      try {
        Deno.statSync(`/sys/class/net/${name}`);
      } catch {
        stillThere = false;
      }
      assert.ok(listed || !stillThere || name === "bonding_masters", `${name} not listed`);
    }
  },
});

Deno.test({
  name: "ffi: IPv6 addresses of interfaces match the kernel's /proc/net/if_inet6",
  ignore: libpcapReason !== null,
  fn() {
    let table: string;
    try {
      table = Deno.readTextFileSync("/proc/net/if_inet6");
    } catch {
      console.warn("IPv6 address check: skipped, no /proc/net/if_inet6");
      return;
    }
    const listed = new Set(
      listInterfaces().flatMap((entry) =>
        entry.addresses
          .filter((address) => address.family === "ipv6")
          .map((address) => `${entry.name} ${address.address}`)
      ),
    );
    // Columns: address (32 hex digits) index prefix scope flags name
    for (const line of table.trim().split("\n")) {
      const [hex, , , , , name] = line.trim().split(/\s+/);
      const bytes = new Uint8Array(16).map((_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
      assert.ok(listed.has(`${name} ${formatIpv6(bytes)}`), `${name} ${formatIpv6(bytes)} missing`);
    }
  },
});

Deno.test("ffi: IPv6 text form follows RFC 5952", () => {
  const parse = (groups: number[]) => {
    const bytes = new Uint8Array(16);
    groups.forEach((group, i) => [bytes[i * 2], bytes[i * 2 + 1]] = [group >> 8, group & 0xff]);
    return formatIpv6(bytes);
  };
  assert.equal(parse([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
  assert.equal(parse([0, 0, 0, 0, 0, 0, 0, 0]), "::");
  assert.equal(parse([0xfe80, 0, 0, 0, 0xfc, 0xff, 0xfe00, 1]), "fe80::fc:ff:fe00:1");
  assert.equal(parse([0x2001, 0xdb8, 0, 1, 0, 0, 0, 1]), "2001:db8:0:1::1");
  assert.equal(parse([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), "2001:db8::1:0:0:1");
  assert.equal(parse([0x2001, 0xdb8, 1, 2, 3, 4, 5, 0]), "2001:db8:1:2:3:4:5:0");
  assert.equal(parse([0xfd00, 0, 0, 0, 0, 0, 0, 0]), "fd00::");
});

Deno.test("ffi: default route interface is the up default route with the lowest metric", () => {
  const path = Deno.makeTempFileSync();
  try {
    const header =
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
    Deno.writeTextFileSync(
      path,
      header +
        "eth1\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" +
        "eth0\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" +
        "wg0\t00000000\t00000000\t0000\t0\t0\t1\t00000000\t0\t0\t0\n" +
        "eth2\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
    );
    assert.equal(defaultRouteInterface(path), "eth0");
    Deno.writeTextFileSync(
      path,
      header + "eth2\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n",
    );
    assert.equal(defaultRouteInterface(path), null);
    assert.equal(defaultRouteInterface(`${path}.absent`), null);
  } finally {
    Deno.removeSync(path);
  }
});
