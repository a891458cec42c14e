import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";
import { Rng } from "../src/rng.ts";
import { EIGHT_GAUSSIANS, mixtureLogDensity, toy2d } from "../src/data/toy2d.ts";
import { Canvas } from "../src/viz/canvas.ts";
import { View, equalAspect, fitBounds, formatTick, layout, niceTicks } from "../src/viz/axes.ts";
import { PALETTE, toColor } from "../src/viz/color.ts";
import { fieldFromVectors, fieldGrid, pathsFromFrames, renderScatter, renderTrajectories } from "../src/viz/render.ts";
import {
  imageGrid,
  imageGridRaster,
  pointCloudGif,
  scatterPlot,
  scoreFieldPlot,
  trajectoryPlot,
} from "../src/viz/plots.ts";
import { encodeGif, pointCloudFrames } from "../src/viz/gif.ts";
import { GRID_TITLE_HEIGHT, imageGridSvg, renderImageGrid, titleSize } from "../src/viz/images.ts";
import { svgToPng } from "../src/viz/svg-png.ts";
import { base64, escapeHtml, formatMetric, htmlSummary } from "../src/viz/html.ts";
import { encodePng } from "../src/viz/png.ts";
import { writePlot } from "../src/viz/files.ts";

type RGBA = [number, number, number, number];

function decode(buf: Buffer): { width: number; height: number; px: (x: number, y: number) => RGBA } {
  const png = PNG.sync.read(buf);
  return {
    width: png.width,
    height: png.height,
    px: (x, y) => {
      const i = 4 * (Math.floor(y) * png.width + Math.floor(x));
      return [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!, png.data[i + 3]!];
    },
  };
}
const near = (a: readonly number[], b: readonly number[], tol = 2) =>
  a.slice(0, 3).every((v, i) => Math.abs(v - b[i]!) <= tol);
const isWhite = (p: RGBA) => p[0] >= 250 && p[1] >= 250 && p[2] >= 250;

/** The plot area's view for a plot made with the given options (mirrors setupPlot). */
function viewFor(
  width: number,
  height: number,
  bounds: { xmin: number; xmax: number; ymin: number; ymax: number },
  o: { title?: string; colorbar?: boolean; equal?: boolean } = {},
) {
  const rect = layout(width, height, { title: o.title, colorbar: o.colorbar });
  return new View(o.equal ? equalAspect(bounds, rect) : bounds, rect);
}

