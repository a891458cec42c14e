#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm run build`; `npm ci` and `npm pack` build it through `prepare`).
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    "scoregen: error: the compiled CLI (dist/cli/main.js) is missing; run `npm run build` in the scoregen folder\n",
  );
  process.exit(1);
}
await import(main.href);
