import assert from "node:assert/strict";
import { DEFAULT_TRAIN_OPTIONS } from "../train/mod.ts";
import { TRAIN_FLAG_DEFAULTS } from "./train.ts";

Deno.test("train's flag defaults are the trainer's own", () => {
  for (const [key, value] of Object.entries(TRAIN_FLAG_DEFAULTS)) {
    assert.equal(value, DEFAULT_TRAIN_OPTIONS[key as keyof typeof DEFAULT_TRAIN_OPTIONS], key);
  }
});
