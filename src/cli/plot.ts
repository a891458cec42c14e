/** `scoregen plot field`: the score vector field of a model at a chosen time. */
import type { Command } from "commander";
import { writeFileAtomic } from "../io/files.ts";
import { SDE_NAMES } from "../sde/index.ts";
import { scoreFieldPng } from "../tasks/plots.ts";
import { openScoreSource } from "../tasks/sources.ts";
import { squareBounds } from "../viz/index.ts";
import { numberOpt } from "./errors.ts";

export function registerPlot(program: Command): void {
  const plot = program.command("plot").description("pictures of a 2-D score model");
  plot
    .command("field")
    .description("the score vector field ∇ log p_t at time t, as arrows on a grid")
    .requiredOption("--score <dir|oracle:spec.json>", "a training-run folder, or oracle:SPEC.json")
    .requiredOption("--out <file.png>", "PNG to write")
    .option("--sde <name>", `SDE for an oracle (${SDE_NAMES.join(", ")})`)
    .option("--t <t>", "diffusion time", "0.1")
    .option("--extent <x>", "half-width of the square window", "4")
    .option("--grid <n>", "arrows per side", "25")
    .action(async (f: { score: string; out: string; sde?: string; t: string; extent: string; grid: string }) => {
      const src = await openScoreSource(f.score, f.sde);
      const t = numberOpt("--t", f.t, { min: 0 })!;
      const png = await scoreFieldPng(src.model, t, {
        bounds: squareBounds(numberOpt("--extent", f.extent, { min: 0 })!),
        nx: numberOpt("--grid", f.grid, { int: true, min: 2 }),
      });
      await writeFileAtomic(f.out, png);
      console.log(`wrote ${f.out}`);
    });
}
