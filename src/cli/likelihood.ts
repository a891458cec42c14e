/** `scoregen likelihood`: exact log-likelihoods (nats, bits/dim) by the probability-flow ODE. */
import type { Command } from "commander";
import { asPoints, readPointsFile, writePointsFile } from "../data/points.ts";
import { toy2d } from "../data/toy2d.ts";
import { logLikelihood } from "../likelihood/index.ts";
import { Rng } from "../rng.ts";
import { SDE_NAMES } from "../sde/index.ts";
import type { PixelRange } from "../data/images.ts";
import { imageBitsPerDim } from "../tasks/image-likelihood.ts";
import { type ScoreSource, openImageSet, openScoreSource } from "../tasks/sources.ts";
import { progressBar } from "./progress.ts";
import { UsageError, choiceOpt, numberOpt, seedOpt } from "./errors.ts";
import { checkSampleMemory } from "./sample.ts";
import { checkDistinct, checkExtension } from "./validate.ts";
import { addShardFlags, chunkBar, shardPlan } from "./shard-flags.ts";
import { likelihoodSharded } from "../tasks/shard.ts";

interface LikFlags extends Record<string, unknown> {
  score: string;
  input?: string;
  data?: string;
  n: string;
  dataSeed: string;
  repeats: string;
  sde?: string;
  divergence: string;
  probe: string;
  probes: string;
  rtol: string;
  atol: string;
  eps: string;
  seed: string;
  latent?: string;
  ema: boolean;
  json?: boolean;
}

export function registerLikelihood(program: Command): void {
  const cmd = program
    .command("likelihood")
    .description("log p(x) per point by the probability-flow ODE and the instantaneous change of variables")
    .requiredOption("--score <dir|oracle:spec.json>", "a training-run folder, or oracle:SPEC.json")
    .option("--input <file>", "points to evaluate (.json array of points, or .csv)")
    .option(
      "--data <name>",
      "instead of --input: held-out draws of a built-in 2-D dataset (also prints the true NLL where known), or mnist: held-out digits in bits/dim (dequantized, Hutchinson)",
    )
    .option("--n <n>", "with --data: number of held-out points or images", "1000")
    .option("--repeats <n>", "with --data mnist: repeats (fresh dequantization and probes); mean ± standard error", "3")
    .option("--data-seed <n>", "with --data: seed of the held-out draw", "12345")
    .option("--sde <name>", `SDE for an oracle (${SDE_NAMES.join(", ")}); a run folder uses its own`)
    .option("--divergence <mode>", "auto (exact when dim ≤ 16), exact or hutchinson", "auto")
    .option("--probe <kind>", "Hutchinson probe: rademacher or gaussian", "rademacher")
    .option("--probes <n>", "Hutchinson probes per point", "1")
    .option("--rtol <x>", "RK45 relative tolerance", "1e-5")
    .option("--atol <x>", "RK45 absolute tolerance", "1e-5")
    .option("--eps <t>", "data time (x is taken as a sample of p_eps)", "1e-5")
    .option("--seed <n>", "seed of the Hutchinson probes", "0")
    .option("--latent <file>", "also write the latent codes z = x(T) (.json/.csv)")
    .option("--no-ema", "use the raw parameters instead of their EMA")
    .option("--json", 'print {"logp":[…],"bpd":[…],"nfe":N}');
  addShardFlags(cmd);
  cmd.action(async (f: LikFlags) => runLikelihood(f));
}

