/**
 * Interleaved A/B comparisons in one process (A, B, A, B, … so machine load hits both alike):
 *   npm run bench:ab -- <experiment> [--rounds 30] [--threads 2] [--metrics train,vjp16]
 * Prints, per metric, each variant's median ms and the median over rounds of the per-round
 * ratio variant/first variant, then each variant's 10th-percentile time and their ratio (on a
 * machine shared with others, contention only adds time, so the fastest steps are the steadiest). Experiments:
 *   freeze   ScoreNet forward (batch 64) and forward+VJP (batch 16): weights fed vs frozen into
 *            the program as initializers (ProgramSpec.constants)
 *   convform each ScoreNet conv layer alone (batch 32): ORT's Conv/ConvTranspose vs Gather-im2col + MatMul
 *   optlevel frozen ScoreNet forward/VJP with ORT's "extended" vs "all" graph optimizations
 *   spin     scorenet train/sample/div with ORT's intra-op spinning on (default) vs off
 *   adam     scorenet.train with the optimizer state per parameter tensor vs flat (one fused update)
 *            vs host (the program stops at the gradients; one JavaScript pass updates the state)
 *   silu     ScoreNet train / forward b64 / VJP b16 (frozen): SiLU differentiated op by op vs as a primitive
 *   gnaffine same three: group norm's affine part (x̂·γ + β) differentiated op by op vs one primitive whose VJP shares the sums
 *   gnvjp    same three: group-norm VJP recomputing the group statistics vs reusing LayerNormalization's 1/σ
 *   normkernel same three: group norm forward by InstanceNormalization vs LayerNormalization (VJP recomputes)
 *   gnform   same three: InstanceNormalization + recomputed statistics vs the default (LayerNormalization's 1/σ
 *            where a VJP needs it, InstanceNormalization in forward-only programs)
 *   gnsilu   same three: all of the above old (instance, recompute, composite) vs all new
 *   onechannel frozen ScoreNet forward b64 / VJP b16: 1-output-channel convs as Conv vs depthwise Conv + ReduceSum
 *   col2im   ScoreNet train / forward b64 / VJP b16: transposed convs by ConvTranspose vs MatMul + Gather col2im from
 *            ≤ 25-pixel inputs (the default) and from ≤ 144-pixel inputs
 *   shifts   ScoreNet train / forward b64 / VJP b16: stride-1 few-channel transposed convs by Gather col2im (fed) or
 *            depthwise Conv + sum (frozen) vs one NCHW product + shifted planes summed (col2imByShifts)
 *   wgradrows scorenet.train: weight gradients with gy as channels-last rows (Transpose + Gemm transA) vs as
 *            [O, N·Ho·Wo] (batch axis moved, plain MatMul)
 *   tconv1   ScoreNet's tconv1 alone (batch 32/64, fed/frozen): Gather col2im or depthwise + sum vs shifted planes
 *   wgradlayers each ScoreNet weight gradient alone (batch 32): channels-last rows + Gemm transA vs [O, N·Ho·Wo] + MatMul
 *   col2imsum tconv3 / tconv4 forwards alone: col2im contributions by ReduceSum over T vs T one-row Gathers + Sum
 *   sharedpatches ScoreNet's fed convs with their weight gradients alone (batch 32), and the train step: ORT's
 *            Conv vs one product from the weight gradient's patch matrix
 *   dynblock scorenet train/sample/div: ORT's default parallel-for partitioning vs session.dynamic_block_base=4
 *   interop  scorenet train/sample/div with ORT's inter-op threads 1 (sequential) vs 2 (parallel execution),
 *            and 1 intra-op thread with 2 inter-op threads
 *   wgrad    scorenet.train: weight gradients re-laid out by Transpose vs by a product with an identity
 *   concatparts train, forward b64, VJP b16: tconv1's input concat materialized vs per-part products
 *   spans    train, forward b64, VJP b16: per-channel arithmetic on small images as ORT broadcasts it vs with
 *            the narrow operand widened first (setSmallSpanBroadcast)
 */
