/**
 * Cross-validation on real NSL-KDD records (a stratified subset, to stay
 * fast). Skips with a printed reason when ../shared/data is absent.
 */
import assert from "node:assert/strict";
import { crossValidate } from "../src/train/cross_validation.ts";
import { selectRows, stratifiedSplit } from "../src/train/dataset.ts";
import { loadNslKdd, parseAttackTypes, parseFieldNames } from "../src/train/nsl_kdd.ts";
import { Random } from "../src/train/random.ts";

const DIR = new URL("../../shared/data/nsl-kdd/", import.meta.url).pathname;
const FILE = `${DIR}KDDTrain+_20Percent.txt`;
const present = (() => {
  try {
    return Deno.statSync(FILE).isFile;
  } catch {
    return false;
  }
})();
if (!present) console.warn(`skipping NSL-KDD cross-validation: ${FILE} not found`);

Deno.test({
  name: "NSL-KDD: 3-fold CV on a 5,000-row stratified subset, 5 categories and binary",
  ignore: !present,
  fn: async () => {
    const text = await Deno.readTextFile(FILE);
    const options = {
      fields: parseFieldNames(await Deno.readTextFile(`${DIR}field-names.csv`)),
      attackCategories: parseAttackTypes(await Deno.readTextFile(`${DIR}attack-types.csv`)),
    };
    const full = loadNslKdd(text, options);
    assert.equal(full.rows, 25192);
    // 38 numeric fields + protocol_type (3 + unknown) + service (66 + unknown) + flag (11 + unknown).
    assert.equal(full.cols, 38 + 4 + 67 + 12);
    assert.deepEqual(full.issues, {});
    const subset = selectRows(full, stratifiedSplit(full.y, 0.2, new Random(1)).heldOut);
    const cv = crossValidate(subset, 3, { rounds: 20 }, 1);
    // Trees separate NSL-KDD's dos/probe/normal well; r2l and u2r are rare and hard.
    assert.ok(cv.pooled.accuracy > 0.97, `5-class CV accuracy ${cv.pooled.accuracy}`);
    assert.ok(cv.pooled.binary!.accuracy > 0.97, `binary accuracy ${cv.pooled.binary!.accuracy}`);
    assert.equal(cv.pooled.rows, subset.rows);
  },
});
