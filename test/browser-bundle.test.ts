/**
 * The platform-neutral entries ("scoregen" and "scoregen/web") bundle for a browser: esbuild with
 * platform "browser" refuses Node built-ins (node:fs, path, …), and the bundle's inputs are checked
 * against Node's list of built-in modules as well. The Node entry is the control: it must fail.
 */
import assert from "node:assert/strict";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { type BuildFailure, build } from "esbuild";

const ROOT = join(import.meta.dirname, "..");
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Bundles `entry` for the browser, minified; returns the code and every input file and import path. */
async function bundle(entry: string) {
  const r = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: "browser",
    format: "esm",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const imports = Object.values(r.metafile.inputs).flatMap((i) => i.imports.map((imp) => imp.path));
  return { code: r.outputFiles[0]!.contents, inputs: Object.keys(r.metafile.inputs), imports };
}

describe("browser bundle", () => {
  for (const entry of ["src/index.ts", "src/web.ts"]) {
    it(`${entry} bundles with platform=browser and reaches no Node built-in`, async (t) => {
      const { code, imports } = await bundle(entry);
      const nodeOnly = imports.filter((p) => BUILTINS.has(p));
      assert.deepEqual(nodeOnly, [], `${entry} imports Node built-ins: ${nodeOnly.join(", ")}`);
      t.diagnostic(
        `${entry}: ${(code.length / 1024).toFixed(1)} KiB minified, ${(gzipSync(code).length / 1024).toFixed(1)} KiB min+gzip`,
      );
    });
  }

  it("the check fails on the Node entry (which installs onnxruntime-node and reads files)", async () => {
    await assert.rejects(bundle("src/node.ts"), (e: BuildFailure) => {
      assert.ok(
        e.errors.some((m) => /node:|built into node/.test(m.text)),
        e.errors.map((m) => m.text).join("\n"),
      );
      return true;
    });
  });
});
