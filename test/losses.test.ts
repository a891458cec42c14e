/**
 * Every training objective, run through the engine, must teach a small MLP the exact score of a
 * Gaussian mixture (known in closed form by the oracle) far better than the untrained network.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { type Objective, drawBatch, timeOfStd, traceLoss } from "../src/losses/objectives.ts";
import { EngineNetwork } from "../src/models/network.ts";
import { mlpSpec } from "../src/models/registry.ts";
import { mixtureOracle } from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import type { ParamTree } from "../src/engine/init.ts";
import { asScoreModel, ncsnSigmas, sdeByName } from "../src/sde/index.ts";
import { train, unlabeled } from "../src/tasks/train.ts";
import { TRAINING_MIXTURE } from "./helpers/mixtures.ts";

/** √(Σ_t s(t)²‖ŝ − s‖² / Σ_t s(t)²‖s‖²) over x_t ~ p_t at several t: the σ²-weighted relative score error. */
async function scoreError(
  sdeName: string,
  params: ParamTree,
  spec: ReturnType<typeof mlpSpec>,
  times = [0.05, 0.2, 0.5, 1],
): Promise<number> {
  const sde = sdeByName(sdeName),
    oracle = mixtureOracle(TRAINING_MIXTURE, sde);
  const net = asScoreModel(new EngineNetwork(spec, params, sde), sde, spec.parameterization);
  const rng = new Rng(9);
  let err = 0,
    ref = 0;
  for (const t of times) {
    const n = 400,
      tv = new Float64Array(n).fill(t);
    const x = oracle.sampleData(rng, n).map((v) => v * sde.meanCoef(t) + sde.std(t) * rng.normal());
    const s = await net.score(x, tv, n),
      so = await oracle.score(x, tv, n);
    for (let i = 0; i < s.length; i++) {
      err += sde.std(t) ** 2 * (s[i]! - so[i]!) ** 2;
      ref += sde.std(t) ** 2 * so[i]! ** 2;
    }
  }
  return Math.sqrt(err / ref);
}

const runs: { objective: Objective; sde: string; param?: "eps" | "score"; bound: number; logsigma?: boolean }[] = [
  { objective: "dsm", sde: "vp", bound: 0.15 },
  // VE (σ up to 50, score output): 0.19 measured on the AMD EPYC development machine, 0.205 with only the
  // optimizer's float rounding changed — the trajectory is that sensitive, so the bound leaves room for other CPUs
  { objective: "dsm", sde: "ve", param: "score", bound: 0.25 },
  { objective: "dsm-likelihood", sde: "subvp", bound: 0.2 },
  { objective: "ddpm", sde: "vp", bound: 0.15 },
  { objective: "ncsn", sde: "ve", param: "score", bound: 0.25, logsigma: true },
  { objective: "ssm", sde: "vp", bound: 0.25 },
  { objective: "ssm-vr", sde: "vp", bound: 0.2 },
];

for (const r of runs) {
  test(`${r.objective} on ${r.sde} learns the exact mixture score`, async () => {
    // NCSN: the noise-level-conditioned variant (log σ input)
    const spec = r.logsigma
      ? mlpSpec(2, { fourierScale: 0.5 }, { parameterization: r.param ?? "eps", condition: "logsigma" })
      : mlpSpec(2, {}, { parameterization: r.param ?? "eps" });
    const oracle = mixtureOracle(TRAINING_MIXTURE, sdeByName(r.sde));
    const res = await train(
      {
        model: spec,
        sde: r.sde,
        objective: r.objective,
        optimizer: { kind: "adam", lr: 2e-3, emaDecay: 0.99, clipNorm: 1 },
        batch: 256,
        seed: 0,
      },
      unlabeled(2, (n, rng) => oracle.sampleData(rng, n)),
      { steps: 800 },
    );
    // NCSN learns only its L noise levels: evaluate there (levels 2, 4, 6, 8 of 10 here).
    const sde = sdeByName(r.sde);
    const times =
      r.objective === "ncsn"
        ? [1, 3, 5, 7].map((i) =>
            timeOfStd(sde, ncsnSigmas({ levels: 10, sigmaMin: sde.std(1e-5), sigmaMax: sde.std(1) })[i]!, 1e-5),
          )
        : undefined;
    const before = await scoreError(r.sde, trainInit(spec), spec, times);
    const after = await scoreError(r.sde, res.emaParams, spec, times);
    assert.ok(
      after < r.bound && after < before / 3,
      `weighted relative score error ${before.toFixed(3)} untrained → ${after.toFixed(3)} trained (bound ${r.bound})`,
    );
  });
}

function trainInit(spec: ReturnType<typeof mlpSpec>) {
  const ps = E.ParamScope.create();
  traceLoss("dsm", spec, ps, 1);
  return ps.init(new Rng(0).fork(0xfeed));
}

test("DSM loss value equals a host computation of λ‖score + z/s‖² for a fixed network", async () => {
  const spec = mlpSpec(2, { hidden: 8, layers: 1, embed: 4 }, { dtype: "float64" });
  const sde = sdeByName("vp"),
    n = 5,
    rng = new Rng(4);
  const ps = E.ParamScope.create("float64");
  const { loss, inputs } = traceLoss("dsm", spec, ps, n);
  const params = ps.init(rng);
  const prog = await E.compile({ inputs: [...ps.specs().map((s) => s.node), ...inputs], outputs: { loss } });
  const x0 = rng.normals(2 * n) as Float64Array,
    z = rng.normals(2 * n) as Float64Array;
  const cols = drawBatch("dsm", spec, sde, n, rng);
  const feeds: Record<string, Float64Array> = { x0, z, ...cols };
  for (const [k, p] of params) feeds[E.paramFeed(k)] = p.data as Float64Array;
  const got = (await prog.run(feeds)).loss![0]!;
  const net = asScoreModel(new EngineNetwork(spec, params, sde), sde, "eps");
  let want = 0;
  for (let i = 0; i < n; i++) {
    const a = cols.mean![i]!,
      s = cols.std![i]!;
    const xt = Float64Array.of(a * x0[2 * i]! + s * z[2 * i]!, a * x0[2 * i + 1]! + s * z[2 * i + 1]!);
    const sc = await net.score(xt, Float64Array.of(cols.t![i]!), 1);
    want += (s * s * ((sc[0]! + z[2 * i]! / s) ** 2 + (sc[1]! + z[2 * i + 1]! / s) ** 2)) / n;
  }
  assert.ok(Math.abs(Number(got) - want) < 1e-9 * Math.max(1, want), `engine ${got} vs host ${want}`);
});