describe("canvas", () => {
  test("alpha blending over white and over a transparent background", () => {
    const c = new Canvas(4, 4);
    c.blend(1, 1, [255, 0, 0], 0.5);
    assert.deepEqual(c.getPixel(1, 1), [255, 128, 128, 255]);
    c.blend(1, 1, [0, 0, 255], 1);
    assert.deepEqual(c.getPixel(1, 1), [0, 0, 255, 255]);
    const t = new Canvas(2, 2);
    t.data.fill(0);
    t.blend(0, 0, [0, 200, 0], 0.25);
    assert.deepEqual(t.getPixel(0, 0), [0, 200, 0, 64]);
  });

  test("a 1-px line through pixel centers colors exactly its pixels; AA diagonal; clipping", () => {
    const c = new Canvas(40, 30);
    c.line(5.5, 10.5, 30.5, 10.5, [0, 0, 0]);
    for (let x = 5; x <= 30; x++) assert.deepEqual(c.getPixel(x, 10), [0, 0, 0, 255], `x=${x}`);
    assert.ok(isWhite(c.getPixel(20, 9) as RGBA) && isWhite(c.getPixel(20, 11) as RGBA));
    assert.ok(isWhite(c.getPixel(3, 10) as RGBA) && isWhite(c.getPixel(33, 10) as RGBA));
    c.line(0, 0, 30, 30, [0, 0, 0], { width: 2 });
    assert.ok(c.getPixel(15, 15)![0] < 60, "on the diagonal");
    assert.ok(isWhite(c.getPixel(15, 20) as RGBA), "far from the diagonal");
    const edge = c.getPixel(16, 15)![0];
    assert.ok(edge > 0 && edge < 255, `anti-aliased edge pixel ${edge}`);
    c.setClip({ x0: 0, y0: 20, x1: 40, y1: 30 });
    c.line(0.5, 25.5, 39.5, 25.5, [255, 0, 0]);
    c.line(0.5, 15.5, 39.5, 15.5, [255, 0, 0]); // outside the clip: not drawn
    assert.deepEqual(c.getPixel(5, 25), [255, 0, 0, 255]);
    assert.ok(isWhite(c.getPixel(5, 15) as RGBA));
  });

  test("translucent polylines blend once per pixel (no darker joints)", () => {
    const c = new Canvas(60, 20);
    c.polyline([5.5, 10.5, 20.5, 10.5, 35.5, 10.5, 50.5, 10.5], [0, 0, 0], { alpha: 0.5 });
    assert.deepEqual(c.getPixel(20, 10), c.getPixel(12, 10));
    assert.deepEqual(c.getPixel(20, 10), [128, 128, 128, 255]);
    const d = new Canvas(60, 20); // separate segments do blend twice at the joint
    d.line(5.5, 10.5, 20.5, 10.5, [0, 0, 0], { alpha: 0.5 });
    d.line(20.5, 10.5, 35.5, 10.5, [0, 0, 0], { alpha: 0.5 });
    assert.ok(d.getPixel(20, 10)![0] < 100);
    // coverage is the max over the parts: a faint later segment does not lighten a covered pixel
    const e = new Canvas(40, 20);
    e.polyline([5.5, 10.5, 30.5, 10.5, 5.5, 12.2], [0, 0, 0]);
    assert.deepEqual(e.getPixel(10, 10), [0, 0, 0, 255]);
  });

  test("discs, rings and arrows put ink where expected", () => {
    const c = new Canvas(80, 60);
    c.disc(10, 10, 4, "#00ff00");
    assert.deepEqual(c.getPixel(9, 9), [0, 255, 0, 255]);
    assert.ok(isWhite(c.getPixel(16, 10) as RGBA));
    c.ring(40, 10, 6, "#0000ff", { width: 2 });
    assert.ok(isWhite(c.getPixel(40, 10) as RGBA), "ring center is empty");
    assert.ok(c.getPixel(45, 9)![2] > 200 && c.getPixel(45, 9)![0] < 80, "ring stroke");
    c.arrow(10, 40, 50, 40, "#ff0000", { width: 2 });
    assert.ok(near(c.getPixel(30, 40)!, [255, 0, 0], 30), "shaft");
    assert.ok(near(c.getPixel(42, 37)!, [255, 0, 0], 90), "head is wider than the shaft");
    assert.ok(isWhite(c.getPixel(30, 37) as RGBA), "the shaft is narrower than the head");
    assert.ok(isWhite(c.getPixel(30, 36) as RGBA) && isWhite(c.getPixel(55, 40) as RGBA));
  });

  test("view transform inverts, flips y; nice ticks; bounds fitting", () => {
    const v = new View({ xmin: -2, xmax: 2, ymin: 0, ymax: 1 }, { left: 10, top: 20, width: 400, height: 100 });
    assert.equal(v.px(-2), 10);
    assert.equal(v.px(2), 410);
    assert.equal(v.py(1), 20);
    assert.equal(v.py(0), 120);
    assert.ok(Math.abs(v.wx(v.px(0.37)) - 0.37) < 1e-12 && Math.abs(v.wy(v.py(0.61)) - 0.61) < 1e-12);
    assert.deepEqual(niceTicks(-3.2, 3.2, 6).values, [-3, -2, -1, 0, 1, 2, 3]);
    const t = niceTicks(0, 0.9, 5);
    assert.equal(t.decimals, 1);
    assert.deepEqual(
      t.values.map((x) => formatTick(x, t.decimals)),
      ["0.0", "0.2", "0.4", "0.6", "0.8"],
    );
    assert.equal(formatTick(-1e-17, 1), "0.0");
    const b = fitBounds([Float64Array.from([0, 0, 1, 2])], { margin: 0 });
    assert.deepEqual(
      [b.xmin, b.xmax, b.ymin, b.ymax].map((x) => +x.toFixed(3)),
      [0.002, 0.998, 0.004, 1.996],
    );
    const e = equalAspect({ xmin: 0, xmax: 1, ymin: 0, ymax: 1 }, { left: 0, top: 0, width: 200, height: 100 });
    assert.deepEqual([e.xmin, e.xmax, e.ymin, e.ymax], [-0.5, 1.5, 0, 1]);
    assert.throws(
      () => new View({ xmin: 1, xmax: 1, ymin: 0, ymax: 1 }, { left: 0, top: 0, width: 10, height: 10 }),
      /invalid plot bounds/,
    );
    assert.throws(() => toColor("red"), /invalid color/);
  });
});