import { parseArgs } from "node:util";
import { type NodeBackendOptions, nodeBackend } from "../src/engine/backend-node.ts";
import * as E from "../src/engine/index.ts";
import {
  type ConvForm,
  type NormKernel,
  setAbsorbConcats,
  setCol2imMaxPixels,
  setCol2imShifts,
  setCol2imSum,
  setSharedPatches,
  setSmallSpanBroadcast,
  setConvFormPolicy,
  setNormKernel,
  setSingleChannelConv,
  setWeightGradRows,
  setWeightGradTranspose,
} from "../src/engine/lower.ts";
import { traceNetwork } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { round } from "./timing.ts";
import { type Step, WORKLOADS, scoreNetParams, scoreNetTrainStep } from "./workloads.ts";

/** Variant name → metric → step. */
type Experiment = (threads: number) => Promise<Record<string, Record<string, Step>>>;

async function scoreNetProgram(n: number, withVjp: boolean, frozen: boolean): Promise<Step> {
  const { spec, params } = scoreNetParams();
  const ps = E.ParamScope.create();
  const x = E.input("x", [n, 1, 28, 28]),
    c = E.input("c", [n]);
  const out = traceNetwork(spec, ps, x, c);
  const feeds: Record<string, Float32Array> = {};
  for (const s of ps.specs()) feeds[E.paramFeed(s.name)] = params.get(s.name)!.data as Float32Array;
  const inputs = [...ps.specs().map((s) => s.node), x, c];
  const rng = new Rng(1);
  const data = {
    x: rng.normals(n * 784, new Float32Array(n * 784)),
    c: new Float32Array(n).fill(0.5),
    v: rng.rademachers(n * 784, new Float32Array(n * 784)),
  };
  let prog: E.Program;
  if (withVjp) {
    const v = E.input("v", out.shape);
    const [jv] = E.vjp([out], [v], [x]);
    prog = await E.compile({
      inputs: [...inputs, v],
      outputs: { out, vjp: jv! },
      constants: frozen ? feeds : undefined,
    });
  } else prog = await E.compile({ inputs, outputs: { out }, constants: frozen ? feeds : undefined });
  const all = frozen ? data : { ...feeds, ...data };
  return () => prog.run(all);
}

/** ScoreNet's convolutions at batch n: [name, x shape, w shape, stride, outputPadding, transposed]. */
const SCORENET_CONVS = (n: number): [string, number[], number[], number, number, boolean][] => [
  ["conv1", [n, 1, 28, 28], [32, 1, 3, 3], 1, 0, false],
  ["conv2", [n, 32, 26, 26], [64, 32, 3, 3], 2, 0, false],
  ["conv3", [n, 64, 12, 12], [128, 64, 3, 3], 2, 0, false],
  ["conv4", [n, 128, 5, 5], [256, 128, 3, 3], 2, 0, false],
  ["tconv4", [n, 256, 2, 2], [256, 128, 3, 3], 2, 0, true],
  ["tconv3", [n, 256, 5, 5], [256, 64, 3, 3], 2, 1, true],
  ["tconv2", [n, 128, 12, 12], [128, 32, 3, 3], 2, 1, true],
  ["tconv1", [n, 64, 26, 26], [64, 1, 3, 3], 1, 0, true],
];

/**
 * ScoreNet's stride-2 convolutions at batch 32 as conv(x, w): [name, x shape, w shape]. The tconv rows
 * are the transposed convs' adjoint geometry (their input gradient is this conv; their weight
 * gradient is this conv's).
 */
const STRIDED_CONVS: [string, number[], number[]][] = [
  ["conv2", [32, 32, 26, 26], [64, 32, 3, 3]],
  ["tconv2", [32, 32, 26, 26], [128, 32, 3, 3]],
  ["conv3", [32, 64, 12, 12], [128, 64, 3, 3]],
  ["tconv3", [32, 64, 12, 12], [256, 64, 3, 3]],
  ["conv4", [32, 128, 5, 5], [256, 128, 3, 3]],
];

