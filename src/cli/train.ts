/** `scoregen train`: fit a score model to data and write a run folder (checkpoints + config + loss.csv). */
import type { Command } from "commander";
import { rm, stat } from "node:fs/promises";
import { DEFAULT_KEEP, checkpointKind, listCheckpoints } from "../io/checkpoint.ts";
import { describeKind, openRunFolder, type RunFolder } from "../io/run-folder.ts";
import { OBJECTIVES, checkObjective } from "../losses/objectives.ts";
import { type ModelSpec, dataDim, mlpSpec, ncsnppSpec, scoreNetSpec } from "../models/registry.ts";
import { PARAMETERIZATIONS, SDE_NAMES, type Parameterization } from "../sde/index.ts";
import { type ImageDataOptions, type SourcedData, openTrainData } from "../tasks/sources.ts";
import { type TrainConfig, train } from "../tasks/train.ts";
import { SCORE_RUN } from "../tasks/train-node.ts";
import { UsageError, choiceOpt, numberOpt, seedOpt } from "./errors.ts";
import { progressBar } from "./progress.ts";
import { exitCodeOf, stopOnSignals } from "./signals.ts";
import { checkMemory } from "./validate.ts";

export interface TrainFlags {
  data?: string;
  sde: string;
  loss: string;
  steps: string;
  out: string;
  batch?: string;
  lr?: string;
  warmup: string;
  clip: string;
  ema: string;
  seed: string;
  hidden: string;
  layers: string;
  param: string;
  checkpointEvery?: string;
  keepCheckpoints: string;
  resume?: boolean;
  json?: boolean;
  model?: string;
  range: string;
  flip?: boolean;
  dequantize?: boolean;
  size?: string;
  labels?: string;
  conditional?: boolean;
  allowChange?: string;
  importance?: boolean;
  tMin?: string;
  labelDropout?: string;
}

/** Defaults that depend on the kind of data: 2-D points or images. */
const DEFAULTS = {
  points: { batch: "512", lr: "2e-3", checkpointEvery: "1000", model: "mlp" },
  images: { batch: "32", lr: "2e-4", checkpointEvery: "500", model: "scorenet" },
} as const;

export function registerTrain(program: Command): void {
  program
    .command("train")
    .description("train a score model on data; DIR receives model.safetensors, config.json and loss.csv")
    .option(
      "--data <name|file|dir>",
      "(required unless --resume) built-in 2-D dataset (swissroll, moons, 8gaussians, checkerboard, rings, scurve), a .csv/.json file of points, mnist (the built-in digits), mnist-color (the digits in color, for colorization), an IDX image file, or a folder of PNG images (flat: unlabeled; one subfolder per class: labeled)",
    )
    .requiredOption("--out <dir>", "run folder for the checkpoint, config and loss log")
    .option("--sde <name>", `forward SDE: ${SDE_NAMES.join(", ")}`, "vp")
    .option("--loss <name>", `objective: ${OBJECTIVES.join(", ")}`, "dsm")
    .option(
      "--importance",
      "draw t with density ∝ g²/s² and reweight (Song et al. 2021b; lower variance for --loss dsm-likelihood)",
    )
    .option("--t-min <x>", "smallest training time t (truncation; default 1e-5)")
    .option("--steps <n>", "total training steps", "5000")
    .option(
      "--model <arch>",
      "network: mlp (points), scorenet (the tutorial U-Net, 28×28 images) or ncsnpp (residual U-Net with attention); default by data",
    )
    .option("--batch <n>", "batch size (default 512 for points, 32 for images)")
    .option("--lr <x>", "Adam learning rate (default 2e-3 for points, 2e-4 for images)")
    .option("--warmup <n>", "learning-rate warmup steps", "100")
    .option("--clip <x>", "clip gradients to this global norm (0 = off)", "1")
    .option("--ema <x>", "EMA decay of the parameters (0 = off)", "0.999")
    .option("--seed <n>", "random seed", "0")
    .option("--hidden <n>", "MLP width", "128")
    .option("--layers <n>", "MLP hidden layers", "3")
    .option("--param <kind>", `network output: ${PARAMETERIZATIONS.join(", ")}`, "eps")
    .option("--checkpoint-every <n>", "checkpoint interval in steps (default 1000 for points, 500 for images)")
    .option("--keep-checkpoints <n>", "number of newest checkpoints kept in DIR/checkpoints", String(DEFAULT_KEEP))
    .option("--range <r>", "image pixel scaling: [-1,1] or [0,1]", "[-1,1]")
    .option("--flip", "random horizontal flips of images")
    .option("--dequantize", "add uniform dequantization noise to every training image (better bits/dim)")
    .option("--size <n>", "resize/crop images to n×n (PNG folders, IDX files)")
    .option("--labels <file>", "IDX label file for an IDX image file")
    .option("--conditional", "train a class-conditional model (needs labeled images)")
    .option(
      "--label-dropout <p>",
      "with --conditional: train with the null label at this rate (e.g. 0.1), for classifier-free guidance (sample --cfg W)",
    )
    .option(
      "--resume",
      "continue the run in --out from its newest checkpoint (its saved settings are used; --steps sets the new total; other flags must match the saved ones)",
    )
    .option(
      "--allow-change <flags>",
      `with --resume: comma-separated settings that may differ from the saved run (${CHANGEABLE.join(", ")})`,
    )
    .option("--json", "print a JSON summary instead of text")
    .action(async (f: TrainFlags, cmd: Command) => runTrain(f, givenFlags(cmd)));
}

