/** The embedded WebAssembly modules are their .wat sources assembled (edit a .wat, then npm run build:wasm). */
import assert from "node:assert/strict";
import test from "node:test";
import { WASM_MODULES, type WasmModuleName, assemble } from "../scripts/wasm.ts";
import { HOST_KERNELS_WASM } from "../src/engine/host-kernels.wasm.ts";
import { RNG_KERNELS_WASM } from "../src/rng-kernels.wasm.ts";

const EMBEDDED: Record<WasmModuleName, string> = {
  "engine/host-kernels": HOST_KERNELS_WASM,
  "rng-kernels": RNG_KERNELS_WASM,
};

for (const name of Object.keys(WASM_MODULES) as WasmModuleName[])
  test(`the embedded ${name} module is ${name}.wat assembled (run npm run build:wasm after editing it)`, async () => {
    assert.equal(EMBEDDED[name], Buffer.from(await assemble(name)).toString("base64"));
  });