describe("plots", () => {
  const bounds = { xmin: -2, xmax: 2, ymin: -2, ymax: 2 };

  test("scatterPlot: PNG of the requested size, points land on their pixels, density shades the background", () => {
    const buf = scatterPlot({
      width: 300,
      height: 240,
      bounds,
      equalAspect: false,
      title: "T",
      sets: [
        { points: [1, 1], color: "#ff0000", alpha: 1, radius: 3 },
        { points: [-1, -1.5], color: "#00aa00", alpha: 1, radius: 3 },
      ],
    });
    assert.equal(buf.subarray(1, 4).toString("latin1"), "PNG");
    const img = decode(buf);
    assert.equal(img.width, 300);
    assert.equal(img.height, 240);
    const v = viewFor(300, 240, bounds, { title: "T" });
    assert.ok(near(img.px(v.px(1), v.py(1)), [255, 0, 0]), `red point: ${img.px(v.px(1), v.py(1))}`);
    assert.ok(near(img.px(v.px(-1), v.py(-1.5)), [0, 170, 0]));
    assert.ok(isWhite(img.px(v.px(0.5), v.py(-0.5))), "empty area");
    assert.ok(!isWhite(img.px(v.rect.left - 1, v.rect.top + 5)), "frame line left of the plot area");

    const ld = (x: number, y: number) => -((x - 1) ** 2 + (y - 1) ** 2) / 0.1;
    const withDensity = decode(
      scatterPlot({ width: 200, height: 200, bounds, equalAspect: false, logDensity: ld, data: [] }),
    );
    const v2 = viewFor(200, 200, bounds);
    const peak = withDensity.px(v2.px(1), v2.py(1)),
      far = withDensity.px(v2.px(-1.5), v2.py(-1.5));
    assert.ok(isWhite(far), `far from the mode: ${far}`);
    assert.ok(peak[0] < 100 && peak[2] > peak[0], `density peak is dark blue: ${peak}`);
  });

  test("scatterPlot: data and samples get the palette colors; default bounds contain the points", () => {
    const data = toy2d("8gaussians").sample(500, new Rng(1));
    const img = decode(
      scatterPlot({
        data: Float64Array.of(3, 3),
        samples: Float64Array.of(-3, -3),
        bounds: { xmin: -4, xmax: 4, ymin: -4, ymax: 4 },
        equalAspect: false,
        width: 200,
        height: 200,
      }),
    );
    const v = viewFor(200, 200, { xmin: -4, xmax: 4, ymin: -4, ymax: 4 });
    const c0 = img.px(v.px(3), v.py(3)),
      c1 = img.px(v.px(-3), v.py(-3));
    // default alpha 0.75 over white
    assert.ok(
      near(
        c0,
        PALETTE[0]!.map((c) => c * 0.75 + 255 * 0.25),
        3,
      ),
      `data color ${c0}`,
    );
    assert.ok(
      near(
        c1,
        PALETTE[1]!.map((c) => c * 0.75 + 255 * 0.25),
        3,
      ),
      `samples color ${c1}`,
    );
    const b = fitBounds([data]);
    assert.ok(b.xmin < -3 && b.xmax > 3 && b.ymin < -3 && b.ymax > 3);
    assert.throws(() => scatterPlot({ data: [1, 2, 3] }), /length 3 \(odd\)/);
  });

  test("scoreFieldPlot: arrows point along the field, centered on grid points; shape errors", () => {
    const grid = fieldGrid(bounds, 2, 2); // centers at ±1
    assert.deepEqual(Array.from(grid.points), [-1, -1, 1, -1, -1, 1, 1, 1]);
    // (−1,−1) → +x, (1,−1) → +y, (−1,1) → −x, (1,1) → −y
    const field = fieldFromVectors(grid, [1, 0, 0, 1, -1, 0, 0, -1]);
    const buf = scoreFieldPlot(field, { width: 320, height: 300, t: 0.5, colorbar: true });
    const img = decode(buf);
    assert.equal(img.width, 320);
    const v = viewFor(320, 300, bounds, { title: "score field at t = 0.5", colorbar: true, equal: true });
    const [sx] = v.scale;
    const half = 0.3 * sx; // arrow length 0.8 cell → tip at +0.4 cell from the center
    const ink = (x: number, y: number) => !isWhite(img.px(v.px(x), v.py(y)));
    // centered arrows: the shaft reaches both sides of the grid point, perpendicular is empty
    assert.ok(ink(-1, -1) && ink(-1 + half / sx, -1) && ink(-1 - half / sx, -1), "shaft along x");
    assert.ok(!ink(-1, -1 + half / sx) && !ink(-1, -1 - half / sx), "nothing above/below the x arrow");
    assert.ok(ink(1, -1 + half / sx) && ink(1, -1 - half / sx) && !ink(1 + half / sx, -1), "arrow along y");
    assert.ok(ink(-1 - half / sx, 1) && !ink(-1, 1 + half / sx), "arrow along x");
    assert.ok(ink(1, 1 - half / sx) && !ink(1 - half / sx, 1), "arrow along y");
    // direction: the head (wider than the shaft) is on the tip side, so that half has more ink
    const inkCount = (cx: number, cy: number, dx: number, dy: number) => {
      let n = 0;
      for (let a = 1; a <= 0.45 * 2 * sx; a++)
        for (const b of [-6, -5, -4, -3, 3, 4, 5, 6]) {
          // beside the shaft
          if (!isWhite(img.px(v.px(cx) + dx * a - dy * b, v.py(cy) - dy * a + dx * b))) n++;
        }
      return n;
    };
    const dirs: [number, number, number, number][] = [
      [-1, -1, 1, 0],
      [1, -1, 0, 1],
      [-1, 1, -1, 0],
      [1, 1, 0, -1],
    ];
    for (const [cx, cy, dx, dy] of dirs) {
      const fwd = inkCount(cx, cy, dx, dy),
        back = inkCount(cx, cy, -dx, -dy);
      assert.ok(
        fwd >= 6 && back === 0,
        `arrow at (${cx}, ${cy}) should point (${dx}, ${dy}): ink ${fwd} ahead vs ${back} behind`,
      );
    }
    assert.throws(() => scoreFieldPlot({ xs: [0, 1], ys: [0], u: [1], v: [1] }), /u and v need 2 entries/);
    assert.throws(() => fieldFromVectors(grid, [1, 2]), /expected 8 numbers/);
  });

  test("scoreFieldPlot colors by magnitude: a strong arrow and a weak arrow differ", () => {
    const grid = fieldGrid(bounds, 2, 1);
    const img = decode(
      scoreFieldPlot(fieldFromVectors(grid, [0, 1, 0, 100]), { width: 300, height: 300, colorbar: false }),
    );
    const v = viewFor(300, 300, bounds, { equal: true });
    const weak = img.px(v.px(-1), v.py(0)),
      strong = img.px(v.px(1), v.py(0));
    assert.ok(!isWhite(weak) && !isWhite(strong));
    assert.ok(Math.abs(weak[0] - strong[0]) + Math.abs(weak[2] - strong[2]) > 100, `${weak} vs ${strong}`);
  });

  test("trajectoryPlot: a path is drawn as a polyline with start and end markers", () => {
    const path = Float64Array.from([-1.5, 0, -0.5, 0, 0.5, 0, 1.5, 0]);
    const img = decode(trajectoryPlot([path], { bounds, equalAspect: false, width: 240, height: 240, legend: false }));
    const v = viewFor(240, 240, bounds);
    assert.ok(!isWhite(img.px(v.px(0), v.py(0))), "midpoint of the path");
    assert.ok(!isWhite(img.px(v.px(1.5), v.py(0))), "end marker");
    assert.ok(isWhite(img.px(v.px(0), v.py(0.5))), "off the path");
    assert.ok(isWhite(img.px(v.px(-1.5), v.py(0) - 1)) === false, "start ring");
    const paths = pathsFromFrames([
      Float64Array.of(0, 1, 2, 3),
      Float64Array.of(4, 5, 6, 7),
      Float64Array.of(8, 9, 10, 11),
    ]);
    assert.deepEqual(
      paths.map((p) => Array.from(p)),
      [
        [0, 1, 4, 5, 8, 9],
        [2, 3, 6, 7, 10, 11],
      ],
    );
    assert.throws(() => pathsFromFrames([new Float64Array(4), new Float64Array(2)]), /frame 1 has length 2/);
  });

  test("imageGrid: layout, [0,1] and [-1,1] ranges, RGB channel order, errors", () => {
    // two 1×2×2 images: all 0 and all 1, in [0, 1]
    const g = decode(
      imageGrid(
        [
          [0, 0, 0, 0],
          [1, 1, 1, 1],
        ],
        { channels: 1, height: 2, width: 2, cols: 2, pad: 1, scale: 3, padColor: "#ff00ff" },
      ),
    );
    assert.equal(g.width, 2 * 6 + 3);
    assert.equal(g.height, 6 + 2);
    assert.deepEqual(g.px(0, 0), [255, 0, 255, 255]);
    assert.deepEqual(g.px(1, 1), [0, 0, 0, 255]);
    assert.deepEqual(g.px(9, 4), [255, 255, 255, 255]);
    assert.deepEqual(g.px(7, 3), [255, 0, 255, 255], "padding between the images");
    // one flat array in [-1, 1] (auto range): −1 → black, 0 → mid gray, 1 → white
    const h = decode(
      imageGrid(Float32Array.from([-1, 0, 1, 0.5]), { channels: 1, height: 1, width: 4, pad: 0, scale: 1 }),
    );
    assert.deepEqual([h.px(0, 0)[0], h.px(1, 0)[0], h.px(2, 0)[0], h.px(3, 0)[0]], [0, 128, 255, 191]);
    // RGB: channel 0 = red
    const rgb = decode(imageGrid([[1, 0.5, 0]], { channels: 3, height: 1, width: 1, pad: 0, scale: 1 }));
    assert.deepEqual(rgb.px(0, 0), [255, 128, 0, 255], "channels first: R, G, B planes");
    const dflt = decode(imageGrid(new Float64Array(5 * 28 * 28), { channels: 1, height: 28, width: 28 }));
    assert.equal(dflt.width, 3 * 56 + 4 * 2, "⌈√5⌉ = 3 columns of 28×2 px with 2 px padding");
    assert.throws(
      () => imageGrid(new Float64Array(10), { channels: 1, height: 2, width: 2 }),
      /10 values is not a whole number of images of 4/,
    );
    assert.throws(() => imageGrid([[1, 2]], { channels: 1, height: 2, width: 2 }), /image 0 has 2 values/);
    assert.throws(() => imageGrid([[1]], { channels: 2 as 1, height: 1, width: 1 }), /channels must be 1 or 3/);
  });
});