/** Option keys the user typed (not defaults): only these are compared with a resumed run. */
function givenFlags(cmd: Command): Set<string> {
  return new Set(cmd.options.map((o) => o.attributeName()).filter((k) => cmd.getOptionValueSource(k) === "cli"));
}

async function runTrain(f: TrainFlags, given: Set<string>): Promise<void> {
  const p = parseFlags(f);
  if (f.allowChange !== undefined && !f.resume) throw new UsageError("--allow-change only applies with --resume");
  const stop = stopOnSignals({ onHardExit: () => folder?.closeSync() });
  let folder: RunFolder | undefined;
  const created = !(await stat(f.out).then(
    () => true,
    () => false,
  ));
  try {
    // Cheap read-only checks first, so a refused command neither loads data nor creates folders.
    const held = created ? undefined : await checkpointKind(f.out).catch(() => undefined);
    if (held && held.kind !== SCORE_RUN)
      throw new UsageError(
        `${f.out} holds a ${describeKind(held.kind)} (step ${held.step}); choose another --out for a training run`,
      );
    if (held && !f.resume)
      throw new UsageError(
        `${f.out} already holds a training run; pass --resume to continue it (from step ${held.step}) or choose another --out`,
      );
    let fresh: { data: SourcedData; cfg: TrainConfig } | undefined;
    if (!held) {
      if (f.data === undefined)
        throw new UsageError(
          f.resume
            ? `--resume: ${f.out} holds no training run yet; pass --data to start one there`
            : "--data is required: name the data to train on (e.g. --data moons or --data mnist)",
        );
      const data = await openTrainData(f.data, p.imageOptions);
      fresh = { data, cfg: configFromFlags(f, p, data, p.imageOptions) };
      checkBatchMemory(fresh.cfg, data);
    }
    folder = await openRunFolder(f.out, { kind: SCORE_RUN, command: "scoregen train", keep: p.keepCheckpoints });
    if (folder.existing && !f.resume)
      throw new UsageError(
        `${f.out} already holds a training run; pass --resume to continue it (from step ${folder.existing.step}) or choose another --out`,
      );
    const latest = f.resume && folder.existing ? await folder.loadLatest() : undefined;
    const saved = latest?.config as TrainConfig | undefined;
    if (saved) checkResume(f.out, saved, f, p, given, f.allowChange);
    const data =
      saved || !fresh
        ? await openTrainData(
            String(saved?.data?.source ?? f.data),
            (saved?.data?.options ?? p.imageOptions) as ImageDataOptions,
          )
        : fresh.data;
    const kind = data.images ? "images" : "points";
    const steps = given.has("steps") || !saved?.schedule ? p.steps : saved.schedule.steps;
    const checkpointEvery =
      given.has("checkpointEvery") || !saved?.schedule
        ? (p.checkpointEvery ?? numberOpt("--checkpoint-every", DEFAULTS[kind].checkpointEvery)!)
        : saved.schedule.checkpointEvery;
    const keep = given.has("keepCheckpoints") || !saved?.schedule ? p.keepCheckpoints : saved.schedule.keep;
    const base = saved ? withChanges(saved, p, given) : (fresh?.cfg ?? configFromFlags(f, p, data, p.imageOptions));
    const cfg: TrainConfig = { ...base, schedule: { steps, checkpointEvery, keep } };
    checkBatchMemory(cfg, data);
    await report(
      f,
      await trainWith(folder, cfg, data, steps, checkpointEvery, stop.signal, Boolean(saved)),
      steps,
      stop.received(),
    );
    if (stop.received()) process.exitCode = exitCodeOf(stop.received()!);
  } catch (e) {
    // A folder this command created and never saved a checkpoint into is removed again (no partial output).
    if (created && folder && (await listCheckpoints(f.out)).length === 0) {
      await folder.close();
      folder = undefined;
      await rm(f.out, { recursive: true, force: true });
    }
    throw e;
  } finally {
    stop.dispose();
    await folder?.close();
  }
}

