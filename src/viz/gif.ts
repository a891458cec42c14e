/**
 * Animated GIFs through gifenc: each RGBA frame is quantized to its own palette (≤ 256 colors,
 * rgb565 by default) and LZW-encoded; the stream loops forever unless told otherwise.
 * Pure JavaScript, so it also runs in a browser. Plus the SVG frames of a moving 2-D point cloud
 * (e.g. the sampler state at each step); ./plots.ts rasterizes them with resvg into a GIF.
 */
import * as gifencNs from "gifenc";
import type { Raster } from "./canvas.ts";
import { fitBounds } from "./axes.ts";
import { type PointCloudOptions, renderPointCloud } from "./render.ts";

type GifencApi = typeof gifencNs.default;
// Node loads gifenc's CommonJS build (named functions sit on `default`); bundlers load its ES
// build (named exports at the top level, `default` is GIFEncoder alone).
const gifenc: GifencApi = (
  typeof (gifencNs as unknown as { GIFEncoder?: unknown }).GIFEncoder === "function" ? gifencNs : gifencNs.default
) as GifencApi;

export interface GifOptions {
  /** Delay between frames in milliseconds (default 100; GIF stores centiseconds). */
  delayMs?: number;
  /** Delay of the last frame (default: 10 × delayMs, so the loop pauses on the result). */
  lastDelayMs?: number;
  /** true: loop forever (default); false: play once; a number: repeat that many extra times. */
  loop?: boolean | number;
  /** Palette size per frame, 2–256 (default 256). */
  maxColors?: number;
}

/** Encodes RGBA frames (all the same size) as an animated GIF; returns the file's bytes. */
export function encodeGif(frames: Raster[], opts: GifOptions = {}): Uint8Array {
  if (frames.length === 0) throw new Error("encodeGif: no frames; pass at least one RGBA raster");
  const { width, height } = frames[0]!;
  frames.forEach((f, k) => {
    if (f.width !== width || f.height !== height) {
      throw new Error(
        `encodeGif: frame ${k} is ${f.width}×${f.height} but frame 0 is ${width}×${height}; all frames must have the same size`,
      );
    }
    if (f.data.length !== width * height * 4)
      throw new Error(`encodeGif: frame ${k} has ${f.data.length} bytes, expected ${width * height * 4} (RGBA)`);
  });
  if (width > 65535 || height > 65535)
    throw new Error(`encodeGif: ${width}×${height} exceeds the GIF limit of 65535 pixels per side`);
  const maxColors = Math.max(2, Math.min(256, Math.round(opts.maxColors ?? 256)));
  const delay = Math.max(0, opts.delayMs ?? 100);
  const lastDelay = Math.max(0, opts.lastDelayMs ?? (frames.length > 1 ? delay * 10 : delay));
  const repeat =
    opts.loop === undefined || opts.loop === true ? 0 : opts.loop === false ? -1 : Math.max(0, Math.floor(opts.loop));
  const enc = gifenc.GIFEncoder();
  frames.forEach((f, k) => {
    const palette = gifenc.quantize(f.data, maxColors);
    const index = gifenc.applyPalette(f.data, palette);
    enc.writeFrame(index, width, height, { palette, delay: k === frames.length - 1 ? lastDelay : delay, repeat });
  });
  enc.finish();
  return enc.bytes();
}

export interface PointCloudGifOptions extends PointCloudOptions, GifOptions {
  /** One caption per frame, e.g. "t = 0.50" (overrides `caption`). */
  captions?: string[];
}

/**
 * Renders each frame (row-major n×2 points) as a point-cloud plot (SVG) with one fixed window (by
 * default fitted to the last frame and the reference points, so the final samples fill the
 * picture and early, wider noise runs off the edges).
 */
export function pointCloudFrames(frames: ArrayLike<number>[], opts: PointCloudGifOptions = {}): string[] {
  if (frames.length === 0) throw new Error("pointCloudGif: no frames; pass at least one n×2 point array");
  const bounds =
    opts.bounds ??
    fitBounds([frames[frames.length - 1]!, ...(opts.reference ? [opts.reference] : [])], { margin: 0.12 });
  return frames.map((f, k) => renderPointCloud(f, { ...opts, bounds, caption: opts.captions?.[k] ?? opts.caption }));
}
