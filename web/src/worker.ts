/**
 * The playground's engine worker: owns onnxruntime-web and every compiled program, so training and
 * sampling never block the page. Requests and replies follow ./protocol.ts.
 */
import {
  classifierFreeGuided,
  maskConstraint,
  reconstructionGuided,
  repeatRows,
  sampleConstrained,
} from "../../src/controllable/index.ts";
import { EIGHT_GAUSSIANS, TOY2D, findToy2D } from "../../src/data/toy2d.ts";
import { decodeSafetensors, tensorToFloat32 } from "../../src/io/safetensors.ts";
import { medianMs } from "../../src/timing.ts";
import { logLikelihood } from "../../src/likelihood/likelihood.ts";
import { EngineNetwork } from "../../src/models/network.ts";
import { dataDim, type ModelSpec, nullLabel } from "../../src/models/registry.ts";
import { mixtureOracle } from "../../src/oracle/index.ts";
import { Rng } from "../../src/rng.ts";
import { sample as runSampler } from "../../src/sampling/registry.ts";
import type { ScoreModel } from "../../src/score.ts";
import { type Sde, asScoreModel, sdeByName } from "../../src/sde/index.ts";
import { checkWebGpu, installWebBackend, webgpuStatus } from "../../src/web.ts";
import { Lab2D, type PointSource, drawnPoints, sampleWithFrames, scoreField } from "../../src/web/lab2d.ts";
import type { Reply, Request } from "./protocol.ts";

const post = (r: Reply) => (self as unknown as Worker).postMessage(r);
let backendName = "";
let lab: Lab2D | undefined;
let labKey = "";
let stopRequested = false;
let mnist:
  | { spec: ModelSpec; sde: Sde; params: Map<string, { shape: number[]; data: Float32Array }>; name: string }
  | undefined;

function loadedMnist(): NonNullable<typeof mnist> {
  if (!mnist) throw new Error("load a model first: choose a checkpoint (.safetensors) and config.json of a run folder");
  return mnist;
}

/**
 * The loaded image model for a batch of n: conditioned on class `label` when it is class-conditional,
 * with classifier-free guidance of weight `cfg` (> 0) when it was trained with label dropout, as
 * `scoregen sample --class K --cfg W` builds it (src/tasks/control.ts guidedModel).
 */
function mnistModel(n: number, label: number | undefined, cfg: number | undefined): ScoreModel {
  const m = loadedMnist();
  const net = (labels?: Int32Array) =>
    asScoreModel(new EngineNetwork(m.spec, m.params, m.sde, labels), m.sde, m.spec.parameterization);
  const classes = m.spec.classes ?? 0;
  if (!classes) {
    if (cfg) throw new Error("guidance needs a class-conditional model; this one is unconditional");
    return net();
  }
  const k = label ?? 0;
  if (!Number.isInteger(k) || k < 0 || k >= classes)
    throw new Error(`class ${k} is out of range: the model knows classes 0 to ${classes - 1}`);
  const cond = net(new Int32Array(n).fill(k));
  if (!cfg) return cond;
  if (!Number.isFinite(cfg) || cfg < 0) throw new Error(`the guidance weight must be a number ≥ 0, got ${cfg}`);
  return classifierFreeGuided(cond, net(new Int32Array(n).fill(nullLabel(m.spec))), cfg);
}

function pointSource(d: { name: string } | { points: number[] }): PointSource {
  if ("points" in d) return drawnPoints(Float64Array.from(d.points));
  const info = findToy2D(d.name);
  if (!info) throw new Error(`unknown dataset "${d.name}"`);
  return info.sample;
}

const model2d = (): { model: ScoreModel; sde: Sde } => {
  if (!lab) throw new Error("train a model first (press Train)");
  return { model: lab.scoreModel(), sde: lab.sde };
};

/**
 * Whether float32 programs may run on WebGPU here: an adapter exists and a ScoreNet forward + VJP on
 * it matches WASM (max relative difference ≤ 1e-2); the message says what was found either way.
 */
