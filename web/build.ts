/**
 * Builds the playground into a static site: `npx tsx web/build.ts [OUTDIR]` (default dist-web/).
 * esbuild bundles the page and its worker for browsers (a Node built-in anywhere in the imported
 * core fails the build); onnxruntime-web's threaded WASM runtime (.mjs + .wasm) is copied next to
 * them and loaded from there (env.wasm.wasmPaths), so ORT's thread workers never re-run the app bundle.
 * The site is written to a temporary folder and renamed into place.
 */
import { build } from "esbuild";
import { cp, mkdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** The plain WASM runtime, and the one the WebGPU build (loaded only when WebGPU is chosen) runs. */
const ORT_FILES = [
  "ort-wasm-simd-threaded.mjs",
  "ort-wasm-simd-threaded.wasm",
  "ort-wasm-simd-threaded.asyncify.mjs",
  "ort-wasm-simd-threaded.asyncify.wasm",
];

export async function buildSite(
  outDir = resolve(here, "..", "dist-web"),
  opts: { minify?: boolean } = {},
): Promise<string> {
  const tmp = `${outDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await build({
      entryPoints: { main: join(here, "src/main.ts"), worker: join(here, "src/worker.ts") },
      outdir: tmp,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      conditions: ["onnxruntime-web-use-extern-wasm"],
      minify: opts.minify ?? true,
      sourcemap: true,
      logLevel: "warning",
      // ORT's loader imports its runtime by URL at run time; keep those dynamic imports as they are.
      external: ORT_FILES.map((f) => `./${f}`),
    });
    const ortDist = join(here, "..", "node_modules", "onnxruntime-web", "dist");
    for (const f of ORT_FILES) await cp(join(ortDist, f), join(tmp, f));
    for (const f of ["index.html", "style.css"]) await cp(join(here, f), join(tmp, f));
    await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = await buildSite(process.argv[2] ? resolve(process.argv[2]) : undefined).catch((e: Error) => {
    console.error(`build:web failed: ${e.message}`);
    process.exit(1);
  });
  console.log(`playground written to ${out}`);
}