async function trainWith(
  folder: RunFolder,
  cfg: TrainConfig,
  data: SourcedData,
  steps: number,
  checkpointEvery: number,
  signal: AbortSignal,
  resume: boolean,
) {
  const bar = progressBar("train", steps, ["loss", "it_s"]);
  const t0 = performance.now();
  let first = 0;
  try {
    const res = await train(cfg, data, {
      steps,
      store: folder,
      resume,
      checkpointEvery,
      signal,
      onWarning: (w) => {
        bar.stop();
        process.stderr.write(`scoregen: warning: ${w}\n`);
      },
      onStep: ({ step, loss }) => {
        if (!first) first = step;
        if (step % 10 === 0 || step === steps)
          bar.update(step, {
            loss: loss.toFixed(4),
            it_s: ((step - first + 1) / ((performance.now() - t0) / 1000)).toFixed(0),
          });
      },
    });
    return { ...res, seconds: (performance.now() - t0) / 1000 };
  } finally {
    bar.stop();
  }
}

function report(
  f: TrainFlags,
  res: { step: number; stopped: boolean; losses: number[]; seconds: number },
  steps: number,
  signal?: string,
): void {
  const tail = res.losses.slice(-100);
  const summary = {
    out: f.out,
    step: res.step,
    steps,
    stopped: res.stopped,
    signal: signal ?? null,
    seconds: Math.round(res.seconds * 10) / 10,
    loss: tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : null,
  };
  if (f.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `${res.stopped ? `stopped${signal ? ` by ${signal}` : ""}` : "trained"} to step ${res.step} in ${summary.seconds} s; mean loss of the last ${tail.length} steps ${summary.loss?.toFixed(4)}; checkpoint in ${f.out}${res.stopped ? " (continue with --resume)" : ""}`,
    );
}