async function chooseWebGpu(threads: number, wasmPaths: string): Promise<{ ok: boolean; message: string }> {
  const why = await webgpuStatus();
  if (why) return { ok: false, message: `WebGPU unavailable: ${why}; running on WebAssembly instead` };
  const err = await checkWebGpu({ threads, wasmPaths }).catch((e: Error) => e);
  if (err instanceof Error)
    return { ok: false, message: `WebGPU failed its self-check (${err.message}); running on WebAssembly instead` };
  if (!(err <= 1e-2))
    return {
      ok: false,
      message: `WebGPU gave wrong results on this device (ScoreNet check differs from WebAssembly by ${err.toExponential(1)}); running on WebAssembly instead`,
    };
  return {
    ok: true,
    message: `WebGPU on for float32 programs (self-check vs WebAssembly: max relative difference ${err.toExponential(1)}); float64 programs run on WebAssembly`,
  };
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case "init": {
      const base = new URL("./", self.location.href).href;
      const webgpu = req.webgpu ? await chooseWebGpu(req.threads, base) : undefined;
      backendName = installWebBackend({
        threads: req.threads,
        wasmPaths: base,
        device: webgpu?.ok ? "webgpu" : "wasm",
      }).name;
      return {
        backend: backendName,
        isolated: (self as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
        cores: navigator.hardwareConcurrency,
        webgpu: webgpu?.message,
      };
    }
    case "normals": {
      const r = new Rng(req.seed),
        z = new Float64Array(req.n);
      for (let i = 0; i < req.n; i++) z[i] = r.normal();
      return z;
    }
    case "train": {
      const key = JSON.stringify([req.settings, req.data]);
      if (!lab || req.fresh || key !== labKey) {
        lab = await Lab2D.create(req.settings, pointSource(req.data));
        labKey = key;
      }
      stopRequested = false;
      const losses: number[] = [];
      const target = lab.step + req.steps;
      let t0 = performance.now();
      while (lab.step < target && !stopRequested) {
        const loss = await lab.trainStep();
        losses.push(loss);
        if (lab.step % req.every === 0 || lab.step === target) {
          const now = performance.now();
          post({ id: req.id, event: "loss", step: lab.step, loss, ms: now - t0 });
          t0 = now;
          await new Promise((r) => setTimeout(r, 0)); // let a "stop" message in
        }
      }
      return { losses, step: lab.step, stopped: stopRequested };
    }
    case "stop":
      stopRequested = true;
      return null;
    case "field": {
      const { model } = model2d();
      return scoreField(model, req.extent, req.grid, req.t);
    }
    case "sample": {
      const { model, sde } = model2d();
      const t0 = performance.now();
      const r = await sampleWithFrames(req.sampler, model, sde, req.n, req.seed, {
        steps: req.steps,
        frames: req.frames,
        onStep: (i) => post({ id: req.id, event: "progress", done: i.step + 1, total: i.total }),
      });
      return { ...r, ms: performance.now() - t0 };
    }
    case "oracleSample": {
      const sde = sdeByName(req.sde);
      const oracle = mixtureOracle(EIGHT_GAUSSIANS, sde);
      const r = await runSampler(req.sampler, oracle, sde, { n: req.n, rng: new Rng(req.seed), steps: req.steps });
      return r.x;
    }
    case "loglik": {
      const { model, sde } = model2d();
      const r = await logLikelihood(model, sde, Float64Array.of(req.x, req.y), 1, {});
      return { logp: r.logp[0], nfe: r.nfe ?? undefined };
    }
    case "benchTrain": {
      const l = await Lab2D.create(
        { ...(lab?.settings ?? (await import("../../src/web/lab2d.ts")).LAB2D_DEFAULTS), batch: req.batch },
        TOY2D["8gaussians"].sample,
      );
      await l.trainStep();
      await l.trainStep(); // compile + warm up
      return { msPerStep: await medianMs(() => l.trainStep(), req.steps, 0), backend: backendName };
    }
    case "mnistLoad":
      return loadMnist(req.config, new Uint8Array(req.weights), req.name);
    case "mnistSample": {
      const m = loadedMnist();
      const model = mnistModel(req.n, req.label, req.cfg);
      const t0 = performance.now();
      const r = await runSampler(req.sampler, model, m.sde, {
        n: req.n,
        rng: new Rng(req.seed),
        steps: req.steps,
        denoise: "mean",
        onStep: (i) => post({ id: req.id, event: "progress", done: i.step + 1, total: i.total }),
      });
      return { x: r.x, shape: m.spec.dataShape, ms: performance.now() - t0, nfe: r.nfe };
    }
    case "mnistInpaint": {
      // The replacement method (+ reconstruction guidance) through the one PC loop, as `scoregen inpaint` runs it (tasks/control.ts runInpaint).
      const m = loadedMnist(),
        dim = dataDim(m.spec);
      if (req.y.length !== dim || req.known.length !== dim)
        throw new Error(`the image has ${req.y.length} values but the model needs [${m.spec.dataShape}] = ${dim}`);
      const ys = repeatRows(req.y, 1, req.k),
        ks = repeatRows(req.known, 1, req.k);
      const base = mnistModel(req.k, req.label, req.cfg),
        w = req.reconstruction ?? 0;
      const model = w > 0 ? reconstructionGuided(base, m.sde, ys, ks, { weight: w }) : base;
      const c = maskConstraint(ys, ks);
      const t0 = performance.now();
      const r = await sampleConstrained(req.sampler, model, m.sde, c, {
        n: req.k,
        rng: new Rng(req.seed),
        steps: req.steps,
        onStep: (i) => post({ id: req.id, event: "progress", done: i.step + 1, total: i.total }),
      });
      return { x: r.x, shape: m.spec.dataShape, ms: performance.now() - t0, nfe: r.nfe };
    }
    case "benchScoreNet": {
      if (!mnist) throw new Error("load a model first");
      const model = asScoreModel(
        new EngineNetwork(mnist.spec, mnist.params, mnist.sde, mnist.spec.classes ? new Int32Array(req.n) : undefined),
        mnist.sde,
        mnist.spec.parameterization,
      );
      const x = new Rng(1).normals(req.n * dataDim(mnist.spec)) as Float64Array,
        t = new Float64Array(req.n).fill(0.5);
      await model.score(x, t, req.n);
      return { msPerStep: await medianMs(() => model.score(x, t, req.n), req.steps, 0), backend: backendName };
    }
  }
}