async function runLikelihood(f: LikFlags): Promise<void> {
  if (f.latent) checkExtension("--latent", f.latent, [".json", ".csv"]);
  checkDistinct({ "--latent": f.latent }, { "--input": f.input });
  const n = numberOpt("--n", f.n, { int: true, min: 1 })!;
  const src = await openScoreSource(f.score, f.sde, { ema: f.ema });
  checkSampleMemory("--n", n, src.model.dim, 2);
  if (f.data === "mnist") {
    if (f.shards !== undefined)
      throw new UsageError(
        "--shards splits points (--input FILE or a 2-D --data NAME); --data mnist runs in one process",
      );
    return runImageBpd(f, src);
  }
  if (!f.input === !f.data) throw new UsageError("give exactly one of --input FILE or --data NAME");
  const truth = f.data ? toy2d(f.data) : undefined;
  const pts = truth
    ? asPoints(truth.sample(n, new Rng(seedOpt("--data-seed", f.dataSeed))), 2)
    : await readPointsFile(f.input!);
  if (pts.dim !== src.model.dim)
    throw new UsageError(
      `${f.input ?? f.data} holds points of dimension ${pts.dim}, but the model is for dimension ${src.model.dim}`,
    );
  const t0 = performance.now();
  const options = {
    divergence: choiceOpt("--divergence", f.divergence, ["auto", "exact", "hutchinson"] as const),
    probe: choiceOpt("--probe", f.probe, ["rademacher", "gaussian"] as const),
    probes: numberOpt("--probes", f.probes, { int: true, min: 1, max: 1e5 }),
    rtol: numberOpt("--rtol", f.rtol, { min: 0, minExclusive: true, max: 1 }),
    atol: numberOpt("--atol", f.atol, { min: 0, minExclusive: true, max: 1 }),
    eps: numberOpt("--eps", f.eps, { min: 0, minExclusive: true, max: src.sde.T, maxExclusive: true }),
  };
  const seed = seedOpt("--seed", f.seed);
  const plan = shardPlan(f);
  let r: { logp: Float64Array; bpd: Float64Array; z: Float64Array; nfe: number };
  if (plan) {
    const bar = chunkBar("likelihood", plan);
    r = await likelihoodSharded(
      { score: f.score, sde: f.sde, ema: f.ema, points: pts.data, n: pts.n, seed, options },
      plan.shards,
      plan.run,
      bar.tick,
    );
    bar.stop();
  } else r = await logLikelihood(src.model, src.sde, pts.data, pts.n, { ...options, rng: new Rng(seed) });
  if (f.latent) await writePointsFile(f.latent, asPoints(r.z, pts.dim));
  const seconds = (performance.now() - t0) / 1000;
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const trueLogp = truth?.logDensity
    ? Float64Array.from({ length: pts.n }, (_, i) => truth.logDensity!(pts.data[2 * i]!, pts.data[2 * i + 1]!))
    : undefined;
  if (f.json) {
    const extra = trueLogp ? { nll: -mean(r.logp), trueNll: -mean(trueLogp) } : {};
    console.log(JSON.stringify({ logp: Array.from(r.logp), bpd: Array.from(r.bpd), nfe: r.nfe, ...extra }));
    return;
  }
  const se = (a: Float64Array) => {
    const m = mean(a);
    return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, a.length - 1) / a.length);
  };
  console.log(
    `${pts.n} points: mean log p = ${mean(r.logp).toFixed(4)} ± ${se(r.logp).toFixed(4)} nats (NLL ${(-mean(r.logp)).toFixed(4)}), ${mean(r.bpd).toFixed(4)} bits/dim; ${r.nfe} ODE evaluations in ${seconds.toFixed(1)} s`,
  );
  if (trueLogp)
    console.log(
      `true density of ${f.data}: NLL ${(-mean(trueLogp)).toFixed(4)} nats (gap, model NLL − true NLL: ${(mean(trueLogp) - mean(r.logp)).toFixed(4)})`,
    );
  if (src.oracle)
    console.log(
      `exact oracle log p_eps: ${mean(src.oracle.logProb(pts.data, numberOpt("--eps", f.eps)!, pts.n)).toFixed(4)} nats`,
    );
}

/** Held-out MNIST digits in bits/dim (dequantized; Hutchinson divergence), mean ± SE over repeats. */
async function runImageBpd(f: LikFlags, src: ScoreSource): Promise<void> {
  const shape = src.run?.model.dataShape;
  if (shape?.join("x") !== "1x28x28")
    throw new UsageError("--data mnist needs a model trained on 28×28 grayscale images (scoregen train --data mnist)");
  const range = ((src.run?.data?.options as { range?: PixelRange } | undefined)?.range ?? "[-1,1]") as PixelRange;
  const images = await openImageSet("mnist", { split: "test", range });
  const bar = progressBar("bits/dim", numberOpt("--repeats", f.repeats, { int: true, min: 1, max: 1e4 })!, ["bpd"]);
  const r = await imageBitsPerDim(src.model, src.sde, images, {
    n: numberOpt("--n", f.n, { int: true, min: 1 })!,
    repeats: numberOpt("--repeats", f.repeats, { int: true, min: 1, max: 1e4 })!,
    seed: seedOpt("--seed", f.seed),
    range,
    rtol: numberOpt("--rtol", f.rtol, { min: 0 }),
    atol: numberOpt("--atol", f.atol, { min: 0 }),
    probe: choiceOpt("--probe", f.probe, ["rademacher", "gaussian"] as const),
    onRepeat: (k, bpd) => bar.update(k + 1, { bpd: bpd.toFixed(3) }),
  });
  bar.stop();
  if (f.json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(
    `${r.n} held-out digits × ${r.perRepeat.length} repeats: ${r.mean.toFixed(3)} ± ${r.stderr.toFixed(3)} bits/dim (per-image std ${r.perImageStd.toFixed(3)}); ${r.nfe} ODE evaluations in ${r.seconds.toFixed(0)} s`,
  );
}
