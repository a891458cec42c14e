import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import "../src/node.ts";
import { classifierGuided } from "../src/controllable/index.ts";
import * as E from "../src/engine/index.ts";
import { noisyClassifierArch, traceNoisyClassifier } from "../src/models/classifier.ts";
import { EngineNoisyClassifier } from "../src/models/noisy-classifier.ts";
import { fitByComponent, mixtureOracle } from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import { sample } from "../src/sampling/index.ts";
import { vpSde } from "../src/sde/index.ts";
import { loadNoisyClassifier, trainNoisyClassifier } from "../src/tasks/classifier.ts";
import { openLabeledData } from "../src/tasks/sources.ts";
import { MIRRORED_PAIR } from "./helpers/mixtures.ts";

/** Random float64 parameters of a noise-conditional classifier. */
function randomParams(arch: ReturnType<typeof noisyClassifierArch>) {
  const ps = E.ParamScope.create("float64");
  const n = 1;
  traceNoisyClassifier(
    arch,
    ps,
    E.input("x", [n, ...arch.dataShape], "float64"),
    E.input("c", [n], "float64"),
    E.input("cin", [n], "float64"),
  );
  return ps.init(new Rng(5));
}

describe("neural noise-conditional classifier", () => {
  it("∇ₓ log p_t(y | x) by the engine's VJP matches float64 finite differences (MLP and CNN)", async () => {
    const sde = vpSde(),
      h = 1e-6;
    for (const arch of [
      noisyClassifierArch([2], 3, { width: 16, embed: 8 }),
      noisyClassifierArch([1, 6, 6], 4, { width: 4, embed: 8 }),
    ]) {
      const clf = new EngineNoisyClassifier(arch, randomParams(arch), sde, "float64");
      const n = 3,
        dim = clf.dim,
        rng = new Rng(2);
      const x = rng.normals(n * dim) as Float64Array,
        t = Float64Array.of(0.05, 0.4, 0.9),
        y = Int32Array.of(0, 2, 1);
      const { logp, grad } = await clf.logProbGrad(x, t, n, y);
      assert.ok(logp.every((v) => v < 0 && Number.isFinite(v)));
      for (let j = 0; j < n * dim; j += arch.kind === "noisy-cnn" ? 7 : 1) {
        const xp = Float64Array.from(x),
          xm = Float64Array.from(x);
        xp[j]! += h;
        xm[j]! -= h;
        const row = Math.floor(j / dim);
        const fd =
          ((await clf.logProbGrad(xp, t, n, y)).logp[row]! - (await clf.logProbGrad(xm, t, n, y)).logp[row]!) / (2 * h);
        assert.ok(
          Math.abs(fd - grad[j]!) < 1e-6 * Math.max(1, Math.abs(fd)),
          `${arch.kind} d/dx[${j}]: ${grad[j]} vs ${fd}`,
        );
      }
    }
  });

  it("trained on a 2-D mixture it classifies clean points and guides samples to the chosen component", async () => {
    const dir = await mkdtemp(join(tmpdir(), "noisy-clf-"));
    try {
      const spec = join(dir, "mix.json");
      await writeFile(spec, JSON.stringify(MIRRORED_PAIR));
      const data = await openLabeledData(`oracle:${spec}`);
      const sde = vpSde();
      const r = await trainNoisyClassifier(data.train, data.heldOut, {
        sde,
        arch: noisyClassifierArch([2], 2, { width: 32, embed: 16 }),
        steps: 300,
        batch: 128,
        lr: 3e-3,
        seed: 0,
        outDir: join(dir, "clf"),
        data: { source: spec },
      });
      assert.ok(r.accuracy[0]![1] > 0.97, `accuracy at t = eps: ${r.accuracy[0]![1]}`);
      const { classifier, config } = await loadNoisyClassifier(join(dir, "clf"));
      assert.equal(config.sde, "vp");
      const o = mixtureOracle(MIRRORED_PAIR, sde);
      const s = await sample("pc", classifierGuided(o, classifier, 1, 2), sde, { n: 400, rng: new Rng(1), steps: 200 });
      const fits = fitByComponent(o.mixture, s.x, 400);
      assert.ok(fits[1]!.weight >= 0.97, `fraction in component 1 with guidance scale 2: ${fits[1]!.weight}`);
      await assert.rejects(loadNoisyClassifier(join(dir, "nothing")), /no classifier at/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
