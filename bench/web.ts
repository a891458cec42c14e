/**
 * Playground timings (a benchmark, not a test): `npx tsx bench/web.ts [--reps N]`.
 * Builds the page, serves it on 127.0.0.1 with COOP/COEP, and in headless Chromium (the
 * @sparticuz/chromium binary) measures, for WASM with 1 thread and with navigator.hardwareConcurrency
 * threads: the median ms per 2-D MLP training step (batch 512, the CLI's default for points) and per
 * ScoreNet score evaluation (one sampling step, batch 16, a freshly initialized 28×28 ScoreNet loaded
 * through the page's file picker); the same two figures in Node (onnxruntime-node, 1 and 2 threads);
 * and the time from navigation to the first 2-D sample with the page's defaults (engine start, 200
 * training steps at batch 256, 500 points by Euler–Maruyama and by the ODE with 100 steps).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { nodeBackend } from "../src/engine/backend-node.ts";
import * as E from "../src/engine/index.ts";
import { TOY2D } from "../src/data/toy2d.ts";
import { listCheckpoints, saveCheckpoint } from "../src/io/checkpoint.ts";
import { EngineNetwork } from "../src/models/network.ts";
import { scoreNetSpec, traceNetwork } from "../src/models/registry.ts";
import { Rng } from "../src/rng.ts";
import { sdeByName } from "../src/sde/index.ts";
import { LAB2D_DEFAULTS, Lab2D } from "../src/web/lab2d.ts";
import { launchChromium, type PageWindow } from "../test/helpers/browser.ts";
import { buildSite } from "../web/build.ts";
import { serveStatic } from "../web/serve.ts";
import { medianMs, round } from "./timing.ts";

const { values } = parseArgs({ options: { reps: { type: "string", default: "15" } } });
const reps = Number(values.reps);
const dir = await mkdtemp(join(tmpdir(), "scoregen-webbench-"));
const rows: string[][] = [];

// A ScoreNet run folder with freshly initialized weights (timing does not depend on the values).
const spec = scoreNetSpec();
const ps = E.ParamScope.create(spec.dtype);
traceNetwork(spec, ps, E.input("x", [1, 1, 28, 28]), E.input("c", [1]));
const params = ps.init(new Rng(0));
await saveCheckpoint(join(dir, "run"), {
  params,
  config: { model: spec, sde: "vp", objective: "dsm", batch: 32, seed: 0 },
});

for (const threads of [1, 2]) {
  E.setBackend(nodeBackend({ threads }));
  E.clearProgramCache();
  const lab = await Lab2D.create({ ...LAB2D_DEFAULTS }, TOY2D["8gaussians"].sample);
  await lab.trainStep();
  await lab.trainStep();
  const mlp = await medianMs(() => lab.trainStep(), reps);
  const net = new EngineNetwork(spec, params, sdeByName("vp"));
  const x = new Rng(1).normals(16 * 784) as Float64Array,
    t = new Float64Array(16).fill(0.5);
  await net.forward(x, t, 16);
  const sn = await medianMs(() => net.forward(x, t, 16), reps);
  rows.push([`Node, onnxruntime-node, ${threads} thread(s)`, String(round(mlp)), String(round(sn)), "–"]);
}

const site = await buildSite(join(dir, "site"));
const { server, url } = await serveStatic(site, 0);
const browser = await launchChromium();
try {
  const cores = await (await browser.newPage()).evaluate(() => navigator.hardwareConcurrency);
  for (const threads of [...new Set([1, cores])]) {
    const page = await browser.newPage();
    const t0 = Date.now();
    await page.goto(`${url}?threads=${threads}`);
    await page.evaluate(() => (window as unknown as PageWindow).playground.ready);
    const readyMs = Date.now() - t0;
    await page.evaluate(() => {
      const p = (window as unknown as PageWindow).playground;
      p.set("sampleSteps", "100");
    });
    await page.evaluate(() => (window as unknown as PageWindow).playground.train(200));
    await page.evaluate(() => (window as unknown as PageWindow).playground.sample(500, 1));
    const firstSample = Date.now() - t0;
    const mlp = await page.evaluate((r) => (window as unknown as PageWindow).playground.benchTrain(r, 512), reps);
    const [newest] = await listCheckpoints(join(dir, "run"));
    await page.setInputFiles("#files", [newest!.path, join(dir, "run", "config.json")]);
    await page.waitForFunction(
      () =>
        !(document.getElementById("mSample") as HTMLButtonElement).disabled ||
        !document.getElementById("error")!.hidden,
    );
    const sn = await page.evaluate((r) => (window as unknown as PageWindow).playground.benchScoreNet(r, 16), reps);
    rows.push([
      `Chromium, ${mlp.backend} (WASM, ${threads} thread(s))`,
      String(round(mlp.msPerStep)),
      String(round(sn.msPerStep)),
      `${(firstSample / 1000).toFixed(1)} s (engine ready ${(readyMs / 1000).toFixed(1)} s)`,
    ]);
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
  await rm(dir, { recursive: true, force: true });
}
console.log(
  "| where | ms / MLP training step (batch 512) | ms / ScoreNet sampling step (batch 16) | first 2-D sample after page load |",
);
console.log("| --- | --- | --- | --- |");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