describe("svg plots: real text, rasterized by resvg", () => {
  const bounds = { xmin: -2, xmax: 2, ymin: -2, ymax: 2 };
  /** Non-white pixels of a decoded PNG inside [x0, x1) × [y0, y1). */
  const inkIn = (img: ReturnType<typeof decode>, x0: number, y0: number, x1: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (!isWhite(img.px(x, y))) n++;
    return n;
  };

  test("a scatter plot's SVG holds its title, axis labels, ticks and legend as text; the PNG draws the title", () => {
    const opts = { width: 300, height: 240, bounds, equalAspect: false, data: [0, 0], samples: [1, 1] };
    const svg = renderScatter({ ...opts, title: "σ-weighted ∇ log p & <ε>", xLabel: "x₁", yLabel: "x₂" });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="300" height="240"/);
    for (const t of ["σ-weighted ∇ log p &amp; &lt;ε&gt;", "x₁", "x₂", "data", "samples", "-2", "0", "2"])
      assert.ok(svg.includes(`>${t}</text>`), `text ${t} in the SVG`);
    assert.match(svg, /rotate\(-90\)[^>]*>x₂<\/text>/, "the y label reads upward");
    const titled = decode(svgToPng(svg)),
      plain = decode(scatterPlot(opts));
    assert.deepEqual([titled.width, titled.height, plain.width, plain.height], [300, 240, 300, 240]);
    // layout(): the title band is the top 30 px; the title is centered in it
    assert.ok(inkIn(titled, 60, 0, 240, 28) > 100, "the title is drawn as glyphs");
    assert.equal(inkIn(plain, 60, 0, 240, 8), 0, "no title, no ink above the plot");
    const rect = layout(300, 240, { xLabel: "x₁" });
    assert.ok(inkIn(decode(svgToPng(svg)), 100, rect.top + rect.height + 22, 200, 240) > 10, "the x label is drawn");
  });

  test("trajectory and score-field SVGs carry their legends and colorbar label as text", () => {
    const svg = renderTrajectories([Float64Array.of(-1, 0, 1, 0)], { bounds, startLabel: "x(T) ~ N(0, σ²I)" });
    assert.ok(svg.includes(">x(T) ~ N(0, σ²I)</text>") && svg.includes(">end</text>"));
    const png = decode(
      scoreFieldPlot(fieldFromVectors(fieldGrid(bounds, 3), new Float64Array(18).fill(1)), { t: 0.25 }),
    );
    assert.deepEqual([png.width, png.height], [560, 560]);
  });

  test("a titled image grid: the grid's exact pixels under a text title band; untitled stays pixel-exact", () => {
    const imgs = Float64Array.from({ length: 3 * 4 * 4 }, (_, i) => (i % 5) / 4);
    const o = { channels: 1 as const, height: 4, width: 4, cols: 3, scale: 3, title: "t = 0.500 σ" };
    const raw = renderImageGrid(imgs, o);
    const svg = imageGridSvg(imgs, o);
    assert.ok(svg.includes(">t = 0.500 σ</text>") && svg.includes('href="data:image/png;base64,'));
    const png = decode(imageGrid(imgs, o));
    assert.deepEqual([png.width, png.height], [raw.width, raw.height + GRID_TITLE_HEIGHT]);
    for (let y = 0; y < raw.height; y++)
      for (let x = 0; x < raw.width; x++)
        assert.deepEqual(
          png.px(x, y + GRID_TITLE_HEIGHT).slice(0, 3),
          Array.from(raw.getPixel(x, y)!.slice(0, 3)),
          `grid pixel ${x},${y}`,
        );
    assert.ok(inkIn(png, 0, 0, png.width, GRID_TITLE_HEIGHT) > 30, "title glyphs in the band");
    const frame = imageGridRaster(imgs, o);
    assert.deepEqual([frame.width, frame.height], [raw.width, raw.height + GRID_TITLE_HEIGHT]);
    const untitled = decode(imageGrid(imgs, { ...o, title: undefined }));
    assert.equal(untitled.height, raw.height, "no title, no band");
    assert.deepEqual(untitled.px(5, 5), Array.from(raw.getPixel(5, 5)!));
  });

  test("a long title over a narrow grid is set smaller so that it fits", () => {
    const long = "inpainting: input (unknown magenta), 4 completions, input";
    assert.equal(titleSize("samples", 340), 15);
    const size = titleSize(long, 340);
    assert.ok(size < 15 && 0.62 * long.length * size <= 340 - 6, `size ${size}`);
    assert.equal(titleSize(long, 40), 8, "never below 8 px");
    const o = { channels: 1 as const, height: 4, width: 4, cols: 6, scale: 14, title: long };
    const width = renderImageGrid(new Float64Array(6 * 16), o).width;
    assert.ok(imageGridSvg(new Float64Array(6 * 16), o).includes(`font-size="${titleSize(long, width)}"`));
    assert.ok(titleSize(long, width) < 15, "the SVG uses the fitted size");
  });

  test("point-cloud frames are SVG with the caption as text", () => {
    const frames = pointCloudFrames([Float64Array.of(0, 0, 1, 1)], {
      captions: ["t = 0.500"],
      width: 200,
      height: 200,
    });
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.includes(">t = 0.500</text>"));
  });
});

