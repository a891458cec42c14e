/**
 * scoregen plotting. Browser-safe modules: canvas (raster), svg-canvas, svg, color, axes, render,
 * lines, images, gif, html: plots are SVG documents with real text. Node-only: png (pngjs), svg-png
 * (resvg), plots (PNG/GIF-returning wrappers), files (atomic writes).
 */
export * from "./canvas.ts";
export * from "./color.ts";
export * from "./axes.ts";
export * from "./render.ts";
export * from "./lines.ts";
export * from "./images.ts";
export * from "./gif.ts";
export * from "./html.ts";
export * from "./png.ts";
export * from "./plots.ts";
export * from "./files.ts";
export * from "./svg-canvas.ts";
export { figure, scoreFieldSvg, type Frame, type ScoreFieldSvgOptions } from "./svg.ts";
export { svgToPng, svgToRaster, PLOT_FONT_FILE } from "./svg-png.ts";
