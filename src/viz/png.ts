/**
 * PNG encoding and decoding of RGBA rasters through pngjs (Node; in a browser draw the
 * {@link Canvas} data into an ImageData instead).
 */
import { PNG } from "pngjs";
import type { Raster } from "./canvas.ts";

/** Encodes an RGBA raster (straight alpha) as a PNG file's bytes. */
export function encodePng(r: Raster): Buffer {
  if (r.data.length !== r.width * r.height * 4) {
    throw new Error(
      `encodePng: raster data has ${r.data.length} bytes but ${r.width}×${r.height}×4 = ${r.width * r.height * 4} are needed`,
    );
  }
  const png = new PNG({ width: r.width, height: r.height });
  png.data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  return PNG.sync.write(png, { colorType: 6 });
}

/** Decodes PNG bytes into an RGBA raster. */
export function decodePng(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return {
    width: png.width,
    height: png.height,
    data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
  };
}
