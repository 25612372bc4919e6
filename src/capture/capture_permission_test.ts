import assert from "node:assert/strict";
import { capabilitiesAllowCapture } from "./capture_permission.ts";

const status = (capEff: string) =>
  `Name:\tdeno\nUid:\t65534\t65534\t65534\t65534\nCapInh:\t0000000000000000\n` +
  `CapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001ffffffffff\n`;

Deno.test("capabilitiesAllowCapture: CAP_NET_RAW and CAP_NET_ADMIN both needed, read from CapEff", () => {
  assert.equal(capabilitiesAllowCapture(status("0000000000003000")), true); // bits 12 and 13
  assert.equal(capabilitiesAllowCapture(status("000001ffffffffff")), true); // root's full set
  assert.equal(capabilitiesAllowCapture(status("0000000000002000")), false); // NET_RAW only
  assert.equal(capabilitiesAllowCapture(status("0000000000001000")), false); // NET_ADMIN only
  assert.equal(capabilitiesAllowCapture(status("0000000000000000")), false);
  assert.equal(capabilitiesAllowCapture("Name:\tdeno\n"), false);
});