/** Every flag parsed and range-checked by name, whether or not it will be used (a resumed run checks them too). */
export function parseFlags(f: TrainFlags) {
  const clip = numberOpt("--clip", f.clip, { min: 0, max: 1e6 })!,
    ema = numberOpt("--ema", f.ema, { min: 0, max: 1, maxExclusive: true })!;
  return {
    steps: numberOpt("--steps", f.steps, { int: true, min: 1, max: 1e9 })!,
    batch: numberOpt("--batch", f.batch, { int: true, min: 1 }),
    lr: numberOpt("--lr", f.lr, { min: 0, minExclusive: true, max: 1e3 }),
    warmup: numberOpt("--warmup", f.warmup, { int: true, min: 0, max: 1e9 })!,
    clip,
    ema,
    seed: seedOpt("--seed", f.seed),
    hidden: numberOpt("--hidden", f.hidden, { int: true, min: 1, max: 65536 })!,
    layers: numberOpt("--layers", f.layers, { int: true, min: 1, max: 1000 })!,
    checkpointEvery: numberOpt("--checkpoint-every", f.checkpointEvery, { int: true, min: 1 }),
    keepCheckpoints: numberOpt("--keep-checkpoints", f.keepCheckpoints, { int: true, min: 1, max: 1e6 })!,
    sde: choiceOpt("--sde", f.sde, SDE_NAMES),
    loss: checkObjective(f.loss),
    param: choiceOpt("--param", f.param, PARAMETERIZATIONS) as Parameterization,
    model: f.model === undefined ? undefined : choiceOpt("--model", f.model, ["mlp", "scorenet", "ncsnpp"] as const),
    imageOptions: imageOptions(f),
  };
}
export type Parsed = ReturnType<typeof parseFlags>;

/** Settings that may change when a run is resumed (with --allow-change); --steps always may. */
const CHANGEABLE = ["lr", "warmup", "clip", "ema", "checkpoint-every", "keep-checkpoints"] as const;

/** Each run setting: its flag, the option key, the saved value and the given one (normalized). */
function runSettings(
  c: TrainConfig,
  p: Parsed,
  f: TrainFlags,
): { flag: string; key: string; saved: unknown; given: unknown }[] {
  const arch = c.model.arch as { kind: string; hidden?: number; layers?: number };
  const o = (c.data?.options ?? {}) as ImageDataOptions;
  return [
    { flag: "--data", key: "data", saved: c.data?.source, given: f.data },
    { flag: "--sde", key: "sde", saved: c.sde, given: p.sde },
    { flag: "--loss", key: "loss", saved: c.objective, given: p.loss },
    { flag: "--model", key: "model", saved: arch.kind, given: p.model },
    { flag: "--hidden", key: "hidden", saved: arch.hidden, given: p.hidden },
    { flag: "--layers", key: "layers", saved: arch.layers, given: p.layers },
    { flag: "--param", key: "param", saved: c.model.parameterization, given: p.param },
    { flag: "--batch", key: "batch", saved: c.batch, given: p.batch },
    { flag: "--seed", key: "seed", saved: c.seed, given: p.seed },
    { flag: "--range", key: "range", saved: o.range ?? "[-1,1]", given: p.imageOptions.range },
    { flag: "--flip", key: "flip", saved: Boolean(o.flip), given: Boolean(f.flip) },
    { flag: "--dequantize", key: "dequantize", saved: Boolean(o.dequantize), given: Boolean(f.dequantize) },
    { flag: "--size", key: "size", saved: o.size, given: p.imageOptions.size },
    { flag: "--labels", key: "labels", saved: o.labels, given: f.labels },
    { flag: "--conditional", key: "conditional", saved: Boolean(c.model.classes), given: Boolean(f.conditional) },
    { flag: "--lr", key: "lr", saved: c.optimizer.lr, given: p.lr },
    { flag: "--warmup", key: "warmup", saved: c.optimizer.warmup ?? 0, given: p.warmup },
    { flag: "--clip", key: "clip", saved: c.optimizer.clipNorm ?? 0, given: p.clip },
    { flag: "--ema", key: "ema", saved: c.optimizer.emaDecay ?? 0, given: p.ema },
    {
      flag: "--checkpoint-every",
      key: "checkpointEvery",
      saved: c.schedule?.checkpointEvery,
      given: p.checkpointEvery,
    },
    {
      flag: "--keep-checkpoints",
      key: "keepCheckpoints",
      saved: c.schedule?.keep ?? DEFAULT_KEEP,
      given: p.keepCheckpoints,
    },
  ];
}

