/**
 * The playground page: controls, SVG plots and the particle animation. All engine work happens in
 * ./worker.ts; this file only sends requests and draws replies. `window.playground` exposes the
 * same actions the buttons use (the browser test drives the page through it).
 */
import { TOY2D, TOY2D_NAMES } from "../../src/data/toy2d.ts";
import { MASK_NAMES, namedMask } from "../../src/controllable/inpaint.ts";
import { SAMPLER_NAMES } from "../../src/sampling/registry.ts";
import { figure, scoreFieldSvg, type Frame, heatLayer, lineLayer, pointsLayer } from "../../src/viz/svg.ts";
import { LAB2D_DEFAULTS, type Lab2DSettings } from "../../src/web/lab2d.ts";
import { Rng } from "../../src/rng.ts";
import type { Reply, Request } from "./protocol.ts";

type Req = Request extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const val = (id: string) => $<HTMLInputElement>(id).value;
const num = (id: string) => Number(val(id));

const t0Page = performance.now();
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
let nextId = 1;
const pending = new Map<
  number,
  { resolve: (v: unknown) => void; reject: (e: Error) => void; onEvent?: (r: Reply) => void }
>();
worker.onmessage = (ev: MessageEvent<Reply>) => {
  const r = ev.data,
    p = pending.get(r.id);
  if (!p) return;
  if ("event" in r) {
    p.onEvent?.(r);
    return;
  }
  pending.delete(r.id);
  if (r.ok) p.resolve(r.result);
  else p.reject(new Error(r.error));
};
worker.onerror = (e) => showError(`the engine worker failed to start: ${e.message || "see the browser console"}`);

function call<T>(req: Req, onEvent?: (r: Reply) => void): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
    worker.postMessage({ ...req, id });
  });
}

function showError(msg: string | null): void {
  const el = $("error");
  el.hidden = msg === null;
  el.textContent = msg ?? "";
}
/** Run an action; a failure shows one readable line in the page instead of a silent stall. */
async function guard<T>(what: string, f: () => Promise<T>): Promise<T | undefined> {
  showError(null);
  try {
    return await f();
  } catch (e) {
    showError(`${what}: ${(e as Error).message}`);
    return undefined;
  }
}

// ---- 2-D state --------------------------------------------------------------------------------
const drawn: number[] = [];
const losses: number[] = [];
let extent = 4;
const frame = (title: string, xlabel = "x₁", ylabel = "x₂"): Frame => ({
  x: [-extent, extent],
  y: [-extent, extent],
  width: 340,
  height: 300,
  title,
  xlabel,
  ylabel,
});

function settings(): Lab2DSettings {
  return {
    ...LAB2D_DEFAULTS,
    sde: val("sde"),
    loss: val("loss") as Lab2DSettings["loss"],
    batch: num("batch"),
    seed: num("seed"),
    ema: 0.99,
  };
}
function dataSpec(): { name: string } | { points: number[] } {
  return val("dataset") === "draw" ? { points: drawn.slice() } : { name: val("dataset") };
}

function drawData(): void {
  const name = val("dataset");
  $("clearDrawn").hidden = name !== "draw";
  if (name === "draw") {
    extent = 4;
    $("hint").textContent =
      "Click or drag on the data panel to draw points; training resamples them with a little noise.";
    $("dataPlot").innerHTML = figure(
      frame(`drawn data (${drawn.length / 2} points)`),
      pointsLayer(frame(""), drawn, { r: 2.5 }),
      "data",
    );
    $("densityPlot").innerHTML = "";
    return;
  }
  const info = TOY2D[name as keyof typeof TOY2D];
  extent = info.extent;
  $("hint").textContent = info.description;
  const pts = info.sample(1000, new Rng(1));
  $("dataPlot").innerHTML = figure(frame(`data: ${name}`), pointsLayer(frame(""), pts), "data");
  if (info.logDensity) {
    const g = 60,
      v = new Float64Array(g * g);
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++)
        v[i * g + j] = Math.exp(
          info.logDensity(-extent + (2 * extent * (j + 0.5)) / g, extent - (2 * extent * (i + 0.5)) / g),
        );
    $("densityPlot").innerHTML = figure(frame("exact density p₀(x)"), heatLayer(frame(""), v, g), "dens");
  } else $("densityPlot").innerHTML = figure(frame("exact density: not known in closed form"), "", "dens");
}

