/**
 * `scoregen sweep`: one training run per point of a grid of `train` settings, each into its own
 * subfolder, run by `scoregen worker` processes through Redis (or here, one after another, without
 * --redis); at the end a table of final loss and held-out NLL (built-in 2-D data) per point.
 */
import { checkpointKind } from "../io/checkpoint.ts";
import { describeKind } from "../io/run-folder.ts";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { writeJsonAtomic } from "../io/files.ts";
import { queueRunner } from "../tasks/queue.ts";
import { type TrainJob, type TrainJobResult, inProcessRunner } from "../tasks/shard.ts";
import { openTrainData } from "../tasks/sources.ts";
import { UsageError, numberOpt } from "./errors.ts";
import { progressBar } from "./progress.ts";
import { type TrainFlags, configFromFlags, parseFlags, registerTrain } from "./train.ts";

interface SweepFlags {
  grid: string;
  data: string;
  out: string;
  steps: string;
  heldout: string;
  redis?: string;
  redisTimeout: string;
  attempts: string;
  json?: boolean;
}

/** Settings a sweep fixes itself rather than taking from the grid. */
const OWN = new Set(["data", "out", "steps", "resume", "json"]);

export function registerSweep(program: Command): void {
  program
    .command("sweep")
    .description(
      "train one run per point of a grid of train settings (through Redis workers with --redis), then tabulate final loss and held-out NLL",
    )
    .requiredOption(
      "--grid <json>",
      `train settings and their values, e.g. '{"lr":[1e-3,2e-4],"sde":["vp","subvp"]}' (keys are train's flags: lr, sde, loss, batch, hidden, layers, …; a one-value list fixes a setting)`,
    )
    .requiredOption("--data <name|file|dir>", "training data, as for train")
    .requiredOption(
      "--out <dir>",
      "parent folder; each grid point trains into its own subfolder, and sweep.json gets the table",
    )
    .option("--steps <n>", "training steps per point", "5000")
    .option("--heldout <n>", "held-out points for the NLL of built-in 2-D data (0 = skip)", "1000")
    .option(
      "--redis <url>",
      "run the trainings on `scoregen worker` processes through Redis at redis://HOST:PORT; workers must be able to write --out",
    )
    .option("--redis-timeout <s>", "with --redis: fail when Redis cannot be reached for this many seconds", "30")
    .option("--attempts <n>", "with --redis: attempts per training before the sweep fails with its error", "1")
    .option("--json", "print the table as JSON")
    .action(async (f: SweepFlags) => runSweep(f));
}

/** Every combination of the grid's values, keys in the grid's order. */
export function gridPoints(grid: Record<string, unknown[]>): Record<string, unknown>[] {
  return Object.entries(grid).reduce<Record<string, unknown>[]>(
    (pts, [k, vs]) => pts.flatMap((p) => vs.map((v) => ({ ...p, [k]: v }))),
    [{}],
  );
}

function parseGrid(text: string): Record<string, unknown[]> {
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      `--grid is not valid JSON (${(e as Error).message}); expected e.g. '{"lr":[1e-3,2e-4],"sde":["vp","subvp"]}'`,
    );
  }
  if (!g || typeof g !== "object" || Array.isArray(g) || Object.keys(g).length === 0)
    throw new UsageError(`--grid must be a JSON object of settings to lists of values, e.g. '{"lr":[1e-3,2e-4]}'`);
  for (const [k, v] of Object.entries(g))
    if (!Array.isArray(v) || v.length === 0)
      throw new UsageError(
        `--grid: "${k}" must map to a non-empty list of values, e.g. "${k}": [${JSON.stringify(v)}]`,
      );
  return g as Record<string, unknown[]>;
}