/**
 * --resume: every flag the user typed must match the saved run, except the ones named in
 * --allow-change (and only changeable ones may be named). One error lists every difference.
 */
function checkResume(
  out: string,
  saved: TrainConfig,
  f: TrainFlags,
  p: Parsed,
  given: Set<string>,
  allowChange?: string,
): void {
  const allowed = new Set(
    (allowChange ?? "")
      .split(",")
      .map((s) => s.trim().replace(/^--/, ""))
      .filter(Boolean),
  );
  const bad = [...allowed].filter((a) => !(CHANGEABLE as readonly string[]).includes(a));
  if (bad.length)
    throw new UsageError(
      `--allow-change ${bad.join(",")}: only ${CHANGEABLE.join(", ")} may change when resuming (the others define the run: start a new one with another --out)`,
    );
  const problems: string[] = [];
  for (const s of runSettings(saved, p, f)) {
    if (!given.has(s.key) || same(s.saved, s.given)) continue;
    if (allowed.has(s.flag.slice(2))) continue;
    const changeable = (CHANGEABLE as readonly string[]).includes(s.flag.slice(2));
    problems.push(
      `${s.flag} ${fmt(s.given)} (the run has ${fmt(s.saved)}${changeable ? `; to change it pass --allow-change ${s.flag.slice(2)}` : ""})`,
    );
  }
  if (problems.length) {
    throw new UsageError(
      `--resume: ${problems.length === 1 ? "this option differs" : "these options differ"} from the run in ${out}: ${problems.join("; ")}. Drop ${problems.length === 1 ? "it" : "them"} to continue the run as it was, or start a new run with another --out`,
    );
  }
}

const same = (a: unknown, b: unknown) =>
  typeof a === "number" || typeof b === "number" ? Number(a) === Number(b) : (a ?? undefined) === (b ?? undefined);
const fmt = (v: unknown) => (v === undefined ? "(none)" : typeof v === "string" ? v : JSON.stringify(v));

/** The saved config with the changes --allow-change let through. */
function withChanges(saved: TrainConfig, p: Parsed, given: Set<string>): TrainConfig {
  const o = { ...saved.optimizer };
  if (given.has("lr") && p.lr !== undefined) o.lr = p.lr;
  if (given.has("warmup")) o.warmup = p.warmup;
  if (given.has("clip")) o.clipNorm = p.clip > 0 ? p.clip : undefined;
  if (given.has("ema")) o.emaDecay = p.ema > 0 ? p.ema : undefined;
  return { ...saved, optimizer: o };
}

/** Refuse a --batch whose training arrays cannot be allocated (a rough, generous estimate). */
function checkBatchMemory(cfg: TrainConfig, data: SourcedData): void {
  const dim = dataDim(cfg.model);
  const arch = cfg.model.arch as { hidden?: number; layers?: number };
  // images: activations of a small U-Net ≈ 100 floats per pixel (forward + backward); points: the MLP's layers
  const perSample = data.images
    ? dim * 4 * 100
    : (dim * 8 + (arch.hidden ?? 128) * ((arch.layers ?? 3) + 2) * 4 * 3) * 2;
  checkMemory(
    "--batch",
    cfg.batch,
    `a training batch of ${cfg.batch}`,
    cfg.batch * perSample,
    (cfg.batch * perSample) / 8,
  );
}

export function imageOptions(f: TrainFlags): ImageDataOptions {
  return {
    range: choiceOpt("--range", f.range, ["[-1,1]", "[0,1]"] as const),
    flip: f.flip ?? false,
    dequantize: f.dequantize ?? false,
    size: numberOpt("--size", f.size, { int: true, min: 1 }),
    labels: f.labels,
  };
}