function drawLoss(): void {
  if (losses.length === 0) {
    $("lossPlot").innerHTML = figure(
      { x: [0, 1], y: [0, 1], width: 340, height: 300, title: "training loss", xlabel: "step", ylabel: "loss" },
      "",
      "loss",
    );
    return;
  }
  const lo = Math.min(...losses),
    hi = Math.max(...losses);
  const pad = 0.05 * (hi - lo || 1);
  const f: Frame = {
    x: [1, Math.max(2, losses.length)],
    y: [lo - pad, hi + pad],
    width: 340,
    height: 300,
    title: "training loss",
    xlabel: "step",
    ylabel: "loss",
  };
  $("lossPlot").innerHTML = figure(
    f,
    lineLayer(
      f,
      losses.map((_, i) => i + 1),
      losses,
    ),
    "loss",
  );
}

async function drawField(): Promise<void> {
  const t = 0.05;
  const r = await call<{ points: Float64Array; score: Float64Array }>({ op: "field", extent, grid: 21, t });
  $("fieldPlot").innerHTML = scoreFieldSvg(r.points, r.score, {
    extent,
    t,
    title: `learned score ∇ₓ log pₜ(x), t = ${t}`,
  });
}

async function train(steps = num("steps")): Promise<{ losses: number[]; step: number } | undefined> {
  return guard("training", async () => {
    $<HTMLButtonElement>("train").disabled = true;
    $<HTMLButtonElement>("stop").disabled = false;
    if (val("dataset") === "draw" && drawn.length < 2) throw new Error("draw some points on the data panel first");
    losses.length = 0;
    let lastField = performance.now();
    try {
      const res = await call<{ losses: number[]; step: number; stopped: boolean }>(
        { op: "train", settings: settings(), data: dataSpec(), steps, every: 10, fresh: true },
        (ev) => {
          if (!("event" in ev) || ev.event !== "loss") return;
          losses.push(ev.loss); // one point per report
          $("status").textContent = `step ${ev.step}, loss ${ev.loss.toFixed(4)}, ${(ev.ms / 10).toFixed(1)} ms/step`;
          drawLoss();
          if (performance.now() - lastField > 1500) {
            lastField = performance.now();
            void drawField().catch(() => undefined);
          }
        },
      );
      losses.length = 0;
      losses.push(...res.losses);
      drawLoss();
      await drawField();
      $<HTMLButtonElement>("sample").disabled = false;
      return res;
    } finally {
      $<HTMLButtonElement>("train").disabled = false;
      $<HTMLButtonElement>("stop").disabled = true;
    }
  });
}

let animation = 0;
let animating = false;
/** Reverse SDE (chosen sampler) and probability-flow ODE side by side, animated from the prior to the data. */
async function sample(
  n = 1000,
  seed = num("seed") + 1,
): Promise<{ sde: Float64Array; ode: Float64Array; ms: number; firstSampleMs: number } | undefined> {
  return guard("sampling", async () => {
    const name = val("sampler"),
      steps = num("sampleSteps");
    const sdeName = name === "ode" ? "em" : name;
    const [a, b] = await Promise.all([
      call<{ x: Float64Array; frames: Float64Array[]; ms: number }>(
        { op: "sample", sampler: sdeName, n, steps, seed, frames: 40 },
        (ev) => {
          if ("event" in ev && ev.event === "progress")
            $("status").textContent = `sampling ${sdeName}: step ${ev.done}/${ev.total ?? "?"}`;
        },
      ),
      call<{ x: Float64Array; frames: Float64Array[]; ms: number }>({
        op: "sample",
        sampler: "ode",
        n,
        steps,
        seed,
        frames: 40,
      }),
    ]);
    const firstSampleMs = performance.now() - t0Page;
    cancelAnimationFrame(animation);
    const nf = Math.max(a.frames.length, b.frames.length);
    let k = 0,
      last = 0;
    const tick = (now: number) => {
      if (now - last > 60) {
        last = now;
        const fa = a.frames[Math.min(k, a.frames.length - 1)]!,
          fb = b.frames[Math.min(k, b.frames.length - 1)]!;
        const f = frame("");
        $("sdePlot").innerHTML = figure(
          { ...f, title: `reverse SDE (${sdeName})` },
          pointsLayer(f, fa, { color: "#d62728" }),
          "sde",
        );
        $("odePlot").innerHTML = figure(
          { ...f, title: "probability-flow ODE" },
          pointsLayer(f, fb, { color: "#2ca02c" }),
          "ode",
        );
        k++;
      }
      if (k < nf) animation = requestAnimationFrame(tick);
      else animating = false;
    };
    animating = true;
    animation = requestAnimationFrame(tick);
    $("status").textContent = `sampled ${n} points: ${sdeName} ${a.ms.toFixed(0)} ms, ode ${b.ms.toFixed(0)} ms`;
    return { sde: a.x, ode: b.x, ms: a.ms, firstSampleMs };
  });
}

