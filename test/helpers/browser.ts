/**
 * A real headless Chromium for tests: the binary shipped inside the npm package @sparticuz/chromium
 * (unpacked to /tmp on first use, no network), driven by playwright-core.
 */
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as pw } from "playwright-core";

/**
 * `webgpu`: also expose WebGPU (--enable-unsafe-webgpu); without a GPU, Chromium's adapter is
 * SwiftShader's software Vulkan (correct, but about 100× slower than WASM).
 */
export async function launchChromium(opts: { webgpu?: boolean } = {}): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  // The package's Lambda defaults turn off web security and site isolation, which also withholds
  // cross-origin isolation (no SharedArrayBuffer, so no WASM threads); --single-process is dropped too.
  const drop = new Set([
    "--single-process",
    "--disable-web-security",
    "--disable-site-isolation-trials",
    "--disable-features=AudioServiceOutOfProcess,IsolateOrigins,site-per-process",
  ]);
  const args = chromium.args.filter((a) => !drop.has(a) && !a.startsWith("--headless"));
  return pw.launch({ executablePath, args: opts.webgpu ? [...args, "--enable-unsafe-webgpu"] : args, headless: true });
}

/** The page's `window.playground` (web/src/main.ts), as tests and benchmarks call it inside page.evaluate. */
export interface Playground {
  ready: Promise<{ backend: string; isolated: boolean; cores: number; webgpu?: string }>;
  set(id: string, value: string): void;
  animating(): boolean;
  train(steps: number): Promise<{ losses: number[]; step: number }>;
  sample(n: number, seed: number): Promise<{ sde: Float64Array; ode: Float64Array; ms: number; firstSampleMs: number }>;
  loglik(x: number, y: number): Promise<number>;
  loadMnist(files: File[]): Promise<unknown>;
  sampleMnist(): Promise<unknown>;
  /** Inpaints the page's input: completions x [k·c·h·w], the input y and its mask known (1 = known). */
  inpaint(): Promise<{ x: Float64Array; y: Float64Array; known: Uint8Array } | undefined>;
  inpaintInput(): { y: number[]; known: number[] };
  benchTrain(steps: number, batch: number): Promise<{ msPerStep: number; backend: string }>;
  benchScoreNet(steps: number, n: number): Promise<{ msPerStep: number; backend: string }>;
}
/** `window` in the page: `(window as unknown as PageWindow).playground`. */
export type PageWindow = { playground: Playground & Record<string, unknown> };
