/**
 * The 2-D demo end to end: train a VP-SDE score model on 8 gaussians (whose density is known in
 * closed form), sample with the predictor–corrector and probability-flow ODE samplers, measure
 * the held-out NLL against the true density, and write plots, a GIF and an HTML summary.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { EIGHT_GAUSSIANS, mixtureLogDensity, toy2d } from "../data/toy2d.ts";
import { writeFileAtomic } from "../io/files.ts";
import { openRunFolder } from "../io/run-folder.ts";
import { logLikelihood } from "../likelihood/index.ts";
import { EngineNetwork } from "../models/network.ts";
import { mlpSpec } from "../models/registry.ts";
import { Rng } from "../rng.ts";
import { asScoreModel, sdeByName } from "../sde/index.ts";
import {
  htmlSummary,
  pathsFromFrames,
  pointCloudGif,
  scatterPlot,
  squareBounds,
  trajectoryPlot,
} from "../viz/index.ts";
import { scoreFieldPng } from "./plots.ts";
import { sampleByName } from "./sample.ts";
import { type TrainConfig, train, unlabeled } from "./train.ts";
import { SCORE_RUN } from "./train-node.ts";

export interface DemoOptions {
  outDir: string;
  steps: number;
  samples: number;
  heldOut: number;
  /** Progress: a phase name and, for training, the step. */
  onProgress?: (phase: string, step?: number, total?: number, info?: Record<string, string | number>) => void;
}

export interface DemoReport {
  steps: number;
  trainSeconds: number;
  nll: number;
  trueNll: number;
  nllStdErr: number;
  pc: { nfe: number; seconds: number };
  ode: { nfe: number; seconds: number };
  files: string[];
}

const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  await mkdir(o.outDir, { recursive: true });
  const info = toy2d("8gaussians"),
    sde = sdeByName("vp");
  const cfg: TrainConfig = {
    model: mlpSpec(2),
    sde: "vp",
    objective: "dsm",
    batch: 512,
    seed: 0,
    data: { source: "8gaussians" },
    optimizer: { kind: "adam", lr: 2e-3, warmup: 100, clipNorm: 1, emaDecay: 0.999 },
  };
  const t0 = performance.now();
  // The demo replaces its own run from an earlier demo (but no other kind of folder, and not while another process writes it).
  const folder = await openRunFolder(join(o.outDir, "run"), { kind: SCORE_RUN, command: "scoregen demo" });
  const res = await (async () => {
    await folder.discard();
    return train(cfg, unlabeled(2, info.sample), {
      steps: o.steps,
      store: folder,
      checkpointEvery: o.steps,
      onStep: ({ step, loss }) => {
        if (step % 25 === 0 || step === o.steps) o.onProgress?.("train", step, o.steps, { loss: loss.toFixed(3) });
      },
    });
  })().finally(() => folder.close());
  const trainSeconds = (performance.now() - t0) / 1000;
  const model = asScoreModel(new EngineNetwork(cfg.model, res.emaParams, sde), sde, "eps");
  const logDensity = (x: number, y: number) => mixtureLogDensity(EIGHT_GAUSSIANS, [x, y]);
  const data = info.sample(2000, new Rng(7));
  const bounds = squareBounds(info.extent);

  o.onProgress?.("sample pc");
  const pc = await sampleByName(model, sde, "pc", { n: o.samples, seed: 1, frames: 60, options: { snr: 0.16 } });
  o.onProgress?.("sample ode");
  const ode = await sampleByName(model, sde, "ode", { n: o.samples, seed: 2, frames: 60 });

  o.onProgress?.("likelihood");
  const held = info.sample(o.heldOut, new Rng(12345));
  const lik = await logLikelihood(model, sde, held, o.heldOut, { rtol: 1e-5, atol: 1e-5 });
  const nlls = Array.from(lik.logp, (v) => -v);
  const nll = mean(nlls);
  const nllStdErr = Math.sqrt(mean(nlls.map((v) => (v - nll) ** 2)) / nlls.length);
  const trueNll = -mean(Array.from({ length: o.heldOut }, (_, i) => logDensity(held[2 * i]!, held[2 * i + 1]!)));

  o.onProgress?.("plots");
  const files: Record<string, Uint8Array> = {
    "samples_pc.png": scatterPlot({
      data,
      samples: pc.x,
      logDensity,
      bounds,
      title: "PC sampler (reverse diffusion + Langevin)",
    }),
    "samples_ode.png": scatterPlot({ data, samples: ode.x, logDensity, bounds, title: "probability-flow ODE (RK45)" }),
    "score_t0.05.png": await scoreFieldPng(model, 0.05, { bounds, logDensity, title: "learned score at t = 0.05" }),
    "score_t0.5.png": await scoreFieldPng(model, 0.5, { bounds, title: "learned score at t = 0.5" }),
    "trajectories_sde.png": trajectoryPlot(pathsFromFrames(pc.frames.map((x) => x.subarray(0, 2 * 10))), {
      logDensity,
      bounds,
      title: "reverse-SDE trajectories (PC)",
    }),
    "trajectories_ode.png": trajectoryPlot(pathsFromFrames(ode.frames.map((x) => x.subarray(0, 2 * 40))), {
      logDensity,
      bounds,
      title: "probability-flow ODE trajectories",
    }),
    "reverse_process.gif": pointCloudGif(pc.frames, {
      reference: data,
      bounds,
      captions: pc.times.map((t) => `t = ${t.toFixed(3)}`),
      delayMs: 80,
      lastDelayMs: 1500,
    }),
  };
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(o.outDir, name), bytes);
  const report: DemoReport = {
    steps: res.step,
    trainSeconds,
    nll,
    trueNll,
    nllStdErr,
    pc: { nfe: pc.nfe, seconds: pc.seconds },
    ode: { nfe: ode.nfe, seconds: ode.seconds },
    files: [...Object.keys(files), "index.html"],
  };
  await writeFileAtomic(join(o.outDir, "index.html"), demoHtml(report, o));
  return report;
}