/** One conv layer of ScoreNet as its own program, lowered in `form`. */
async function convLayer(
  xs: number[],
  ws: number[],
  stride: number,
  outputPadding: number,
  transposed: boolean,
  form: ConvForm,
): Promise<Step> {
  setConvFormPolicy(() => form);
  const x = E.input("x", xs),
    w = E.input("w", ws);
  const y = transposed ? E.convTranspose2d(x, w, { stride, outputPadding }) : E.conv2d(x, w, { stride });
  const prog = await E.compile({ inputs: [x, w], outputs: { y } });
  setConvFormPolicy();
  const rng = new Rng(2);
  const feeds = { x: rng.normals(x.size, new Float32Array(x.size)), w: rng.normals(w.size, new Float32Array(w.size)) };
  return () => prog.run(feeds);
}

/**
 * One op of ScoreNet alone, compiled under `setup` (then the lowering defaults are restored): a
 * transposed conv's forward, a conv's weight gradient, or a conv with its weight gradient in one
 * program, with the filter fed or frozen; feeds are seeded so every variant sees the same values.
 */
async function layerStep(
  op: "convTranspose" | "weightGrad" | "convWithWeightGrad",
  xs: number[],
  ws: number[],
  geometry: { stride: number; outputPadding?: number },
  frozen: boolean,
  setup: () => void,
): Promise<Step> {
  setup();
  const x = E.input("x", xs),
    w = E.input("w", ws);
  let outputs: Record<string, E.Tensor>;
  let extra: E.Tensor[] = [];
  if (op === "convTranspose") outputs = { out: E.convTranspose2d(x, w, geometry) };
  else {
    const y = E.conv2d(x, w, { stride: geometry.stride });
    const gy = E.input("gy", y.shape);
    const gw = E.vjp([y], [gy], [w])[0]!;
    outputs = op === "weightGrad" ? { out: gw } : { y, gw };
    extra = [gy];
  }
  const rng = new Rng(4);
  const feeds: Record<string, Float32Array> = {};
  for (const t of [x, w, ...extra])
    feeds[t.attrs.name as string] = rng.normals(t.size, new Float32Array(t.size)) as Float32Array;
  const prog = await E.compile({
    inputs: [x, w, ...extra],
    outputs,
    constants: frozen ? { w: feeds.w! } : undefined,
  });
  setCol2imShifts();
  setCol2imSum();
  setWeightGradRows();
  setSharedPatches();
  if (frozen) delete feeds.w;
  return () => prog.run(feeds);
}

/** scoreNetSteps with a lowering switch off, then on (`set()` restores its default afterwards). */
async function onOffSteps(
  threads: number,
  [off, on]: [string, string],
  set: (on?: boolean) => void,
): Promise<Record<string, Record<string, Step>>> {
  E.setBackend(nodeBackend({ threads }));
  const v: Record<string, Record<string, Step>> = {};
  for (const [name, value] of [
    [off, false],
    [on, true],
  ] as const)
    v[name] = await scoreNetSteps(() => set(value)).finally(() => set());
  return v;
}

/** WORKLOADS.scorenet (train, sample, div) set up under each variant's backend options. */
async function backendVariants(
  options: Record<string, NodeBackendOptions>,
): Promise<Record<string, Record<string, Step>>> {
  const v: Record<string, Record<string, Step>> = {};
  for (const [name, o] of Object.entries(options)) {
    E.setBackend(nodeBackend(o));
    v[name] = await WORKLOADS.scorenet!.setup();
  }
  return v;
}

/** scorenet.train traced and compiled under each variant's setup (then `reset` restores the defaults). */
async function trainStepVariants(
  threads: number,
  setups: Record<string, () => void>,
  reset: () => void,
): Promise<Record<string, Record<string, Step>>> {
  E.setBackend(nodeBackend({ threads }));
  const v: Record<string, Record<string, Step>> = {};
  for (const [name, setup] of Object.entries(setups)) {
    setup();
    v[name] = { train: (await scoreNetTrainStep()).train };
    reset();
  }
  return v;
}

