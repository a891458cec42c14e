/**
 * The playground page: controls, SVG plots and the particle animation. All engine work happens in
 * ./worker.ts; this file only sends requests and draws replies. `window.playground` exposes the
 * same actions the buttons use (the browser test drives the page through it).
 */
import { TOY2D, TOY2D_NAMES } from "../../src/data/toy2d.ts";
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
let mnistShape: number[] | undefined;
async function loadMnist(files: File[]): Promise<unknown> {
  return guard("loading the model", async () => {
    const w = files.find((f) => f.name.endsWith(".safetensors")),
      c = files.find((f) => f.name.endsWith(".json"));
    if (!w || !c)
      throw new Error(
        "choose both files of a run folder: its newest checkpoints/step-N.safetensors (model.safetensors in older runs) and config.json",
      );
    const weights = await w.arrayBuffer();
    const r = await call<{ shape: number[]; classes: number; arch: string; sde: string }>({
      op: "mnistLoad",
      config: await c.text(),
      weights,
      name: w.name,
    });
    mnistShape = r.shape;
    $("mInfo").textContent = `${r.arch}, data [${r.shape}], ${r.sde} SDE${r.classes ? `, ${r.classes} classes` : ""}`;
    $<HTMLInputElement>("mClass").disabled = !r.classes;
    $<HTMLButtonElement>("mSample").disabled = false;
    return r;
  });
}
async function sampleMnist(): Promise<unknown> {
  return guard("sampling digits", async () => {
    const n = num("mN"),
      prog = $<HTMLProgressElement>("mProgress");
    const r = await call<{ x: Float64Array; shape: number[]; ms: number }>(
      { op: "mnistSample", n, steps: num("mSteps"), seed: num("seed"), sampler: val("mSampler"), label: num("mClass") },
      (ev) => {
        if ("event" in ev && ev.event === "progress") {
          prog.max = ev.total ?? 1;
          prog.value = ev.done;
        }
      },
    );
    drawGrid(r.x, r.shape, n);
    $("mInfo").textContent = `${n} samples in ${(r.ms / 1000).toFixed(1)} s`;
    return r;
  });
}
function drawGrid(x: Float64Array, shape: number[], n: number): void {
  const [c, h, w] = shape as [number, number, number],
    cols = Math.ceil(Math.sqrt(n)),
    rows = Math.ceil(n / cols);
  const cv = $<HTMLCanvasElement>("mGrid");
  cv.width = cols * w;
  cv.height = rows * h;
  cv.style.width = `${cols * w * 3}px`;
  const ctx = cv.getContext("2d")!,
    img = ctx.createImageData(cols * w, rows * h);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const o = 4 * ((Math.floor(k / cols) * h + i) * cols * w + (k % cols) * w + j);
        for (let ch = 0; ch < 3; ch++) {
          const v = x[k * c * h * w + (c === 3 ? ch : 0) * h * w + i * w + j]!;
          img.data[o + ch] = Math.round(255 * Math.max(0, Math.min(1, (v + 1) / 2)));
        }
        img.data[o + 3] = 255;
      }
  ctx.putImageData(img, 0, 0);
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
  drawData();
  drawLoss();
}

const params = new URLSearchParams(location.search);
const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
const threads = Number(params.get("threads") ?? (isolated ? Math.min(navigator.hardwareConcurrency || 1, 8) : 1));
wire();
const ready = call<{ backend: string; isolated: boolean; cores: number; webgpu: string }>({ op: "init", threads }).then(
  (r) => {
    $("status").textContent =
      `engine ready: ${r.backend}${r.isolated ? " (cross-origin isolated)" : " (not cross-origin isolated: 1 thread)"}`;
    if (params.has("webgpu")) showError(`WebGPU was requested (?webgpu): ${r.webgpu}; running on WebAssembly instead`);
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
  settings,
  mnistShape: () => mnistShape,
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
