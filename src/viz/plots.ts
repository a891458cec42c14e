/**
 * The plot functions that return PNG or GIF bytes (Node): thin wrappers that render SVG with
 * ./render.ts, ./lines.ts or ./images.ts and rasterize it with resvg and the bundled DejaVu Sans
 * (./svg-png.ts). Use the render* / *Svg functions directly for the SVG itself (e.g. in a page).
 */
import type { Raster } from "./canvas.ts";
import { type GifOptions, encodeGif, type PointCloudGifOptions, pointCloudFrames } from "./gif.ts";
import { type ImageGridOptions, imageGridSvg, renderImageGrid } from "./images.ts";
import { type LinePlotOptions, type LineSeries, renderLinePlot } from "./lines.ts";
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
import { svgToPng, svgToRaster } from "./svg-png.ts";

/** Scatter plot of data and samples (optional density heatmap) as PNG bytes; see {@link renderScatter}. */
export function scatterPlot(opts: ScatterOptions): Buffer {
  return svgToPng(renderScatter(opts));
}

/** Score vector field on a grid as PNG bytes; see {@link renderScoreField}. */
export function scoreFieldPlot(field: VectorField, opts: ScoreFieldOptions = {}): Buffer {
  return svgToPng(renderScoreField(field, opts));
}

/** SDE/ODE trajectories (row-major T×2 paths) as PNG bytes; see {@link renderTrajectories}. */
export function trajectoryPlot(paths: ArrayLike<number>[], opts: TrajectoryOptions = {}): Buffer {
  return svgToPng(renderTrajectories(paths, opts));
}

/**
 * A grid of C×H×W images as PNG bytes; see {@link renderImageGrid}. Without a title the PNG holds
 * the grid's exact pixels; with one, the titled SVG ({@link imageGridSvg}) rasterized.
 */
export function imageGrid(images: ArrayLike<number> | ArrayLike<number>[], opts: ImageGridOptions): Buffer {
  return opts.title ? svgToPng(imageGridSvg(images, opts)) : encodePng(renderImageGrid(images, opts));
}

/** The image grid as RGBA pixels, title included when given (e.g. one GIF frame). */
export function imageGridRaster(images: ArrayLike<number> | ArrayLike<number>[], opts: ImageGridOptions): Raster {
  return opts.title ? svgToRaster(imageGridSvg(images, opts)) : renderImageGrid(images, opts);
}

/** Line plot (optionally log–log) as PNG bytes; see {@link renderLinePlot}. */
export function linePlot(series: LineSeries[], opts: LinePlotOptions = {}): Buffer {
  return svgToPng(renderLinePlot(series, opts));
}

/** Animated GIF of SVG frames (all the same size), each rasterized by resvg. */
export function svgGif(frames: string[], opts: GifOptions = {}): Uint8Array {
  return encodeGif(
    frames.map((f) => svgToRaster(f)),
    opts,
  );
}

/** Animated GIF of a moving point cloud (400×400 by default); see {@link pointCloudFrames}. */
export function pointCloudGif(frames: ArrayLike<number>[], opts: PointCloudGifOptions = {}): Uint8Array {
  return svgGif(pointCloudFrames(frames, { width: 400, height: 400, ...opts }), opts);
}