// --- a minimal GIF reader (block structure + LZW) ---------------------------------------------

interface GifFrame {
  width: number;
  height: number;
  palette: Uint8Array;
  indices: number[];
  delayCs: number;
}
function readSubBlocks(b: Uint8Array, pos: number): [Uint8Array, number] {
  const parts: number[] = [];
  for (;;) {
    const n = b[pos++]!;
    if (n === 0) break;
    for (let i = 0; i < n; i++) parts.push(b[pos + i]!);
    pos += n;
  }
  return [Uint8Array.from(parts), pos];
}
function lzwDecode(minCode: number, data: Uint8Array): number[] {
  const clear = 1 << minCode,
    eoi = clear + 1;
  let size = minCode + 1,
    dict: number[][] = [],
    prev: number[] | null = null,
    bit = 0;
  const out: number[] = [];
  const reset = () => {
    dict = [];
    for (let i = 0; i < clear; i++) dict.push([i]);
    dict.push([], []);
    size = minCode + 1;
    prev = null;
  };
  reset();
  while (bit + size <= data.length * 8) {
    let code = 0;
    for (let i = 0; i < size; i++) code |= ((data[(bit + i) >> 3]! >> ((bit + i) & 7)) & 1) << i;
    bit += size;
    if (code === clear) {
      reset();
      continue;
    }
    if (code === eoi) break;
    let entry: number[];
    if (code < dict.length) entry = dict[code]!;
    else if (code === dict.length && prev) entry = [...(prev as number[]), (prev as number[])[0]!];
    else throw new Error(`bad LZW code ${code}`);
    out.push(...entry);
    if (prev && dict.length < 4096) dict.push([...(prev as number[]), entry[0]!]);
    prev = entry;
    if (dict.length === 1 << size && size < 12) size++;
  }
  return out;
}
function parseGif(b: Uint8Array): {
  header: string;
  width: number;
  height: number;
  loop: number | null;
  frames: GifFrame[];
} {
  const header = String.fromCharCode(...b.subarray(0, 6));
  const width = b[6]! | (b[7]! << 8),
    height = b[8]! | (b[9]! << 8);
  let pos = 13;
  let gct = new Uint8Array(0);
  if (b[10]! & 0x80) {
    const n = 3 * (1 << ((b[10]! & 7) + 1));
    gct = b.slice(pos, pos + n);
    pos += n;
  }
  const frames: GifFrame[] = [];
  let loop: number | null = null,
    delay = 0;
  while (pos < b.length) {
    const t = b[pos++]!;
    if (t === 0x3b) break;
    if (t === 0x21) {
      const label = b[pos++]!;
      const [first, next] = readSubBlocks(b, pos);
      if (label === 0xf9) delay = first[1]! | (first[2]! << 8);
      if (label === 0xff && String.fromCharCode(...first.subarray(0, 11)) === "NETSCAPE2.0")
        loop = first[12]! | (first[13]! << 8);
      pos = next;
    } else if (t === 0x2c) {
      const w = b[pos + 4]! | (b[pos + 5]! << 8),
        h = b[pos + 6]! | (b[pos + 7]! << 8),
        flags = b[pos + 8]!;
      pos += 9;
      let palette = gct;
      if (flags & 0x80) {
        const n = 3 * (1 << ((flags & 7) + 1));
        palette = b.slice(pos, pos + n);
        pos += n;
      }
      const minCode = b[pos++]!;
      const [data, next] = readSubBlocks(b, pos);
      pos = next;
      frames.push({ width: w, height: h, palette, indices: lzwDecode(minCode, data), delayCs: delay });
    } else throw new Error(`unexpected GIF block 0x${t.toString(16)} at ${pos - 1}`);
  }
  return { header, width, height, loop, frames };
}

