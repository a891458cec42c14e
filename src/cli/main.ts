/** The scoregen command line. Errors print one line (no stack trace; SCOREGEN_DEBUG=1 shows it) and exit 1. */
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import "../node.ts";
import { registerDemo } from "./demo.ts";
import { registerEvaluate } from "./evaluate.ts";
import { registerLikelihood } from "./likelihood.ts";
import { registerPlot } from "./plot.ts";
import { registerSample } from "./sample.ts";
import { registerTrain } from "./train.ts";

/** The package's version, read from package.json (two folders up from src/cli/ and from dist/cli/). */
const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command("scoregen")
  .description("score-based generative modeling: train, sample, evaluate likelihoods, plot")
  .version(version)
  .exitOverride()
  .showHelpAfterError("(run with --help for usage)");
registerTrain(program);
registerSample(program);
registerLikelihood(program);
registerPlot(program);
registerEvaluate(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`scoregen: error: ${msg}\n`);
  if (process.env.SCOREGEN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}
