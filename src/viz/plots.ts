/**
 * The plot functions that return PNG bytes (Node): thin wrappers that render with ./render.ts or
 * ./images.ts and encode with pngjs. Use the render* functions directly for a Canvas.
 */
import { encodePng } from "./png.ts";
import {
  type ScatterOptions,
  type ScoreFieldOptions,
  type TrajectoryOptions,
  type VectorField,
  renderScatter,
  renderScoreField,
  renderTrajectories,
} from "./render.ts";
import { type ImageGridOptions, renderImageGrid } from "./images.ts";
import { type LinePlotOptions, type LineSeries, renderLinePlot } from "./lines.ts";

/** Scatter plot of data and samples (optional density heatmap) as PNG bytes; see {@link renderScatter}. */
export function scatterPlot(opts: ScatterOptions): Buffer {
  return encodePng(renderScatter(opts));
}

/** Score vector field on a grid as PNG bytes; see {@link renderScoreField}. */
export function scoreFieldPlot(field: VectorField, opts: ScoreFieldOptions = {}): Buffer {
  return encodePng(renderScoreField(field, opts));
}

/** SDE/ODE trajectories (row-major T×2 paths) as PNG bytes; see {@link renderTrajectories}. */
export function trajectoryPlot(paths: ArrayLike<number>[], opts: TrajectoryOptions = {}): Buffer {
  return encodePng(renderTrajectories(paths, opts));
}

/** A grid of C×H×W images as PNG bytes; see {@link renderImageGrid}. */
export function imageGrid(images: ArrayLike<number> | ArrayLike<number>[], opts: ImageGridOptions): Buffer {
  return encodePng(renderImageGrid(images, opts));
}

/** Line plot (optionally log–log) as PNG bytes; see {@link renderLinePlot}. */
export function linePlot(series: LineSeries[], opts: LinePlotOptions = {}): Buffer {
  return encodePng(renderLinePlot(series, opts));
}
