/**
 * SVG → PNG for the CLI (Node): @resvg/resvg-js (prebuilt binaries on npm) with DejaVu Sans from
 * the npm package dejavu-fonts-ttf, and no system fonts, so a picture renders the same on every
 * machine and needs nothing installed besides `npm ci`. DejaVu Sans covers Greek (σ, ε), ∇ and the
 * subscript digits used in axis labels.
 */
import { Resvg } from "@resvg/resvg-js";
import { createRequire } from "node:module";
import type { Raster } from "./canvas.ts";

const require = createRequire(import.meta.url);
/** Path of the bundled font file (DejaVu Sans, TrueType). */
export const PLOT_FONT_FILE: string = require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
const BOLD_FONT_FILE: string = require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf");

function render(svg: string, opts: { width?: number }) {
  return new Resvg(svg, {
    font: {
      fontFiles: [PLOT_FONT_FILE, BOLD_FONT_FILE],
      loadSystemFonts: false,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
    ...(opts.width ? { fitTo: { mode: "width" as const, value: opts.width } } : {}),
    background: "white",
  }).render();
}

/** Rasterize an SVG document to PNG bytes at its own size (or `width` pixels wide). */
export function svgToPng(svg: string, opts: { width?: number } = {}): Buffer {
  return render(svg, opts).asPng();
}

/** Rasterize an SVG document to RGBA pixels (opaque: drawn over white), e.g. for GIF frames. */
export function svgToRaster(svg: string, opts: { width?: number } = {}): Raster {
  const r = render(svg, opts);
  const px = r.pixels;
  return { width: r.width, height: r.height, data: new Uint8Array(px.buffer, px.byteOffset, px.byteLength) };
}
