/** `scoregen demo` (= `npm start`): the 2-D demo end to end, writing plots and an HTML summary. */
import type { Command } from "commander";
import { runDemo } from "../tasks/demo.ts";
import { numberOpt } from "./errors.ts";
import { type Progress, progressBar } from "./progress.ts";
import { checkSampleMemory } from "./sample.ts";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("train a VP-SDE model on 8 gaussians, sample (PC, ODE), report the NLL, write plots + HTML")
    .option("--out <dir>", "output folder", "out/demo")
    .option("--steps <n>", "training steps", "10000")
    .option("--n <n>", "samples per sampler", "2000")
    .option("--held-out <n>", "held-out points for the NLL", "1000")
    .option("--json", "print the report as JSON")
    .action(async (f: { out: string; steps: string; n: string; heldOut: string; json?: boolean }) => {
      let bar: Progress | undefined;
      const log = (s: string) => {
        if (!f.json) process.stderr.write(`${s}\n`);
      };
      const n = numberOpt("--n", f.n, { int: true, min: 1 })!,
        heldOut = numberOpt("--held-out", f.heldOut, { int: true, min: 2 })!;
      checkSampleMemory("--n", n, 2, 62);
      checkSampleMemory("--held-out", heldOut, 2, 2);
      const t0 = performance.now();
      const report = await runDemo({
        outDir: f.out,
        steps: numberOpt("--steps", f.steps, { int: true, min: 1, max: 1e9 })!,
        samples: n,
        heldOut,
        onProgress: (phase, step, total, info) => {
          if (phase === "train") {
            bar ??= progressBar("train", total!, ["loss"]);
            bar.update(step!, info);
            return;
          }
          bar?.stop();
          bar = undefined;
          log(`${phase}…`);
        },
      });
      const secs = (performance.now() - t0) / 1000;
      if (f.json) {
        console.log(JSON.stringify({ ...report, seconds: secs }));
        return;
      }
      console.log(
        [
          `trained ${report.steps} steps in ${report.trainSeconds.toFixed(1)} s`,
          `held-out NLL: model ${report.nll.toFixed(4)} ± ${report.nllStdErr.toFixed(4)} nats, true density ${report.trueNll.toFixed(4)} nats (gap ${(report.nll - report.trueNll).toFixed(4)})`,
          `PC sampler: ${report.pc.nfe} score evaluations in ${report.pc.seconds.toFixed(1)} s; ODE sampler: ${report.ode.nfe} in ${report.ode.seconds.toFixed(1)} s`,
          `wrote ${report.files.length} files to ${f.out}/ — open ${f.out}/index.html (total ${secs.toFixed(1)} s)`,
        ].join("\n"),
      );
    });
}