async function loglik(x: number, y: number): Promise<number | undefined> {
  return guard("log-likelihood", async () => {
    $("llOut").textContent = `computing log p(${x.toFixed(2)}, ${y.toFixed(2)}) by the probability-flow ODE…`;
    const r = await call<{ logp: number }>({ op: "loglik", x, y });
    const info = TOY2D[val("dataset") as keyof typeof TOY2D];
    const exact = info?.logDensity ? `; exact log p₀ = ${info.logDensity(x, y).toFixed(3)}` : "";
    $("llOut").textContent =
      `log p(${x.toFixed(2)}, ${y.toFixed(2)}) = ${r.logp.toFixed(3)} nats (model, PF-ODE)${exact}`;
    return r.logp;
  });
}

function pixelToData(el: HTMLElement, ev: MouseEvent): [number, number] | undefined {
  const rect = el.getBoundingClientRect(),
    px = ev.clientX - rect.left,
    py = ev.clientY - rect.top;
  const w = 340 - 52 - 12,
    h = 300 - 26 - 40;
  const x = -extent + ((px - 52) / w) * 2 * extent,
    y = extent - ((py - 26) / h) * 2 * extent;
  return Math.abs(x) <= extent && Math.abs(y) <= extent ? [x, y] : undefined;
}

// ---- MNIST -----------------------------------------------------------------------------------
interface MnistInfo {
  shape: number[];
  classes: number;
  guidance: boolean;
  arch: string;
  sde: string;
  range: [number, number];
}
let mnistInfo: MnistInfo | undefined;
/** The last sampled grid, so a click on a digit can copy it into the inpainting input. */
let lastSamples: { x: Float64Array; n: number; cols: number } | undefined;
/** The inpainting input [c·h·w] in the model's pixel range and its mask (1 = known). */
let inputImage: Float64Array = new Float64Array(0);
let inputKnown: Uint8Array = new Uint8Array(0);

async function loadMnist(files: File[]): Promise<unknown> {
  return guard("loading the model", async () => {
    const w = files.find((f) => f.name.endsWith(".safetensors")),
      c = files.find((f) => f.name.endsWith(".json"));
    if (!w || !c)
      throw new Error(
        "choose both files of a run folder: its newest checkpoints/step-N.safetensors (model.safetensors in older runs) and config.json",
      );
    const weights = await w.arrayBuffer();
    const r = await call<MnistInfo>({ op: "mnistLoad", config: await c.text(), weights, name: w.name });
    mnistInfo = r;
    $("mInfo").textContent =
      `${r.arch}, data [${r.shape}], ${r.sde} SDE${r.classes ? `, ${r.classes} classes` : ""}${r.guidance ? ", classifier-free guidance" : ""}`;
    const cls = $<HTMLInputElement>("mClass");
    cls.disabled = !r.classes;
    cls.max = String(Math.max(0, r.classes - 1));
    $<HTMLInputElement>("mCfg").disabled = !r.guidance;
    if (!r.guidance) $<HTMLInputElement>("mCfg").value = "0";
    $<HTMLButtonElement>("mSample").disabled = false;
    $<HTMLButtonElement>("mInpaint").disabled = false;
    const [ch, h, wd] = r.shape as [number, number, number];
    inputImage = new Float64Array(ch * h * wd).fill(r.range[0]);
    inputKnown = new Uint8Array(ch * h * wd).fill(1);
    const cv = $<HTMLCanvasElement>("mInput");
    cv.width = wd;
    cv.height = h;
    drawInput();
    return r;
  });
}

