/** The `npm start` demo end to end at a small size: every picture and the HTML page that embeds them. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "../src/node.ts";
import { runDemo } from "../src/tasks/demo.ts";

test("the 2-D demo writes its plots, GIF and an HTML page that embeds them, and reports a finite NLL", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-demo-"));
  const r = await runDemo({ outDir: dir, steps: 300, samples: 200, heldOut: 50 });
  const files = await readdir(dir);
  for (const f of r.files) assert.ok(files.includes(f), `${f} missing`);
  const html = await readFile(join(dir, "index.html"), "utf8");
  for (const f of r.files.filter((f) => f !== "index.html"))
    assert.ok(html.includes(f), `index.html does not embed ${f}`);
  assert.ok(Number.isFinite(r.nll) && Number.isFinite(r.trueNll));
  assert.ok(Math.abs(r.trueNll - 2.49) < 0.2, `true NLL of 8 gaussians ${r.trueNll}`);
  assert.equal(r.pc.nfe, 2000);
  const gif = await readFile(join(dir, "reverse_process.gif"));
  assert.equal(gif.subarray(0, 6).toString(), "GIF89a");
});