/** ScoreNet's train step, frozen forward (batch 64) and frozen forward+VJP (batch 16), traced and compiled under `setup`. */
async function scoreNetSteps(setup: () => void): Promise<Record<string, Step>> {
  setup();
  try {
    return {
      train: (await scoreNetTrainStep()).train,
      forward64: await scoreNetProgram(64, false, true),
      vjp16: await scoreNetProgram(16, true, true),
    };
  } finally {
    E.setTraceVariants();
    setNormKernel();
  }
}

/** Variants that differ only in how group norm and SiLU are traced and lowered. */
function elementwiseExperiment(
  variants: Record<string, { vars?: Partial<E.TraceVariants>; kernel?: NormKernel }>,
): Experiment {
  return async (threads) => {
    E.setBackend(nodeBackend({ threads }));
    const out: Record<string, Record<string, Step>> = {};
    for (const [name, v] of Object.entries(variants))
      out[name] = await scoreNetSteps(() => {
        E.setTraceVariants(v.vars);
        setNormKernel(v.kernel);
      });
    return out;
  };
}

const EXPERIMENTS: Record<string, Experiment> = {
  async col2im(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = {};
    for (const max of [0, 25, 144]) {
      setCol2imMaxPixels(max);
      v[max ? `col2im≤${max}` : "ConvTranspose"] = {
        train: (await scoreNetTrainStep()).train,
        forward64: await scoreNetProgram(64, false, true),
        vjp16: await scoreNetProgram(16, true, true),
      };
    }
    setCol2imMaxPixels();
    return v;
  },
  async onechannel(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = {};
    for (const form of ["conv", "depthwise-sum"] as const) {
      setSingleChannelConv(form);
      v[form] = { forward64: await scoreNetProgram(64, false, true), vjp16: await scoreNetProgram(16, true, true) };
    }
    setSingleChannelConv();
    return v;
  },
  wgrad: (threads) =>
    trainStepVariants(threads, { transpose: () => setWeightGradTranspose("transpose"), matmul: () => {} }, () =>
      setWeightGradTranspose(),
    ),
  silu: elementwiseExperiment({ composite: { vars: { silu: "composite" } }, primitive: {} }),
  gnaffine: elementwiseExperiment({ composite: { vars: { groupNormAffine: "composite" } }, primitive: {} }),
  gnvjp: elementwiseExperiment({ recompute: { vars: { groupNormVjp: "recompute" } }, invstd: {} }),
  normkernel: elementwiseExperiment({
    instance: { vars: { groupNormVjp: "recompute" }, kernel: "instance" },
    layer: { vars: { groupNormVjp: "recompute" }, kernel: "layer" },
  }),
  /** The group-norm forms as combined in practice: InstanceNorm + recomputed statistics vs LayerNorm's 1/σ (auto). */
  gnform: elementwiseExperiment({
    "instance+recompute": { vars: { groupNormVjp: "recompute" }, kernel: "instance" },
    "auto+invstd": {},
  }),
  gnsilu: elementwiseExperiment({
    old: { vars: { groupNormVjp: "recompute", silu: "composite" }, kernel: "instance" },
    new: {},
  }),
  /** The ScoreNet Adam step with one update chain per parameter vs one fused update over flat buffers. */
  async adam(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = {};
    for (const layout of ["per-parameter", "flat", "host"] as const)
      v[layout] = { train: (await scoreNetTrainStep(layout)).train };
    return v;
  },
  /** Each ScoreNet conv layer alone (batch 32, as training): ORT's kernels vs Gather-im2col + MatMul. */
  /** tconv1 (64 → 1 channel, stride 1) alone: Gather col2im (fed) or depthwise + sum (frozen) vs shifted planes. */
  async tconv1(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = { old: {}, shifts: {} };
    for (const [name, on] of [
      ["old", false],
      ["shifts", true],
    ] as const)
      for (const n of [32, 64])
        for (const frozen of [false, true])
          v[name]![`${frozen ? "frozen" : "fed"}${n}`] = await layerStep(
            "convTranspose",
            [n, 64, 26, 26],
            [64, 1, 3, 3],
            { stride: 1 },
            frozen,
            () => setCol2imShifts(on),
          );
    return v;
  },
  /** Each ScoreNet weight gradient alone (batch 32): gy as channels-last rows + Gemm transA vs [O, N·Ho·Wo] + MatMul. */
  async wgradlayers(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = { "channels-last": {}, "channels-first": {} };
    for (const rows of ["channels-last", "channels-first"] as const)
      for (const [name, xs, ws] of STRIDED_CONVS)
        v[rows]![name] = await layerStep("weightGrad", xs, ws, { stride: 2 }, false, () => setWeightGradRows(rows));
    return v;
  },
  /** tconv3 / tconv4 forwards alone (batch 64 frozen, 32 fed): col2im contributions by ReduceSum over T vs T Gathers + Sum. */
  async col2imsum(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = { reduce: {}, slots: {} };
    for (const form of ["reduce", "slots"] as const)
      for (const [name, cin, hw, cout, op] of [
        ["tconv3", 256, 5, 64, 1],
        ["tconv4", 256, 2, 128, 0],
      ] as const)
        for (const [n, frozen] of [
          [64, true],
          [32, false],
        ] as const)
          v[form]![`${name}-${frozen ? "frozen" : "fed"}${n}`] = await layerStep(
            "convTranspose",
            [n, cin, hw, hw],
            [cin, cout, 3, 3],
            { stride: 2, outputPadding: op },
            frozen,
            () => setCol2imSum(form),
          );
    return v;
  },
  /**
   * ScoreNet's fed convs with their weight gradient (batch 32; output and weight gradient of one program), then
   * the whole train step: ORT's Conv vs the product from the weight gradient's patch matrix.
   */
  async sharedpatches(threads) {
    E.setBackend(nodeBackend({ threads }));
    const layers = STRIDED_CONVS.filter(([name]) => name !== "conv4"); // conv4's 2×2 output always takes the patches
    const v: Record<string, Record<string, Step>> = {};
    for (const mode of ["never", "always", "auto"] as const) {
      const m: Record<string, Step> = {};
      for (const [name, xs, ws] of layers)
        m[name] = await layerStep("convWithWeightGrad", xs, ws, { stride: 2 }, false, () => setSharedPatches(mode));
      setSharedPatches(mode);
      m.train = (await scoreNetTrainStep()).train;
      setSharedPatches();
      v[mode === "never" ? "ort-conv" : mode === "always" ? "shared" : "auto"] = m;
    }
    return v;
  },
  async convform(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = { ort: {}, gather: {} };
    for (const form of ["ort", "gather"] as const)
      for (const [name, xs, ws, s, op, tr] of SCORENET_CONVS(32))
        v[form]![name] = await convLayer(xs, ws, s, op, tr, form);
    return v;
  },
  async freeze(threads) {
    E.setBackend(nodeBackend({ threads }));
    const v: Record<string, Record<string, Step>> = {};
    for (const frozen of [false, true])
      v[frozen ? "frozen" : "fed"] = {
        forward64: await scoreNetProgram(64, false, frozen),
        vjp16: await scoreNetProgram(16, true, frozen),
      };
    return v;
  },
  /** Frozen ScoreNet forward/VJP with ORT's "extended" vs "all" optimizations (only "all" has the NCHWc layout). */
  async optlevel(threads) {
    const v: Record<string, Record<string, Step>> = {};
    for (const level of ["extended", "all"] as const) {
      E.setBackend(nodeBackend({ threads, graphOptimizationLevel: level }));
      v[level] = { forward64: await scoreNetProgram(64, false, true), vjp16: await scoreNetProgram(16, true, true) };
    }
    return v;
  },
  shifts: (threads) => onOffSteps(threads, ["gather/depthwise", "shifts"], setCol2imShifts),
  /** tconv1's input concat [h, h1] materialized vs absorbed into per-part products (forward, VJP; train keeps it). */
  concatparts: (threads) => onOffSteps(threads, ["Concat", "per-part products"], setAbsorbConcats),
  spans: (threads) => onOffSteps(threads, ["plain broadcast", "widened"], setSmallSpanBroadcast),
  wgradrows: (threads) =>
    trainStepVariants(
      threads,
      { "channels-last": () => setWeightGradRows("channels-last"), "channels-first": () => {} },
      () => setWeightGradRows(),
    ),
  interop: (threads) =>
    backendVariants({
      [`intra=${threads},inter=1`]: { threads },
      [`intra=${threads},inter=2`]: { threads, interOpThreads: 2 },
      "intra=1,inter=2": { threads: 1, interOpThreads: 2 },
    }),
  /** scorenet train/sample/div with ORT's default parallel-loop partitioning vs dynamic blocks (session.dynamic_block_base 4). */
  dynblock: (threads) =>
    backendVariants({
      default: { threads },
      "dynamic_block_base=4": { threads, sessionConfig: { "session.dynamic_block_base": "4" } },
    }),
  spin: (threads) =>
    backendVariants({
      "spin=1": { threads, sessionConfig: { "session.intra_op.allow_spinning": "1" } },
      "spin=0": { threads, sessionConfig: { "session.intra_op.allow_spinning": "0" } },
    }),
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "30" },
    threads: { type: "string", default: "2" },
    warm: { type: "string", default: "3" },
    metrics: { type: "string" },
  },
});
const name = positionals[0] ?? "";
const exp = EXPERIMENTS[name];
if (!exp) throw new Error(`unknown experiment '${name}'; use one of: ${Object.keys(EXPERIMENTS).join(", ")}`);
const variants = await exp(Number(values.threads));
const names = Object.keys(variants);
const metrics = Object.keys(variants[names[0]!]!).filter(
  (m) => !values.metrics || values.metrics.split(",").includes(m),
);
const rounds = Number(values.rounds),
  warm = Number(values.warm);