describe("gif", () => {
  test("encodeGif: GIF89a, size, frame count, delays, loop, and pixel colors survive quantization", () => {
    const frames = [0, 1, 2].map((k) => {
      const c = new Canvas(20, 10);
      c.fillRect(k * 5, 2, 4, 4, "#ff0000");
      return c;
    });
    const bytes = encodeGif(frames, { delayMs: 50, lastDelayMs: 500 });
    const gif = parseGif(bytes);
    assert.equal(gif.header, "GIF89a");
    assert.equal(gif.width, 20);
    assert.equal(gif.height, 10);
    assert.equal(gif.loop, 0, "loops forever");
    assert.equal(gif.frames.length, 3);
    assert.deepEqual(
      gif.frames.map((f) => f.delayCs),
      [5, 5, 50],
    );
    gif.frames.forEach((f, k) => {
      assert.equal(f.indices.length, 200);
      const rgb = (x: number, y: number) => {
        const i = f.indices[y * 20 + x]!;
        return [f.palette[3 * i]!, f.palette[3 * i + 1]!, f.palette[3 * i + 2]!];
      };
      assert.ok(near(rgb(k * 5 + 1, 3), [255, 0, 0], 8), `frame ${k}: red square, got ${rgb(k * 5 + 1, 3)}`);
      assert.ok(near(rgb(k * 5 + 1, 8), [255, 255, 255], 8), `frame ${k}: white below`);
      assert.ok(near(rgb((k * 5 + 11) % 20, 3), [255, 255, 255], 8), `frame ${k}: white elsewhere`);
    });
    assert.equal(parseGif(encodeGif([frames[0]!], { loop: false })).loop, null);
    assert.throws(() => encodeGif([]), /no frames/);
    assert.throws(() => encodeGif([frames[0]!, new Canvas(5, 5)]), /frame 1 is 5×5 but frame 0 is 20×10/);
  });

  test("pointCloudGif: one frame per state", () => {
    const rng = new Rng(3);
    const states = [0, 1, 2, 3].map(() => rng.normals(200) as Float64Array);
    const gif = parseGif(pointCloudGif(states, { width: 120, height: 100, captions: ["a", "b", "c", "d"] }));
    assert.equal(gif.frames.length, 4);
    assert.equal(gif.width, 120);
  });
});

