/**
 * The browser playground in a real headless Chromium (playwright-core + @sparticuz/chromium): the
 * page is built (esbuild), served from 127.0.0.1 with COOP/COEP, and driven through the same
 * actions its buttons use. Proves: normal draws are bit-identical to Node's (pinned known-answer
 * vector and 4096 more); a float64 training run in the page reproduces tasks/train.ts in Node;
 * oracle sampling in the page equals Node's bit for bit; the float32 MLP trained in the page for a
 * few hundred steps has a falling loss and its samples cover all 8 modes of 8gaussians; errors
 * (corrupt safetensors, a model for another data shape) show a readable message in the page; in
 * the MNIST tab, inpainting a picked digit with a mask painted by the mouse keeps the known pixels
 * exactly, and a class-conditional model takes a class and a guidance weight (out-of-range classes
 * are a readable error).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import "../src/node.ts";
import { EIGHT_GAUSSIANS, TOY2D } from "../src/data/toy2d.ts";
import * as E from "../src/engine/index.ts";
import { listCheckpoints, saveCheckpoint } from "../src/io/checkpoint.ts";
import { scoreNetSpec, traceNetwork } from "../src/models/registry.ts";
import { mixtureOracle } from "../src/oracle/index.ts";
import { Rng } from "../src/rng.ts";
import { sample } from "../src/sampling/registry.ts";
import { sdeByName } from "../src/sde/index.ts";
import { train, unlabeled } from "../src/tasks/train.ts";
import { LAB2D_DEFAULTS, type Lab2DSettings, lab2dConfig } from "../src/web/lab2d.ts";
import { buildSite } from "../web/build.ts";
import { serveStatic } from "../web/serve.ts";
import { launchChromium, type PageWindow } from "./helpers/browser.ts";
import { NORMAL_KAT, NORMAL_KAT_SEED, float64Hex } from "./helpers/rng-kat.ts";

// @sparticuz/chromium ships a Linux x64 binary only.
const skip =
  process.platform === "linux" && process.arch === "x64" ? false : "needs Linux x64 (the @sparticuz/chromium binary)";
let dir: string, server: Server, browser: Browser, page: Page, url: string;
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), "scoregen-web-"));
  await buildSite(join(dir, "site"), { minify: false });
  ({ server, url } = await serveStatic(join(dir, "site"), 0));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.evaluate(() => (window as unknown as PageWindow).playground.ready);
});

after(async () => {
  await browser?.close();
  await new Promise((r) => server?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pg = <T>(f: string, ...args: unknown[]): Promise<T> =>
  page.evaluate(
    ({ f, args }) =>
      ((window as unknown as PageWindow).playground[f] as (...a: unknown[]) => Promise<unknown>)(...args).then(
        (r: unknown) => (r instanceof Float64Array ? Array.from(r) : r),
      ),
    { f, args },
  ) as Promise<T>;

test("the page is cross-origin isolated and runs onnxruntime-web with threads", { skip }, async () => {
  const r = await page.evaluate(() => (window as unknown as PageWindow).playground.ready);
  assert.equal(r.isolated, true);
  assert.match(r.backend, /^ort-web\/wasm\/\d+$/);
  assert.match((await page.textContent("#status")) ?? "", /engine ready: ort-web\/wasm/);
});

test("normal draws in Chromium equal Node's bit for bit (pinned vector + 4096 draws)", { skip }, async () => {
  const inPage = Float64Array.from(await pg<number[]>("normals", NORMAL_KAT_SEED, 4096 + NORMAL_KAT.length));
  const r = new Rng(NORMAL_KAT_SEED),
    inNode = new Float64Array(inPage.length);
  for (let i = 0; i < inNode.length; i++) inNode[i] = r.normal();
  assert.deepEqual(float64Hex(inPage.subarray(0, NORMAL_KAT.length)), [...NORMAL_KAT]);
  assert.deepEqual(float64Hex(inPage), float64Hex(inNode));
});

test("oracle sampling in the page equals the Node run (same seed) to 1e-12", { skip }, async () => {
  const inPage = Float64Array.from(await pg<number[]>("oracleSample", "em", 64, 50, 9, "vp"));
  const sde = sdeByName("vp");
  const inNode = (await sample("em", mixtureOracle(EIGHT_GAUSSIANS, sde), sde, { n: 64, rng: new Rng(9), steps: 50 }))
    .x;
  // The noise is bit-identical; the SDE schedule and the mixture score use Math.exp/log, which
  // Node 20's V8 and Chromium's V8 round differently in the last bit (measured), hence 1e-12.
  assert.equal(inPage.length, inNode.length);
  for (let i = 0; i < inNode.length; i++)
    assert.ok(
      Math.abs(inPage[i]! - inNode[i]!) <= 1e-12 * Math.max(1, Math.abs(inNode[i]!)),
      `coordinate ${i}: page ${inPage[i]} vs node ${inNode[i]}`,
    );
});

test("a float64 training run in the page reproduces tasks/train.ts in Node (same seed)", { skip }, async () => {
  const s: Lab2DSettings = { ...LAB2D_DEFAULTS, dtype: "float64", batch: 64, hidden: 32, layers: 2, seed: 5 };
  const inPage = (await pg<{ losses: number[] }>("trainWith", s, { name: "8gaussians" }, 8)).losses;
  const inNode = (await train(lab2dConfig(s), unlabeled(2, TOY2D["8gaussians"].sample), { steps: 8 })).losses;
  assert.equal(inPage.length, 8);
  // Batches, noise and initial parameters are bit-identical; WASM and native kernels may sum in another order.
  for (let i = 0; i < 8; i++)
    assert.ok(
      Math.abs(inPage[i]! - inNode[i]!) <= 1e-12 * Math.abs(inNode[i]!),
      `step ${i + 1}: page ${inPage[i]} vs node ${inNode[i]}`,
    );
});

test("training in the page: the loss falls, and sampled points cover all 8 modes of 8gaussians", { skip }, async () => {
  await page.evaluate(() => {
    const p = (window as unknown as PageWindow).playground;
    p.set("dataset", "8gaussians");
    p.set("batch", "128");
    p.set("seed", "3");
    p.set("sampleSteps", "100");
  });
  const r = await pg<{ losses: number[] }>("train", 300);
  assert.equal(r.losses.length, 300);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const first = mean(r.losses.slice(0, 30)),
    last = mean(r.losses.slice(-50));
  assert.ok(last < 0.6 * first, `loss did not fall: first 30 steps ${first}, last 50 ${last}`);
  const s = await page.evaluate(() =>
    (window as unknown as PageWindow).playground
      .sample(400, 1)
      .then((r) => ({ sde: Array.from(r.sde), ode: Array.from(r.ode) })),
  );
  for (const [name, x] of Object.entries(s) as [string, number[]][]) {
    const counts = new Array(8).fill(0);
    let near = 0;
    for (let i = 0; i < x.length / 2; i++) {
      let best = 0,
        bd = Infinity;
      for (let k = 0; k < 8; k++) {
        const d = Math.hypot(x[2 * i]! - EIGHT_GAUSSIANS.means[k]![0]!, x[2 * i + 1]! - EIGHT_GAUSSIANS.means[k]![1]!);
        if (d < bd) {
          bd = d;
          best = k;
        }
      }
      if (bd < 3 * 0.3) {
        counts[best]++;
        near++;
      }
    }
    // Each mode holds 1/8 of the mass; demand at least 1/3 of that in every mode, and most points near a mode.
    for (let k = 0; k < 8; k++)
      assert.ok(counts[k] >= 400 / 8 / 3, `${name}: mode ${k} has only ${counts[k]} of 400 points (${counts})`);
    assert.ok(near >= 0.6 * 400, `${name}: only ${near} of 400 points lie within 3σ of a mode`);
  }
  const ll = await pg<number>("loglik", 2, 2);
  assert.ok(Number.isFinite(ll), `log-likelihood ${ll}`);
  assert.match((await page.textContent("#llOut")) ?? "", /nats \(model, PF-ODE\); exact log p₀ = /);
  await page.waitForFunction(() => !(window as unknown as PageWindow).playground.animating()); // the particles reached the data
  // SCOREGEN_SCREENSHOT=docs/playground.png regenerates the README's picture.
  if (process.env.SCOREGEN_SCREENSHOT) await page.screenshot({ path: process.env.SCOREGEN_SCREENSHOT, fullPage: true });
});

test("errors show a readable message in the page: corrupt safetensors, a model for another data shape", {
  skip,
}, async () => {
  const load = (files: { name: string; text: string }[]) =>
    page.evaluate(async (fs) => {
      await (window as unknown as PageWindow).playground.loadMnist(fs.map((f) => new File([f.text], f.name)));
      const el = document.getElementById("error")!;
      return el.hidden ? "" : el.textContent;
    }, files);
  const imageCfg = JSON.stringify({
    format: "scoregen-checkpoint",
    version: 1,
    step: 1,
    config: {
      model: {
        arch: { kind: "scorenet" },
        dataShape: [1, 28, 28],
        parameterization: "eps",
        condition: "time",
        dtype: "float32",
      },
      sde: "vp",
    },
  });
  assert.match(
    await load([
      { name: "model.safetensors", text: "\u0010\u0000\u0000\u0000garbage" },
      { name: "config.json", text: imageCfg },
    ]),
    /loading the model: model\.safetensors is not a readable safetensors file/,
  );
  const pointsCfg = imageCfg.replace("[1,28,28]", "[2]");
  assert.match(
    await load([
      { name: "model.safetensors", text: "x" },
      { name: "config.json", text: pointsCfg },
    ]),
    /this model is for data of shape \[2\], not images/,
  );
  assert.match(await load([{ name: "config.json", text: "{" }]), /choose both files of a run folder/);
  assert.match(
    await load([
      { name: "model.safetensors", text: "x" },
      { name: "config.json", text: "{" },
    ]),
    /config\.json is not valid JSON/,
  );
  // Asking for WebGPU where the browser has no adapter names why and what runs instead.
  const p2 = await browser.newPage();
  await p2.goto(`${url}?webgpu`);
  const r2 = await p2.evaluate(() => (window as unknown as PageWindow).playground.ready);
  assert.match(r2.backend, /^ort-web\/wasm\//);
  assert.match(
    (await p2.textContent("#error")) ?? "",
    /WebGPU unavailable: WebGPU has no adapter in this browser.*running on WebAssembly instead/,
  );
  assert.equal(await p2.isChecked("#useWebgpu"), true);
  await p2.close();
  assert.deepEqual(pageErrors, []);
});

test("MNIST tab: a run folder samples a digit grid with a progress bar; inpainting (with reconstruction guidance) keeps the known pixels exactly; class and guidance", {
  skip,
}, async () => {
  // A small ScoreNet run folder with initial weights: the test is about loading and sampling, not quality.
  const spec = scoreNetSpec({ channels: [4, 8, 8, 8], embed: 16 });
  const ps = E.ParamScope.create(spec.dtype);
  traceNetwork(spec, ps, E.input("x", [1, 1, 28, 28]), E.input("c", [1]));
  const run = join(dir, "run");
  await saveCheckpoint(run, {
    params: ps.init(new Rng(0)),
    config: { model: spec, sde: "vp", objective: "dsm", batch: 8, seed: 0 },
  });
  await page.click("nav button[data-tab=tabmnist]");
  await page.evaluate(() => {
    document.getElementById("error")!.hidden = true; // the previous test left an error on show
  });
  const [newest] = await listCheckpoints(run); // a run folder: checkpoints/step-*.safetensors + config.json
  await page.setInputFiles("#files", [newest!.path, join(run, "config.json")]);
  await page.waitForFunction(
    () =>
      !(document.getElementById("mSample") as HTMLButtonElement).disabled || !document.getElementById("error")?.hidden,
  );
  assert.equal(await page.isHidden("#error"), true, (await page.textContent("#error")) ?? "");
  assert.match((await page.textContent("#mInfo")) ?? "", /scorenet, data \[1,28,28\], vp SDE/);
  await page.fill("#mN", "4");
  await page.fill("#mSteps", "3");
  await page.selectOption("#mSampler", "em");
  await page.click("#mSample");
  await page.waitForFunction(
    () =>
      /samples in/.test(document.getElementById("mInfo")?.textContent ?? "") ||
      !document.getElementById("error")?.hidden,
  );
  assert.equal(await page.isHidden("#error"), true, (await page.textContent("#error")) ?? "");
  const bar = await page.evaluate(() => {
    const p = document.getElementById("mProgress") as HTMLProgressElement;
    return [p.value, p.max];
  });
  assert.deepEqual(bar, [3, 3]);
  const grid = await page.evaluate(() => {
    const c = document.getElementById("mGrid") as HTMLCanvasElement;
    return [c.width, c.height];
  });
  assert.deepEqual(grid, [56, 56]); // 2×2 digits of 28×28
  assert.equal(await page.isDisabled("#mCfg"), true, "no guidance weight for an unconditional model");

  // Inpainting: pick the first sampled digit, keep its top half, paint more unknown pixels with the mouse.
  await page.click("#mGrid", { position: { x: 10, y: 10 } });
  await page.selectOption("#maskPreset", "top-half");
  await page.selectOption("#brush", "unknown");
  await page.click("#mInput", { position: { x: 5 * 8 + 4, y: 5 * 8 + 4 } }); // pixel (row 5, col 5) of 28 at 8×
  const before = await page.evaluate(() => (window as unknown as PageWindow).playground.inpaintInput());
  const known = (i: number, j: number) => before.known[i * 28 + j];
  assert.deepEqual([known(4, 4), known(5, 5), known(6, 6), known(5, 8), known(20, 5)], [0, 0, 0, 1, 0]);
  assert.ok(new Set(before.y).size > 10, "the input is the picked sample, not a blank image");
  await page.fill("#mK", "2");
  await page.fill("#mRecon", "2"); // with reconstruction guidance (a score VJP in the page)
  const out = await page.evaluate(async () => {
    const r = await (window as unknown as PageWindow).playground.inpaint();
    const c = document.getElementById("mInpaintOut") as HTMLCanvasElement;
    return r && { x: Array.from(r.x), y: Array.from(r.y), known: Array.from(r.known), size: [c.width, c.height] };
  });
  assert.equal(await page.isHidden("#error"), true, (await page.textContent("#error")) ?? "");
  assert.ok(out);
  assert.deepEqual(out.size, [3 * 28, 28], "the input and 2 completions side by side");
  let changed = 0;
  for (let r = 0; r < 2; r++)
    for (let i = 0; i < 784; i++) {
      const v: number = out.x[r * 784 + i]!;
      if (out.known[i]) assert.equal(v, out.y[i], `completion ${r}: known pixel ${i} is kept exactly`);
      else if (v !== out.y[i]) changed++;
    }
  assert.ok(
    changed > 700,
    `the unknown pixels are generated (${changed} of 2×${784 - out.known.filter(Boolean).length})`,
  );

  // A class-conditional model trained with label dropout: class and guidance weight, checked in the page.
  const cspec = scoreNetSpec({ channels: [4, 8, 8, 8], embed: 16 }, { classes: 10, labelDropout: 0.1 });
  const cps = E.ParamScope.create(cspec.dtype);
  traceNetwork(cspec, cps, E.input("x", [1, 1, 28, 28]), E.input("c", [1]), E.input("y", [1], "int64"));
  const crun = join(dir, "crun");
  await saveCheckpoint(crun, {
    params: cps.init(new Rng(1)),
    config: { model: cspec, sde: "vp", objective: "dsm", batch: 8, seed: 0 },
  });
  const [cnewest] = await listCheckpoints(crun);
  await page.setInputFiles("#files", [cnewest!.path, join(crun, "config.json")]);
  await page.waitForFunction(() => /10 classes/.test(document.getElementById("mInfo")?.textContent ?? ""));
  assert.match((await page.textContent("#mInfo")) ?? "", /classifier-free guidance/);
  assert.deepEqual([await page.isDisabled("#mClass"), await page.isDisabled("#mCfg")], [false, false]);
  await page.fill("#mN", "1");
  await page.fill("#mSteps", "2");
  await page.fill("#mClass", "12");
  await page.click("#mSample");
  await page.waitForSelector("#error:not([hidden])");
  assert.match((await page.textContent("#error")) ?? "", /class 12 is out of range: the model knows classes 0 to 9/);
  await page.fill("#mClass", "3");
  await page.fill("#mCfg", "2");
  await page.evaluate(() => (window as unknown as PageWindow).playground.sampleMnist());
  assert.equal(await page.isHidden("#error"), true, (await page.textContent("#error")) ?? "");
  assert.match((await page.textContent("#mInfo")) ?? "", /1 samples in/);
  await page.click("nav button[data-tab=tab2d]");
});

test("drawing points: clicks on the data panel add points at the clicked data coordinates", { skip }, async () => {
  await page.selectOption("#dataset", "draw");
  const box = (await page.locator("#dataPlot").boundingBox())!;
  // The panel's plot area spans pixels 52..328 × 26..260 for data [−4, 4]² (src/viz/svg.ts margins).
  const at = (x: number, y: number) =>
    page.mouse.click(box.x + 52 + ((x + 4) / 8) * 276, box.y + 26 + ((4 - y) / 8) * 234);
  await at(2, 2);
  await at(-2, -1);
  assert.match((await page.textContent("#dataPlot")) ?? "", /drawn data \(2 points\)/);
  const circles = await page.$$eval("#dataPlot circle", (cs) =>
    cs.map((c) => [Number(c.getAttribute("cx")), Number(c.getAttribute("cy"))]),
  );
  assert.equal(circles.length, 2);
  // Back to data coordinates: within a pixel of where we clicked.
  const data = circles.map(([cx, cy]) => [((cx! - 52) / 276) * 8 - 4, 4 - ((cy! - 26) / 234) * 8]);
  for (const [i, [x, y]] of [
    [2, 2],
    [-2, -1],
  ].entries()) {
    assert.ok(Math.abs(data[i]![0]! - x!) < 0.05 && Math.abs(data[i]![1]! - y!) < 0.05, `point ${i}: ${data[i]}`);
  }
  await page.click("#clearDrawn");
  assert.match((await page.textContent("#dataPlot")) ?? "", /drawn data \(0 points\)/);
  await page.selectOption("#dataset", "8gaussians");
});

test("WebGPU (opt-in): a ScoreNet forward + VJP matches WASM, and float32 training matches Node", {
  skip,
}, async () => {
  // Chromium with WebGPU exposed; without a GPU its adapter is SwiftShader (software), so few steps.
  const gpuBrowser = await launchChromium({ webgpu: true });
  try {
    const p = await gpuBrowser.newPage();
    const errors: string[] = [];
    p.on("pageerror", (e) => errors.push(e.message));
    await p.goto(`${url}?webgpu`);
    const r = await p.evaluate(() => (window as unknown as PageWindow).playground.ready);
    assert.match(r.backend, /^ort-web\/webgpu\+wasm\//, `backend: ${JSON.stringify(r)}`);
    const note = (await p.textContent("#gpuNote")) ?? "";
    const m = /max relative difference (\S+)\)/.exec(note);
    assert.ok(m && Number(m[1]) <= 1e-2, `self-check note: ${note}`);
    const s: Lab2DSettings = { ...LAB2D_DEFAULTS, dtype: "float32", batch: 64, hidden: 32, layers: 2, seed: 5 };
    const inPage = await p.evaluate(
      ({ s }) =>
        (
          (window as unknown as PageWindow).playground.trainWith as (
            s: Lab2DSettings,
            d: { name: string },
            n: number,
          ) => Promise<{ losses: number[] }>
        )(s, { name: "8gaussians" }, 4).then((r) => r.losses),
      { s },
    );
    const inNode = (await train(lab2dConfig(s), unlabeled(2, TOY2D["8gaussians"].sample), { steps: 4 })).losses;
    assert.equal(inPage.length, 4);
    for (let i = 0; i < 4; i++)
      assert.ok(
        Math.abs(inPage[i]! - inNode[i]!) <= 1e-4 * Math.abs(inNode[i]!),
        `step ${i + 1}: WebGPU page ${inPage[i]} vs node ${inNode[i]}`,
      );
    assert.deepEqual(errors, []);
  } finally {
    await gpuBrowser.close();
  }
});