const quantile = (a: number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const median = (a: number[]) => quantile(a, 0.5);
/** Median per-round ratio to the first variant with its quartiles: "0.950 [0.910–0.990]". */
const ratio = (xs: number[], base: number[]) => {
  const r = xs.map((t, k) => t / base[k]!);
  return `${median(r).toFixed(3)} [${quantile(r, 0.25).toFixed(3)}–${quantile(r, 0.75).toFixed(3)}]`;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
console.log(
  `${name}: ${rounds} interleaved rounds, ${values.threads} threads; wall ms and ratio (quartiles), then process CPU ms and ratio`,
);
for (const m of metrics) {
  const wall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < warm + rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const t0 = performance.now(),
        c0 = cpuMs();
      await variants[n]![m]!();
      if (r >= warm) {
        wall[n]!.push(performance.now() - t0);
        cpu[n]!.push(cpuMs() - c0);
      }
    }
  }
  const cells = names.map(
    (n, i) =>
      `${n} ${round(median(wall[n]!))} ms${i ? ` (ratio ${ratio(wall[n]!, wall[names[0]!]!)})` : ""}, cpu ${round(median(cpu[n]!))} ms${i ? ` (ratio ${ratio(cpu[n]!, cpu[names[0]!]!)})` : ""}`,
  );
  console.log(`  ${m}: ${cells.join(" · ")}`);
  // Contention only ever adds time: the fastest tenth of each variant's steps estimates its quiet-machine time.
  const p10 = (n: string) => quantile(wall[n]!, 0.1);
  console.log(
    `  ${m} fastest 10%: ${names.map((n, i) => `${n} ${round(p10(n))} ms${i ? ` (ratio ${(p10(n) / p10(names[0]!)).toFixed(3)})` : ""}`).join(" · ")}`,
  );
}
