import assert from "node:assert/strict";
import { csvCell } from "./app.ts";

Deno.test("csvCell: quoting, numbers, and spreadsheet formulas defused", () => {
  assert.equal(csvCell(3.5), "3.5");
  assert.equal(csvCell(null), "");
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvCell("-1+2"), "'-1+2");
  assert.equal(csvCell("@cmd"), "'@cmd");
});