/** Class and guidance weight from the controls, checked against the loaded model. */
function conditioning(): { label?: number; cfg?: number } {
  const info = mnistInfo;
  if (!info?.classes) return {};
  const label = num("mClass"),
    cfg = info.guidance ? num("mCfg") : 0;
  if (!Number.isInteger(label) || label < 0 || label >= info.classes)
    throw new Error(`class ${val("mClass")} is out of range: the model knows classes 0 to ${info.classes - 1}`);
  if (!Number.isFinite(cfg) || cfg < 0) throw new Error(`guidance w must be a number ≥ 0, got ${val("mCfg")}`);
  return { label, ...(cfg > 0 ? { cfg } : {}) };
}

function progressTo(prog: HTMLProgressElement) {
  return (ev: Reply) => {
    if ("event" in ev && ev.event === "progress") {
      prog.max = ev.total ?? 1;
      prog.value = ev.done;
    }
  };
}

async function sampleMnist(): Promise<unknown> {
  return guard("sampling digits", async () => {
    const n = num("mN");
    const r = await call<{ x: Float64Array; shape: number[]; ms: number }>(
      { op: "mnistSample", n, steps: num("mSteps"), seed: num("seed"), sampler: val("mSampler"), ...conditioning() },
      progressTo($<HTMLProgressElement>("mProgress")),
    );
    const cols = Math.ceil(Math.sqrt(n));
    drawImages($<HTMLCanvasElement>("mGrid"), r.x, r.shape, n, cols, 3);
    lastSamples = { x: r.x, n, cols };
    $("mInfo").textContent = `${n} samples in ${(r.ms / 1000).toFixed(1)} s`;
    return r;
  });
}

/** Inpaints the input image: k completions of its unknown (magenta) pixels. */
async function inpaint(): Promise<{ x: Float64Array; y: Float64Array; known: Uint8Array } | undefined> {
  return guard("inpainting", async () => {
    if (!mnistInfo) throw new Error("load a model first: choose a checkpoint (.safetensors) and config.json");
    if (inputKnown.every((v) => v === 1))
      throw new Error("paint the region to generate on the input first (or pick a mask)");
    const k = num("mK");
    if (!Number.isInteger(k) || k < 1 || k > 64) throw new Error(`completions must be 1 to 64, got ${val("mK")}`);
    const reconstruction = num("mRecon");
    if (!(reconstruction >= 0)) throw new Error(`the guidance weight w must be a number ≥ 0, got ${val("mRecon")}`);
    const y = Float64Array.from(inputImage),
      known = Uint8Array.from(inputKnown);
    const r = await call<{ x: Float64Array; shape: number[]; ms: number }>(
      {
        op: "mnistInpaint",
        y,
        known,
        k,
        steps: num("mSteps"),
        seed: num("seed"),
        sampler: val("mSampler"),
        reconstruction,
        ...conditioning(),
      },
      progressTo($<HTMLProgressElement>("mProgress")),
    );
    const masked = y.map((v, i) => (known[i] ? v : Number.NaN));
    const all = new Float64Array(masked.length * (k + 1));
    all.set(masked);
    all.set(r.x, masked.length);
    drawImages($<HTMLCanvasElement>("mInpaintOut"), all, r.shape, k + 1, k + 1, 3);
    $("mInfo").textContent = `${k} completions in ${(r.ms / 1000).toFixed(1)} s (left: the input, unknown in magenta)`;
    return { x: r.x, y, known };
  });
}