/** A run folder's config.json + model.safetensors, checked against each other, with EMA weights when present. */
async function loadMnist(configText: string, bytes: Uint8Array, name: string): Promise<unknown> {
  let json: { config?: { model?: ModelSpec; sde?: string } };
  try {
    json = JSON.parse(configText);
  } catch (e) {
    throw new Error(
      `config.json is not valid JSON (${(e as Error).message}); choose the config.json of a scoregen run folder`,
    );
  }
  const spec = json.config?.model,
    sdeName = json.config?.sde;
  if (!spec || !Array.isArray(spec.dataShape) || typeof sdeName !== "string")
    throw new Error(
      "config.json is not a scoregen training run (no config.model / config.sde); choose the config.json written by `scoregen train`",
    );
  if (spec.dataShape.length !== 3)
    throw new Error(`this model is for data of shape [${spec.dataShape}], not images; train 2-D models in the 2-D tab`);
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, name);
  } catch (e) {
    throw new Error(`${name} is not a readable safetensors file: ${(e as Error).message}`);
  }
  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of decoded.tensors) {
    if (k.startsWith("extra/")) continue;
    const ema = decoded.tensors.get(`extra/ema:${k}`);
    params.set(k, { shape: t.shape, data: tensorToFloat32(ema ?? t) });
  }
  const sde = sdeByName(sdeName);
  // Build once on a batch of 1 so a weights/config mismatch is reported now, not mid-sampling.
  const net = new EngineNetwork(spec, params, sde, spec.classes ? Int32Array.of(0) : undefined);
  try {
    await net.forward(new Float64Array(dataDim(spec)), Float64Array.of(0.5), 1);
  } catch (e) {
    throw new Error(
      `${name} does not fit its config.json (${(e as Error).message}); choose the two files of the same run folder`,
    );
  }
  mnist = { spec, sde, params, name };
  const range = (json as { config?: { data?: { options?: { range?: string } } } }).config?.data?.options?.range;
  return {
    shape: spec.dataShape,
    classes: spec.classes ?? 0,
    guidance: (spec.classes ?? 0) > 0 && (spec.labelDropout ?? 0) > 0,
    arch: spec.arch.kind,
    sde: sdeName,
    range: range === "[0,1]" ? [0, 1] : [-1, 1],
  };
}

self.onmessage = async (ev: MessageEvent<Request>) => {
  const req = ev.data;
  try {
    post({ id: req.id, ok: true, result: await handle(req) });
  } catch (e) {
    post({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
