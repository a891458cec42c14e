/** `scoregen likelihood`: exact log-likelihoods (nats, bits/dim) by the probability-flow ODE. */
import type { Command } from "commander";
import { asPoints, readPointsFile, writePointsFile } from "../data/points.ts";
import { logLikelihood } from "../likelihood/index.ts";
import { Rng } from "../rng.ts";
import { SDE_NAMES } from "../sde/index.ts";
import { openScoreSource } from "../tasks/sources.ts";
import { UsageError, choiceOpt, numberOpt } from "./errors.ts";

interface LikFlags { score: string; input: string; sde?: string; divergence: string; probe: string; probes: string; rtol: string; atol: string; eps: string; seed: string; latent?: string; ema: boolean; json?: boolean }

export function registerLikelihood(program: Command): void {
  program.command("likelihood")
    .description("log p(x) per point by the probability-flow ODE and the instantaneous change of variables")
    .requiredOption("--score <dir|oracle:spec.json>", "a training-run folder, or oracle:SPEC.json")
    .requiredOption("--input <file>", "points to evaluate (.json array of points, or .csv)")
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
    .option("--json", "print {\"logp\":[…],\"bpd\":[…],\"nfe\":N}")
    .action(async (f: LikFlags) => runLikelihood(f));
}

async function runLikelihood(f: LikFlags): Promise<void> {
  const src = await openScoreSource(f.score, f.sde, { ema: f.ema });
  const pts = await readPointsFile(f.input);
  if (pts.dim !== src.model.dim) throw new UsageError(`${f.input} holds points of dimension ${pts.dim}, but the model is for dimension ${src.model.dim}`);
  const t0 = performance.now();
  const r = await logLikelihood(src.model, src.sde, pts.data, pts.n, {
    divergence: choiceOpt("--divergence", f.divergence, ["auto", "exact", "hutchinson"] as const),
    probe: choiceOpt("--probe", f.probe, ["rademacher", "gaussian"] as const),
    probes: numberOpt("--probes", f.probes, { int: true, min: 1 }),
    rtol: numberOpt("--rtol", f.rtol, { min: 0 }), atol: numberOpt("--atol", f.atol, { min: 0 }), eps: numberOpt("--eps", f.eps, { min: 0 }),
    rng: new Rng(numberOpt("--seed", f.seed, { int: true, min: 0 })!),
  });
  if (f.latent) await writePointsFile(f.latent, asPoints(r.z, pts.dim));
  const seconds = (performance.now() - t0) / 1000;
  if (f.json) { console.log(JSON.stringify({ logp: Array.from(r.logp), bpd: Array.from(r.bpd), nfe: r.nfe })); return; }
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const se = (a: Float64Array) => { const m = mean(a); return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, a.length - 1) / a.length); };
  console.log(`${pts.n} points: mean log p = ${mean(r.logp).toFixed(4)} ± ${se(r.logp).toFixed(4)} nats (NLL ${(-mean(r.logp)).toFixed(4)}), ${mean(r.bpd).toFixed(4)} bits/dim; ${r.nfe} ODE evaluations in ${seconds.toFixed(1)} s`);
  if (src.oracle) console.log(`exact oracle log p_eps: ${mean(src.oracle.logProb(pts.data, numberOpt("--eps", f.eps)!, pts.n)).toFixed(4)} nats`);
}