/** Draws n images [n·c·h·w] (model range; NaN = magenta) on a canvas, `cols` per row, shown `zoom`× larger. */
function drawImages(
  cv: HTMLCanvasElement,
  x: Float64Array,
  shape: number[],
  n: number,
  cols: number,
  zoom: number,
): void {
  const [c, h, w] = shape as [number, number, number],
    rows = Math.ceil(n / cols);
  const [lo, hi] = mnistInfo?.range ?? [-1, 1];
  cv.width = cols * w;
  cv.height = rows * h;
  cv.style.width = `${cols * w * zoom}px`;
  const ctx = cv.getContext("2d")!,
    img = ctx.createImageData(cols * w, rows * h);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const o = 4 * ((Math.floor(k / cols) * h + i) * cols * w + (k % cols) * w + j);
        for (let ch = 0; ch < 3; ch++) {
          const v = x[k * c * h * w + (c === 3 ? ch : 0) * h * w + i * w + j]!;
          img.data[o + ch] = Number.isNaN(v)
            ? ch === 1
              ? 0
              : 255
            : Math.round(255 * Math.max(0, Math.min(1, (v - lo) / (hi - lo))));
        }
        img.data[o + 3] = 255;
      }
  ctx.putImageData(img, 0, 0);
}

/** The input with its unknown pixels tinted magenta. */
function drawInput(): void {
  if (!mnistInfo) return;
  const [c, h, w] = mnistInfo.shape as [number, number, number],
    [lo, hi] = mnistInfo.range;
  const cv = $<HTMLCanvasElement>("mInput"),
    ctx = cv.getContext("2d")!,
    img = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    const unknown = inputKnown[p] === 0;
    for (let ch = 0; ch < 3; ch++) {
      const u = Math.max(0, Math.min(1, (inputImage[(c === 3 ? ch : 0) * h * w + p]! - lo) / (hi - lo)));
      const tint = ch === 1 ? 0 : 1;
      img.data[4 * p + ch] = Math.round(255 * (unknown ? 0.45 * u + 0.55 * tint : u));
    }
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Applies the brush at a mouse position on the input canvas (a 3×3 patch; ink is softer at the edge). */
function paintAt(ev: MouseEvent): void {
  if (!mnistInfo) return;
  const [c, h, w] = mnistInfo.shape as [number, number, number],
    [lo, hi] = mnistInfo.range;
  const cv = $<HTMLCanvasElement>("mInput"),
    r = cv.getBoundingClientRect();
  const pj = Math.floor(((ev.clientX - r.left) / r.width) * w),
    pi = Math.floor(((ev.clientY - r.top) / r.height) * h);
  const brush = val("brush");
  for (let di = -1; di <= 1; di++)
    for (let dj = -1; dj <= 1; dj++) {
      const i = pi + di,
        j = pj + dj;
      if (i < 0 || j < 0 || i >= h || j >= w) continue;
      const edge = di !== 0 && dj !== 0 ? 0.35 : di !== 0 || dj !== 0 ? 0.7 : 1;
      for (let ch = 0; ch < c; ch++) {
        const q = ch * h * w + i * w + j;
        if (brush === "unknown" || brush === "known") inputKnown[q] = brush === "known" ? 1 : 0;
        else if (brush === "ink") inputImage[q] = Math.max(inputImage[q]!, lo + edge * (hi - lo));
        else inputImage[q] = lo;
      }
    }
  $<HTMLSelectElement>("maskPreset").value = "";
  drawInput();
}

/** Copies digit k of the last sampled grid into the inpainting input. */
function pickSample(k: number): void {
  if (!lastSamples || !mnistInfo || k < 0 || k >= lastSamples.n) return;
  const dim = inputImage.length;
  inputImage = Float64Array.from(lastSamples.x.subarray(k * dim, (k + 1) * dim));
  drawInput();
}

/** Reads a PNG of the model's image size into the input (gray for 1-channel models), as `scoregen inpaint --input`. */
async function loadInputPng(file: File): Promise<void> {
  await guard("reading the input image", async () => {
    if (!mnistInfo) throw new Error("load a model first, then choose the image to inpaint");
    const [c, h, w] = mnistInfo.shape as [number, number, number],
      [lo, hi] = mnistInfo.range;
    let bmp: ImageBitmap;
    try {
      bmp = await createImageBitmap(file);
    } catch {
      throw new Error(`${file.name} is not an image the browser can decode; choose a PNG of ${w}×${h} pixels`);
    }
    if (bmp.width !== w || bmp.height !== h)
      throw new Error(`${file.name} is ${bmp.width}×${bmp.height} but the model needs ${w}×${h} images`);
    const cv = document.createElement("canvas");
    cv.width = w;
    cv.height = h;
    const ctx = cv.getContext("2d")!;
    ctx.drawImage(bmp, 0, 0);
    const px = ctx.getImageData(0, 0, w, h).data;
    for (let p = 0; p < h * w; p++)
      for (let ch = 0; ch < c; ch++) {
        const v = c === 1 ? (px[4 * p]! + px[4 * p + 1]! + px[4 * p + 2]!) / 3 : px[4 * p + ch]!;
        inputImage[ch * h * w + p] = lo + (v / 255) * (hi - lo);
      }
    drawInput();
  });
}

/** Sets the mask from a named preset (as `scoregen inpaint --mask NAME`). */
function applyMaskPreset(name: string): void {
  if (!mnistInfo || !name) return;
  const [c, h, w] = mnistInfo.shape as [number, number, number];
  inputKnown = namedMask(name, c, h, w);
  drawInput();
}

// ---- wiring ----------------------------------------------------------------------------------
function wire(): void {
  const ds = $<HTMLSelectElement>("dataset");
  for (const n of [...TOY2D_NAMES, "draw"]) ds.add(new Option(n === "draw" ? "draw points" : n, n));
  ds.value = "8gaussians";
  const sm = $<HTMLSelectElement>("sampler");
  for (const n of SAMPLER_NAMES) sm.add(new Option(n, n));
  sm.value = "em";
  ds.onchange = drawData;
  $("clearDrawn").onclick = () => {
    drawn.length = 0;
    drawData();
  };
  $("train").onclick = () => void train();
  $("stop").onclick = () => void call({ op: "stop" });
  $("sample").onclick = () => void sample();
  let drawing = false;
  const addPoint = (ev: MouseEvent) => {
    const p = val("dataset") === "draw" ? pixelToData($("dataPlot"), ev) : undefined;
    if (p) {
      drawn.push(...p);
      drawData();
    }
  };
  $("dataPlot").onmousedown = (ev) => {
    drawing = true;
    addPoint(ev);
  };
  $("dataPlot").onmousemove = (ev) => {
    if (drawing) addPoint(ev);
  };
  window.addEventListener("mouseup", () => {
    drawing = false;
  });
  $("odePlot").onclick = (ev) => {
    const p = pixelToData($("odePlot"), ev);
    if (p) void loglik(p[0], p[1]);
  };
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button"))
    b.onclick = () => {
      for (const o of document.querySelectorAll<HTMLButtonElement>("nav button")) {
        o.classList.toggle("active", o === b);
        $(o.dataset.tab!).hidden = o !== b;
      }
    };
  $<HTMLInputElement>("files").onchange = (ev) => void loadMnist([...((ev.target as HTMLInputElement).files ?? [])]);
  const drop = $("drop");
  drop.ondragover = (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  };
  drop.ondragleave = () => drop.classList.remove("over");
  drop.ondrop = (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    void loadMnist([...(ev.dataTransfer?.files ?? [])]);
  };
  $("mSample").onclick = () => void sampleMnist();
  $("mInpaint").onclick = () => void inpaint();
  const presets = $<HTMLSelectElement>("maskPreset");
  for (const m of MASK_NAMES) presets.add(new Option(`keep ${m}`, m));
  presets.onchange = () => applyMaskPreset(presets.value);
  $("clearInput").onclick = () => {
    if (!mnistInfo) return;
    inputImage.fill(mnistInfo.range[0]);
    inputKnown.fill(1);
    presets.value = "";
    drawInput();
  };
  const input = $<HTMLCanvasElement>("mInput");
  let painting = false;
  input.onmousedown = (ev) => {
    painting = true;
    paintAt(ev);
  };
  input.onmousemove = (ev) => {
    if (painting) paintAt(ev);
  };
  window.addEventListener("mouseup", () => {
    painting = false;
  });
  input.ondragover = (ev) => {
    ev.preventDefault();
    input.classList.add("over");
  };
  input.ondragleave = () => input.classList.remove("over");
  input.ondrop = (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    input.classList.remove("over");
    const f = ev.dataTransfer?.files[0];
    if (f) void loadInputPng(f);
  };
  $<HTMLInputElement>("inputFile").onchange = (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void loadInputPng(f);
  };
  $("mGrid").onclick = (ev) => {
    if (!lastSamples || !mnistInfo) return;
    const r = $("mGrid").getBoundingClientRect(),
      rows = Math.ceil(lastSamples.n / lastSamples.cols);
    const col = Math.floor(((ev.clientX - r.left) / r.width) * lastSamples.cols),
      row = Math.floor(((ev.clientY - r.top) / r.height) * rows);
    pickSample(row * lastSamples.cols + col);
  };
  drawData();
  drawLoss();
}

const params = new URLSearchParams(location.search);
const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
const threads = Number(params.get("threads") ?? (isolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1));
wire();
const wantGpu = params.has("webgpu");
($("useWebgpu") as HTMLInputElement).checked = wantGpu;
$("useWebgpu").onchange = () => {
  // ORT's runtime is set up once per worker: switching providers reloads the page with or without ?webgpu.
  const next = new URLSearchParams(location.search);
  if (($("useWebgpu") as HTMLInputElement).checked) next.set("webgpu", "");
  else next.delete("webgpu");
  location.search = next.toString();
};
const ready = call<{ backend: string; isolated: boolean; cores: number; webgpu?: string }>({
  op: "init",
  threads,
  webgpu: wantGpu,
}).then(
  (r) => {
    $("status").textContent =
      `engine ready: ${r.backend}${r.isolated ? " (cross-origin isolated)" : " (not cross-origin isolated: 1 thread)"}`;
    if (r.webgpu && !r.backend.includes("webgpu")) showError(r.webgpu);
    else if (r.webgpu) $("gpuNote").textContent = r.webgpu;
    return r;
  },
  (e: Error) => {
    showError(`starting the engine: ${e.message}`);
    throw e;
  },
);

const playground = {
  ready,
  train,
  sample,
  loglik,
  animating: () => animating,
  loadMnist,
  sampleMnist,
  inpaint,
  /** The inpainting input: values [c·h·w] in the model's range and its mask (1 = known). */
  inpaintInput: () => ({ y: Array.from(inputImage), known: Array.from(inputKnown) }),
  setInpaintInput: (y: number[], known: number[]) => {
    if (y.length !== inputImage.length || known.length !== inputKnown.length)
      throw new Error(`the input needs ${inputImage.length} values and mask entries`);
    inputImage = Float64Array.from(y);
    inputKnown = Uint8Array.from(known);
    drawInput();
  },
  settings,
  mnistShape: () => mnistInfo?.shape,
  normals: (seed: number, n: number) => call<Float64Array>({ op: "normals", seed, n }),
  oracleSample: (sampler: string, n: number, steps: number, seed: number, sde: string) =>
    call<Float64Array>({ op: "oracleSample", sampler, n, steps, seed, sde }),
  trainWith: (s: Lab2DSettings, data: { name: string }, steps: number) =>
    call<{ losses: number[] }>({ op: "train", settings: s, data, steps, every: 1000, fresh: true }),
  benchTrain: (steps: number, batch: number) =>
    call<{ msPerStep: number; backend: string }>({ op: "benchTrain", steps, batch }),
  benchScoreNet: (steps: number, n: number) =>
    call<{ msPerStep: number; backend: string }>({ op: "benchScoreNet", steps, n }),
  set: (id: string, v: string) => {
    $<HTMLInputElement>(id).value = v;
    $<HTMLInputElement>(id).dispatchEvent(new Event("change"));
  },
  pageLoadedAt: t0Page,
};
(window as unknown as { playground: typeof playground }).playground = playground;
