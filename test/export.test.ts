/**
 * `scoregen export`: the standalone ONNX model, reloaded with onnxruntime-node alone, gives the
 * library's score (every SDE and parameterization) and the library's Euler–Maruyama step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as ort from "onnxruntime-node";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { saveCheckpoint } from "../src/io/checkpoint.ts";
import { type ModelSpec, mlpSpec, traceNetwork } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { eulerMaruyamaPredictor } from "../src/sampling/index.ts";
import { exportScoreModel } from "../src/tasks/export.ts";
import { openScoreSource } from "../src/tasks/sources.ts";
import { loadRun } from "../src/tasks/train-node.ts";
import { sdeByName } from "../src/sde/index.ts";

const MAIN = join(import.meta.dirname, "..", "src", "cli", "main.ts");

/** A run folder with a small randomly initialized MLP (no training needed to compare two evaluators). */
async function makeRun(spec: ModelSpec, sde: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-export-"));
  const ps = E.ParamScope.create(spec.dtype);
  traceNetwork(spec, ps, E.input("x", [1, ...spec.dataShape], spec.dtype), E.input("c", [1], spec.dtype));
  const params = ps.init(new Rng(3));
  await saveCheckpoint(dir, {
    params,
    config: { model: spec, sde, objective: "dsm", optimizer: { kind: "adam", lr: 1e-3 }, batch: 8, seed: 0 },
    step: 0,
  });
  return dir;
}

/** |a − b| ≤ atol + rtol·|b| everywhere (float32 network vs float32 network, float64 glue). */
function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, what: string, rtol = 2e-4, atol = 2e-4): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++)
    assert.ok(
      Math.abs(a[i]! - b[i]!) <= atol + rtol * Math.abs(b[i]!),
      `${what}[${i}]: onnx ${a[i]} vs library ${b[i]}`,
    );
}

const B = 6;
const CASES: [string, ModelSpec][] = [
  ["vp", mlpSpec(2, { hidden: 16, layers: 2 })],
  ["subvp", mlpSpec(2, { hidden: 16, layers: 1 }, { parameterization: "x0" })],
  [
    "ve",
    mlpSpec(2, { hidden: 16, layers: 1, fourierScale: 0.5 }, { parameterization: "score", condition: "logsigma" }),
  ],
  ["ve", mlpSpec(2, { hidden: 16, layers: 1 }, { parameterization: "eps" })],
];

/** The library's Euler–Maruyama step from t to s whose noise is exactly z (float32-rounded, as fed to ONNX). */
async function libraryStep(
  src: Awaited<ReturnType<typeof openScoreSource>>,
  x: Float64Array,
  t: number,
  s: number,
  z: Float64Array,
) {
  let k = 0;
  // a stand-in Rng that hands out the given noise z in order
  const normal = () => z[k++]!;
  const rng = { normal, normals: (n: number) => Float64Array.from({ length: n }, normal) } as unknown as Rng;
  return eulerMaruyamaPredictor.update(x, t, s, {
    model: src.model,
    sde: src.sde,
    n: x.length / 2,
    dim: 2,
    rng,
    eps: 1e-3,
  } as never);
}

const f32 = (v: ArrayLike<number>, dims: number[]) => new ort.Tensor("float32", Float32Array.from(v), dims);
const rounded = (v: ArrayLike<number>) => Float64Array.from(Float32Array.from(v));

for (const [sdeName, spec] of CASES) {
  test(`exported score network and sampler step (${sdeName}, ${spec.parameterization}, ${spec.condition}) reloaded in onnxruntime-node equal the library's`, async () => {
    const dir = await makeRun(spec, sdeName);
    const src = await openScoreSource(dir);
    const bytes = exportScoreModel(src.run!.model, (await loadRun(dir)).params, sdeByName(sdeName), {
      batch: B,
      samplerStep: true,
    });
    const session = await ort.InferenceSession.create(bytes);
    assert.deepEqual([...session.inputNames], ["x", "t", "dt", "z"]);
    assert.deepEqual([...session.outputNames], ["score", "x_mean", "x_next"]);
    const x = rounded(new Rng(11).normals(2 * B)),
      z = rounded(new Rng(12).normals(2 * B));
    const times = rounded(Float64Array.of(1e-3, 0.01, 0.1, 0.37, 0.8, 1));
    const r = await session.run({
      x: f32(x, [B, 2]),
      t: f32(times, [B]),
      dt: f32(new Array(B).fill(0), [B]),
      z: f32(z, [B, 2]),
    });
    assert.deepEqual(r.score!.dims, [B, 2]);
    assertClose(r.score!.data as Float32Array, await src.model.score(x, times, B), "score");
    // one step of the whole batch from t = 0.5 to 0.49
    const t = 0.5,
      s = 0.49;
    const step = await session.run({
      x: f32(x, [B, 2]),
      t: f32(new Array(B).fill(t), [B]),
      dt: f32(new Array(B).fill(t - s), [B]),
      z: f32(z, [B, 2]),
    });
    const lib = await libraryStep(src, x, t, s, z);
    assertClose(step.x_mean!.data as Float32Array, lib.xMean, "x_mean");
    assertClose(step.x_next!.data as Float32Array, lib.x, "x_next");
  });
}

test("scoregen export writes the model atomically and describes its inputs and outputs", async () => {
  const dir = await makeRun(mlpSpec(2, { hidden: 16, layers: 1 }), "vp");
  const out = join(dir, "model.onnx");
  const { stdout } = await promisify(execFile)(process.execPath, [
    "--import",
    "tsx",
    MAIN,
    "export",
    "--score",
    dir,
    "--out",
    out,
    "--batch",
    String(B),
    "--json",
  ]);
  const info = JSON.parse(stdout);
  assert.deepEqual(info.inputs, ["x float32 [6, 2]", "t float32 [6]"]);
  assert.deepEqual(info.outputs, ["score float32 [6, 2]"]);
  const session = await ort.InferenceSession.create(await readFile(out));
  const src = await openScoreSource(dir);
  const x = rounded(new Rng(2).normals(2 * B)),
    t = rounded(new Float64Array(B).fill(0.3));
  const r = await session.run({ x: f32(x, [B, 2]), t: f32(t, [B]) });
  assertClose(r.score!.data as Float32Array, await src.model.score(x, t, B), "score");
});
