/**
 * Writing plots to disk (Node). Every write is atomic: a temporary file in the same folder is
 * renamed over the target, so a crash never leaves a half-written picture or report.
 */
import { writeFileAtomic } from "../io/files.ts";
import type { Raster } from "./canvas.ts";
import { encodePng } from "./png.ts";

export { writeFileAtomic };

/** Writes PNG/GIF/HTML bytes or text atomically; a Raster is encoded as PNG first. */
export async function writePlot(path: string, content: Uint8Array | string | Raster): Promise<void> {
  if (typeof content === "string" || content instanceof Uint8Array) await writeFileAtomic(path, content);
  else await writeFileAtomic(path, encodePng(content));
}