function demoHtml(r: DemoReport, o: DemoOptions): string {
  const img = (path: string, caption: string) => ({ path, caption });
  return htmlSummary({
    title: "scoregen — 2-D demo: VP SDE on 8 gaussians",
    subtitle: `A time-conditioned MLP trained by denoising score matching (σ²-weighting) for ${r.steps} steps, sampled with the predictor–corrector and probability-flow ODE samplers; likelihoods by the probability-flow ODE with exact divergence.`,
    metrics: {
      "training steps": r.steps,
      "training time (s)": r.trainSeconds.toFixed(1),
      [`held-out NLL, model (nats, ${o.heldOut} points)`]: `${r.nll.toFixed(4)} ± ${r.nllStdErr.toFixed(4)}`,
      "held-out NLL, true density (nats)": r.trueNll.toFixed(4),
      "PC sampler: score evaluations / seconds": `${r.pc.nfe} / ${r.pc.seconds.toFixed(1)}`,
      "ODE sampler: score evaluations / seconds": `${r.ode.nfe} / ${r.ode.seconds.toFixed(1)}`,
    },
    sections: [
      {
        heading: "Samples",
        images: [
          img("samples_pc.png", "PC sampler, 1000 steps, snr 0.16"),
          img("samples_ode.png", "probability-flow ODE, RK45"),
        ],
      },
      {
        heading: "Learned score field",
        images: [img("score_t0.05.png", "t = 0.05"), img("score_t0.5.png", "t = 0.5")],
      },
      {
        heading: "Trajectories",
        images: [img("trajectories_sde.png", "reverse SDE"), img("trajectories_ode.png", "probability-flow ODE")],
      },
      { heading: "The reverse process", images: [img("reverse_process.gif", "noise → data, PC sampler")] },
    ],
  });
}