describe("html and files", () => {
  test("escapeHtml and base64", () => {
    assert.equal(
      escapeHtml(`<a href="x">Tom & 'Jerry'</a>`),
      "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;",
    );
    for (const n of [0, 1, 2, 3, 4, 5, 100]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      assert.equal(base64(b), Buffer.from(b).toString("base64"), `length ${n}`);
    }
    assert.equal(formatMetric(1000), "1000");
    assert.equal(formatMetric(Math.PI), "3.1416");
    assert.equal(formatMetric(1.5e-7), "1.5e-7");
  });

  test("htmlSummary escapes all caller text, embeds data URIs and encodes paths", () => {
    const png = encodePng(new Canvas(2, 2));
    const html = htmlSummary({
      title: "Run <script>alert(1)</script>",
      subtitle: "a & b",
      metrics: { "bits/dim <test>": Math.PI, steps: 1000 },
      sections: [
        {
          heading: 'Samples "x"',
          text: "first <b>para</b>\n\nsecond",
          images: [
            { path: "figs/my plot#1.png", caption: "cap <i>" },
            { data: png, caption: "inline" },
          ],
          metrics: [["nfe", 42]],
        },
      ],
    });
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.ok(!html.includes("<script>") && !html.includes("<b>para") && !html.includes("<i>"));
    assert.ok(html.includes("<title>Run &lt;script&gt;alert(1)&lt;/script&gt;</title>"));
    assert.ok(html.includes("<h2>Samples &quot;x&quot;</h2>"));
    assert.ok(html.includes("<p>first &lt;b&gt;para&lt;/b&gt;</p>\n<p>second</p>"));
    assert.ok(html.includes('src="figs/my%20plot%231.png"'));
    assert.ok(html.includes(`src="data:image/png;base64,${png.toString("base64")}"`));
    assert.ok(html.includes('<th scope="row">bits/dim &lt;test&gt;</th><td>3.1416</td>'));
    assert.ok(html.includes("<td>42</td>") && html.includes("<td>1000</td>"));
    assert.throws(
      () => htmlSummary({ title: "x", sections: [{ heading: "h", images: [{ path: "javascript:alert(1)" }] }] }),
      /unsupported scheme/,
    );
    assert.throws(
      () => htmlSummary({ title: "x", sections: [{ heading: "h", images: [{ caption: "c" }] }] }),
      /neither path nor data/,
    );
  });

  test("writePlot writes PNG/GIF/HTML atomically (no temporary files remain)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scoregen-viz-"));
    try {
      const c = new Canvas(3, 2, "#102030");
      await writePlot(join(dir, "a.png"), c);
      await writePlot(join(dir, "b.html"), "<p>x</p>");
      const back = PNG.sync.read(await readFile(join(dir, "a.png")));
      assert.equal(back.width, 3);
      assert.deepEqual(Array.from(back.data.subarray(0, 4)), [16, 32, 48, 255]);
      assert.deepEqual((await readdir(dir)).sort(), ["a.png", "b.html"]);
      await assert.rejects(writePlot(join(dir, "missing", "c.png"), c), /does the folder .*missing exist/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a density plot of the exact 8-gaussians mixture is darkest at the modes", () => {
    const b = { xmin: -4, xmax: 4, ymin: -4, ymax: 4 };
    const img = decode(
      scatterPlot({
        width: 200,
        height: 200,
        bounds: b,
        equalAspect: false,
        logDensity: (x, y) => mixtureLogDensity(EIGHT_GAUSSIANS, [x, y]),
      }),
    );
    const v = viewFor(200, 200, b);
    for (const m of EIGHT_GAUSSIANS.means) {
      const p = img.px(v.px(m[0]!), v.py(m[1]!));
      assert.ok(p[0] < 60, `mode (${m}) should be dark: ${p}`);
    }
    assert.ok(isWhite(img.px(v.px(0), v.py(0))), "the center is empty");
  });
});
