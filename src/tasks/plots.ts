/** Pictures of a 2-D score model: its vector field at time t (the model evaluated on a grid). */
import type { ScoreModel } from "../score.ts";
import { type Bounds, fieldFromVectors, fieldGrid, scoreFieldPlot, squareBounds } from "../viz/index.ts";

/** PNG of s(x, t) on an nx×nx grid over `bounds` (default [−4, 4]²), optionally over samples. */
export async function scoreFieldPng(
  model: ScoreModel,
  t: number,
  opts: {
    bounds?: Bounds;
    nx?: number;
    samples?: Float64Array;
    logDensity?: (x: number, y: number) => number;
    title?: string;
  } = {},
): Promise<Buffer> {
  if (model.dim !== 2) throw new Error(`score-field plots need a 2-D model; this one has dimension ${model.dim}`);
  const grid = fieldGrid(opts.bounds ?? squareBounds(4), opts.nx ?? 25);
  const m = grid.points.length / 2;
  const s = await model.score(grid.points, new Float64Array(m).fill(t), m);
  return scoreFieldPlot(fieldFromVectors(grid, s), {
    t,
    samples: opts.samples,
    logDensity: opts.logDensity,
    title: opts.title,
  });
}
