/**
 * The KitNET wasm committed in src/packet_models/kitnet_wasm.ts is what
 * src/packet_models/assembly/kitnet_block.ts compiles to with the pinned
 * AssemblyScript (so a change to the source without `deno task build:wasm`
 * fails here, not silently in the sensor).
 */
import assert from "node:assert/strict";
import {
  buildKitNetWasmModule,
  KITNET_WASM_MODULE,
  kitNetWasmCompilerAvailable,
} from "../scripts/build_kitnet_wasm.ts";

Deno.test("the committed KitNET wasm is what assembly/kitnet_block.ts compiles to", async () => {
  if (!kitNetWasmCompilerAvailable()) {
    console.log("skipped: node_modules/assemblyscript or node missing (npm ci installs them)");
    return;
  }
  const built = await buildKitNetWasmModule();
  assert.equal(
    await Deno.readTextFile(KITNET_WASM_MODULE),
    built,
    "src/packet_models/kitnet_wasm.ts is stale: run deno task build:wasm",
  );
});