/** train's flags for one grid point: train's own defaults, overridden by the point (parsed by train's command). */
function trainFlags(point: Record<string, unknown>, f: SweepFlags): TrainFlags {
  const cmd = new Command().exitOverride();
  registerTrain(cmd);
  const train = cmd.commands.find((c) => c.name() === "train")!;
  const known = new Map(train.options.map((o) => [o.attributeName(), o]));
  const argv = ["--data", f.data, "--out", "unused", "--steps", f.steps];
  for (const [k, v] of Object.entries(point)) {
    const key = k.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const opt = known.get(key);
    if (!opt || OWN.has(key))
      throw new UsageError(
        `--grid: "${k}" is not a setting of train; use ${[...known.keys()].filter((n) => !OWN.has(n)).join(", ")}`,
      );
    if (opt.isBoolean()) {
      if (v === true) argv.push(opt.long!);
      else if (v !== false) throw new UsageError(`--grid: "${k}" takes true or false`);
    } else argv.push(opt.long!, String(v));
  }
  train.parseOptions(argv);
  return train.opts() as TrainFlags;
}

/** A subfolder name for a grid point: key=value pairs joined by "_" (safe characters only). */
export function pointFolder(point: Record<string, unknown>): string {
  return Object.entries(point)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join("_")
    .replace(/[^A-Za-z0-9=._+-]/g, "-");
}

async function runSweep(f: SweepFlags): Promise<void> {
  const steps = numberOpt("--steps", f.steps, { int: true, min: 1 })!,
    heldOut = numberOpt("--heldout", f.heldout, { int: true, min: 0 })!;
  const points = gridPoints(parseGrid(f.grid));
  const jobs: TrainJob[] = [];
  for (const [chunk, point] of points.entries()) {
    const flags = trainFlags(point, f);
    const parsed = parseFlags(flags),
      dataOptions = parsed.imageOptions;
    const data = await openTrainData(f.data, dataOptions);
    const outDir = resolve(join(f.out, pointFolder(point)));
    const held = await checkpointKind(outDir);
    if (held)
      throw new UsageError(
        `${outDir} already holds a ${describeKind(held.kind)} (step ${held.step}); choose another --out`,
      );
    jobs.push({
      kind: "train",
      chunk,
      cfg: configFromFlags(flags, parsed, data, dataOptions),
      data: f.data,
      dataOptions: data.images ? dataOptions : undefined,
      steps,
      outDir,
      heldOut,
      point,
    });
  }
  if (f.redis !== undefined && !/^rediss?:\/\/[^/\s]+/.test(f.redis))
    throw new UsageError(`--redis must be a redis://HOST:PORT URL, got '${f.redis}'`);
  const run =
    f.redis === undefined
      ? inProcessRunner
      : queueRunner(f.redis, {
          timeoutS: numberOpt("--redis-timeout", f.redisTimeout, { min: 0.1 }),
          attempts: numberOpt("--attempts", f.attempts, { int: true, min: 1 }),
        });
  const bar = progressBar(`sweep (${jobs.length} runs${f.redis ? `, ${f.redis}` : ""})`, jobs.length);
  let done = 0;
  const results = await run<TrainJobResult>(jobs, () => bar.update(++done));
  bar.stop();
  const rows = results.map((r) => ({
    ...r.point,
    finalLoss: r.finalLoss,
    heldOutNll: r.heldOutNll ?? null,
    trueNll: r.trueNll ?? null,
    step: r.step,
    seconds: Math.round(r.seconds * 10) / 10,
    run: r.outDir,
  }));
  await writeJsonAtomic(
    join(f.out, "sweep.json"),
    { data: f.data, steps, heldOut, grid: JSON.parse(f.grid), results: rows },
    { mkdirs: true },
  );
  if (f.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  const keys = Object.keys(points[0]!);
  const header = [...keys, "final loss", "held-out NLL", "true NLL", "s", "run"];
  const cells = rows.map((r) => [
    ...keys.map((k) => String(r[k as keyof typeof r])),
    r.finalLoss.toFixed(4),
    r.heldOutNll?.toFixed(4) ?? "—",
    r.trueNll?.toFixed(4) ?? "—",
    String(r.seconds),
    r.run,
  ]);
  const width = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  for (const line of [header, width.map((w) => "-".repeat(w)), ...cells])
    console.log(
      line
        .map((c, i) => c.padEnd(width[i]!))
        .join("  ")
        .trimEnd(),
    );
  console.log(`(table also in ${join(f.out, "sweep.json")})`);
}
