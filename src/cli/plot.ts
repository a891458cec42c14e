/** `scoregen plot field`: the score vector field of a model at a chosen time. */
import type { Command } from "commander";
import { writeFileAtomic } from "../io/files.ts";
import { SDE_NAMES } from "../sde/index.ts";
import { scoreFieldPng, scoreFieldSvgOf } from "../tasks/plots.ts";
import { openScoreSource } from "../tasks/sources.ts";
import { squareBounds } from "../viz/index.ts";
import { numberOpt } from "./errors.ts";
import { checkExtension, checkMemory } from "./validate.ts";

export function registerPlot(program: Command): void {
  const plot = program.command("plot").description("pictures of a 2-D score model");
  plot
    .command("field")
    .description("the score vector field ∇ log p_t at time t, as arrows on a grid")
    .requiredOption("--score <dir|oracle:spec.json>", "a training-run folder, or oracle:SPEC.json")
    .requiredOption(
      "--out <file.png|file.svg>",
      "picture to write: PNG, or the SVG itself (real text, as the playground shows it)",
    )
    .option("--sde <name>", `SDE for an oracle (${SDE_NAMES.join(", ")})`)
    .option("--t <t>", "diffusion time, in [eps, T] of the SDE (T = 1 for the built-in SDEs)", "0.1")
    .option("--extent <x>", "half-width of the square window", "4")
    .option("--grid <n>", "arrows per side", "25")
    .action(async (f: { score: string; out: string; sde?: string; t: string; extent: string; grid: string }) => {
      checkExtension("--out", f.out, [".png", ".svg"]);
      const grid = numberOpt("--grid", f.grid, { int: true, min: 2, max: 1e6 })!;
      checkMemory("--grid", grid, `a ${grid}×${grid} grid of arrows`, grid * grid * 2 * 8 * 6, grid * grid * 2 * 8);
      const extent = numberOpt("--extent", f.extent, { min: 0, minExclusive: true, max: 1e6 })!;
      const src = await openScoreSource(f.score, f.sde);
      const t = numberOpt("--t", f.t, { min: src.sde.eps, max: src.sde.T })!;
      const o = { bounds: squareBounds(extent), nx: grid };
      await writeFileAtomic(
        f.out,
        /\.svg$/i.test(f.out) ? await scoreFieldSvgOf(src.model, t, o) : await scoreFieldPng(src.model, t, o),
      );
      console.log(`wrote ${f.out}`);
    });
}
