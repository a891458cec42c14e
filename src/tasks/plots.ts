/** Pictures of a 2-D score model: its vector field at time t (the model evaluated on a grid). */
import type { ScoreModel } from "../score.ts";
import { type Bounds, fieldGrid, squareBounds } from "../viz/index.ts";
import { scoreFieldSvg } from "../viz/svg.ts";
import { svgToPng } from "../viz/svg-png.ts";

type FieldOptions = {
  bounds?: Bounds;
  nx?: number;
  samples?: Float64Array;
  logDensity?: (x: number, y: number) => number;
  title?: string;
};

/**
 * SVG of s(x, t) on an nx×nx grid over a square `bounds` (default [−4, 4]²), optionally over samples
 * and a density: the same picture the playground's field panel draws.
 */
export async function scoreFieldSvgOf(model: ScoreModel, t: number, opts: FieldOptions = {}): Promise<string> {
  if (model.dim !== 2) throw new Error(`score-field plots need a 2-D model; this one has dimension ${model.dim}`);
  const b = opts.bounds ?? squareBounds(4);
  const extent = Math.max(-b.xmin, b.xmax, -b.ymin, b.ymax);
  const grid = fieldGrid(squareBounds(extent), opts.nx ?? 25);
  const m = grid.points.length / 2;
  // fieldGrid orders rows by increasing y; the arrows are drawn at their own coordinates, so order does not matter.
  const s = await model.score(grid.points, new Float64Array(m).fill(t), m);
  return scoreFieldSvg(grid.points, s, {
    extent,
    t,
    title: opts.title,
    samples: opts.samples,
    logDensity: opts.logDensity,
    width: 560,
    height: 520,
  });
}

/** PNG of {@link scoreFieldSvgOf}, rasterized by resvg with the bundled font. */
export async function scoreFieldPng(model: ScoreModel, t: number, opts: FieldOptions = {}): Promise<Buffer> {
  return svgToPng(await scoreFieldSvgOf(model, t, opts));
}