/** The run config that `train`'s flags describe (also used by `sweep` for each grid point). */
export function configFromFlags(f: TrainFlags, p: Parsed, data: SourcedData, dataOpts: ImageDataOptions): TrainConfig {
  const kind = data.images ? "images" : "points";
  const d = DEFAULTS[kind];
  const { clip, ema, param } = p;
  if (f.conditional && !data.classes)
    throw new UsageError(
      `--conditional needs labeled data; ${f.data} has no labels${f.data?.match(/ubyte|idx|\.gz$/) ? " (pass --labels FILE)" : ""}`,
    );
  const classes = f.conditional ? data.classes : undefined;
  const labelDropout = numberOpt("--label-dropout", f.labelDropout, { min: 0, max: 1 });
  if (labelDropout !== undefined && !f.conditional)
    throw new UsageError(
      "--label-dropout needs --conditional (it trains a class-conditional model that can also drop its label)",
    );
  const model = p.model ?? d.model;
  let spec: ModelSpec;
  if (model === "mlp") {
    if (data.images) throw new UsageError("--model mlp is for points; use --model scorenet for images");
    // NCSN conditions on the noise level (log σ) rather than on time; its Fourier scale suits log σ's span.
    const ncsn = f.loss === "ncsn";
    spec = mlpSpec(
      data.dim,
      { hidden: p.hidden, layers: p.layers, ...(ncsn ? { fourierScale: 0.5 } : {}) },
      { parameterization: param, condition: ncsn ? "logsigma" : "time" },
    );
  } else if (model === "ncsnpp") {
    const im = data.images;
    if (!im || im.h % 4 !== 0 || im.w % 4 !== 0)
      throw new UsageError(
        `--model ncsnpp needs images whose sides are divisible by 4${im ? `, got ${im.h}×${im.w} (pass --size)` : ""}`,
      );
    spec = ncsnppSpec(
      [im.c, im.h, im.w],
      {},
      { parameterization: param, classes, ...(labelDropout ? { labelDropout } : {}) },
    );
  } else {
    const im = data.images;
    if (im?.h !== 28 || im.w !== 28)
      throw new UsageError(`--model scorenet needs 28×28 images${im ? `, got ${im.h}×${im.w} (pass --size 28)` : ""}`);
    spec = scoreNetSpec(
      { inChannels: im.c },
      { parameterization: param, classes, ...(labelDropout ? { labelDropout } : {}) },
    );
  }
  return {
    model: spec,
    sde: p.sde,
    objective: p.loss,
    ...objectiveOptions(f),
    optimizer: {
      kind: "adam",
      lr: p.lr ?? Number(d.lr),
      warmup: p.warmup,
      clipNorm: clip > 0 ? clip : undefined,
      emaDecay: ema > 0 ? ema : undefined,
    },
    batch: p.batch ?? Number(d.batch),
    seed: p.seed,
    data: { source: f.data, ...(data.images ? { options: dataOpts } : {}) },
  };
}

/** --importance and --t-min as the run's objective options (omitted when neither is given). */
function objectiveOptions(f: TrainFlags): Pick<TrainConfig, "objectiveOptions"> {
  if (!f.importance && f.tMin === undefined) return {};
  if (f.importance && (f.loss === "ddpm" || f.loss === "ncsn"))
    throw new UsageError(
      `--importance applies to the continuous-time losses (dsm, dsm-likelihood, ssm, ssm-vr), not --loss ${f.loss}`,
    );
  const eps = numberOpt("--t-min", f.tMin, { min: 0 });
  if (eps !== undefined && !(eps > 0 && eps < 1)) throw new UsageError(`--t-min must lie in (0, 1) (got ${f.tMin})`);
  return { objectiveOptions: { ...(f.importance ? { importance: true } : {}), ...(eps !== undefined ? { eps } : {}) } };
}
