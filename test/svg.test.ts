/**
 * SVG plots (src/viz/svg.ts) and their PNG rasterization with resvg and the npm-bundled DejaVu Sans
 * (src/viz/svg-png.ts): Unicode text is really drawn (ink inside the text's box, none elsewhere),
 * arrows of the score field point along the field, ticks are round numbers covering the range,
 * and `scoregen plot field` writes the SVG or its PNG.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { figure, scoreFieldSvg, ticks, esc } from "../src/viz/svg.ts";
import { svgToPng } from "../src/viz/svg-png.ts";
import { decodePng } from "../src/viz/png.ts";
import { scoreFieldSvgOf } from "../src/tasks/plots.ts";
import { mixtureOracle } from "../src/oracle/index.ts";
import { sdeByName } from "../src/sde/index.ts";

/** Dark pixels (all channels < 128) inside and outside a pixel box. */
function ink(
  png: Buffer,
  box: { x0: number; y0: number; x1: number; y1: number },
): { inside: number; outside: number } {
  const img = decodePng(png);
  let inside = 0,
    outside = 0;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const o = 4 * (y * img.width + x);
      if (img.data[o]! < 128 && img.data[o + 1]! < 128 && img.data[o + 2]! < 128) {
        if (x >= box.x0 && x < box.x1 && y >= box.y0 && y < box.y1) inside++;
        else outside++;
      }
    }
  return { inside, outside };
}

test("svgToPng draws Unicode text (σ ∇ ε) with the bundled font, and only there", () => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><text x="20" y="40" font-family="DejaVu Sans" font-size="28">σ∇ε x₁</text></svg>`;
  const r = ink(svgToPng(svg), { x0: 15, y0: 10, x1: 180, y1: 50 });
  assert.ok(r.inside > 150, `too little ink where the text is: ${r.inside} px`);
  assert.equal(r.outside, 0);
  // An empty text draws nothing: the ink above comes from the glyphs.
  assert.equal(ink(svgToPng(svg.replace("σ∇ε x₁", "")), { x0: 0, y0: 0, x1: 0, y1: 0 }).outside, 0);
});

test("ticks are round values covering the range; text is XML-escaped", () => {
  assert.deepEqual(ticks(-4, 4), [-4, -2, 0, 2, 4]);
  assert.deepEqual(ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.equal(esc(`a<b & "c">`), "a&lt;b &amp; &quot;c&quot;&gt;");
  assert.ok(figure({ x: [0, 1], y: [0, 1], width: 100, height: 100, title: "<σ>" }, "").includes("&lt;σ&gt;"));
});

test("scoreFieldSvg: each arrow starts at its point and points along the field", () => {
  const pts = [-1, 0, 1, 0, 0, 1],
    sc = [1, 0, 0, 2, -3, -3];
  const svg = scoreFieldSvg(pts, sc, { extent: 2 });
  const lines = [...svg.matchAll(/<line x1="([-\d.]+)" y1="([-\d.]+)" x2="([-\d.]+)" y2="([-\d.]+)"\/><polygon/g)].map(
    (m) => m.slice(1).map(Number),
  );
  assert.equal(lines.length, 3);
  const dirs = lines.map(([x1, y1, x2, y2]) => [Math.sign(Math.round(x2! - x1!)), Math.sign(Math.round(y2! - y1!))]);
  // SVG y grows downwards: +y in data is −y in pixels.
  assert.deepEqual(dirs, [
    [1, 0],
    [0, -1],
    [-1, 1],
  ]);
  assert.throws(() => scoreFieldSvg([0, 0], [1]), /equal length/);
});

test("scoreFieldSvgOf a two-Gaussian oracle renders; its PNG has the requested size", async () => {
  const sde = sdeByName("vp");
  const oracle = mixtureOracle(
    {
      weights: [0.5, 0.5],
      means: [
        [-1, 0],
        [1, 0],
      ],
      stds: [
        [0.3, 0.3],
        [0.3, 0.3],
      ],
    },
    sde,
  );
  const svg = await scoreFieldSvgOf(oracle, 0.1, { nx: 9 });
  assert.match(svg, /score ∇ₓ log pₜ\(x\) at t = 0\.1/);
  const dir = await mkdtemp(join(tmpdir(), "scoregen-svg-"));
  try {
    await writeFile(join(dir, "f.png"), svgToPng(svg));
    const img = decodePng(await readFile(join(dir, "f.png")));
    assert.deepEqual([img.width, img.height], [560, 520]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("scoregen plot field writes the SVG (real text) or its PNG", async () => {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-svg-"));
  try {
    await writeFile(join(dir, "mix.json"), JSON.stringify({ weights: [1], means: [[0, 0]], stds: [[1, 1]] }));
    const main = join(import.meta.dirname, "..", "src", "cli", "main.ts");
    const run = (out: string) =>
      promisify(execFile)(process.execPath, [
        "--import",
        "tsx",
        main,
        "plot",
        "field",
        "--score",
        `oracle:${join(dir, "mix.json")}`,
        "--grid",
        "5",
        "--out",
        join(dir, out),
      ]);
    await run("f.svg");
    const svg = await readFile(join(dir, "f.svg"), "utf8");
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<text[^>]*>score ∇ₓ log pₜ\(x\) at t = 0\.1<\/text>/);
    assert.equal((svg.match(/<polygon/g) ?? []).length, 25 - 1); // the arrow at the mode (0, 0) has zero length
    await run("f.png");
    const img = decodePng(await readFile(join(dir, "f.png")));
    assert.deepEqual([img.width, img.height], [560, 520]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
