/**
 * scoregen plotting. Browser-safe modules: canvas, color, font, axes, render, images, gif, html.
 * Node-only: png (pngjs), plots (PNG-returning wrappers), files (atomic writes).
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
export { GLYPH_W, GLYPH_H, ADVANCE, hasGlyph, textWidth } from "./font.ts";
