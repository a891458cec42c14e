import assert from "node:assert/strict";
import { test } from "node:test";
import { decodePng, linePlot, renderLinePlot, svgToPng } from "../src/viz/index.ts";

test("line plot: log–log series are drawn where log10 of the values falls; bad series are rejected", () => {
  const red: [number, number, number] = [200, 0, 0];
  const svg = renderLinePlot(
    [
      { label: "a", x: [10, 100, 1000], y: [1, 0.1, 0.01], color: red },
      { x: [10, 1000], y: [1e-3, 1] },
    ],
    { logX: true, logY: true, width: 400, height: 300, legend: false, xLabel: "NFE", yLabel: "error ε" },
  );
  assert.match(svg, /<text [^>]*>log10 NFE<\/text>/, "the x label says the axis is log10");
  assert.match(svg, /<text [^>]*rotate\(-90\)[^>]*>log10 error ε<\/text>/, "the y label is vertical real text");
  const c = decodePng(svgToPng(svg));
  assert.deepEqual([c.width, c.height], [400, 300]);
  const reddish = (canvas: typeof c) => {
    let count = 0;
    for (let px = 0; px < canvas.width; px++)
      for (let py = 0; py < canvas.height; py++) {
        const i = 4 * (py * canvas.width + px);
        if (canvas.data[i]! > 150 && canvas.data[i + 1]! < 80 && canvas.data[i + 2]! < 80) count++;
      }
    return count;
  };
  assert.ok(reddish(c) > 50, "the red series is drawn");
  // the same data on linear axes is a different picture (the log transform is applied)
  const lin = decodePng(
    svgToPng(
      renderLinePlot([{ x: [10, 100, 1000], y: [1, 0.1, 0.01], color: red }], {
        width: 400,
        height: 300,
        legend: false,
      }),
    ),
  );
  assert.notDeepEqual(Array.from(lin.data), Array.from(c.data), "log axes change the picture");
  assert.throws(
    () => renderLinePlot([{ label: "bad", x: [1, 2], y: [1] }]),
    /series bad has 2 x values but 1 y values/,
  );
  const png = decodePng(linePlot([{ x: [1, 2, 3], y: [3, 1, 2] }], { width: 200, height: 150 }));
  assert.equal(png.width, 200);
  assert.equal(png.height, 150);
});
