/**
 * Would fused kernels of our own in WebAssembly SIMD beat ONNX Runtime's unfused GroupNorm/SiLU
 * chains (issue 12)? Measurement only; nothing here is used by the library:
 *   npx tsx bench/fusion-probe.ts [--rounds 60]
 * 1. One ScoreNet block (time-embedding add, group norm, affine, SiLU) on its shapes: the engine's
 *    program (what the networks run) against bench/fusion-probe.wat's fused kernel on the main thread,
 *    interleaved; the kernel's output is checked against the program's.
 * 2. Nanoseconds per value of the kernel's pieces (statistics, affine, SiLU) in cache (4,096 values)
 *    and out of it (2^20), against ORT's SiLU alone (the x·σ(x) program, which ORT fuses into QuickGelu).
 * 3. The fixed cost of one session.run of a trivial program (what each split of a program would add).
 * Prints medians and fastest tenths (contention only adds time).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import wabtInit from "wabt";
import "../src/node.ts";
import * as E from "../src/engine/index.ts";
import { quantile } from "./timing.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "60" } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 10)
  throw new Error(`fusion-probe: --rounds must be an integer ≥ 10 (got ${values.rounds})`);

type Kernels = Record<"stats" | "affine" | "silu" | "gnSilu", (...a: number[]) => void>;

async function instantiate(memory: WebAssembly.Memory): Promise<Kernels> {
  const wabt = await wabtInit();
  const text = readFileSync(new URL("./fusion-probe.wat", import.meta.url), "utf8");
  const mod = wabt.parseWat("fusion-probe.wat", text, { simd: true });
  mod.validate();
  const bytes = Uint8Array.from(mod.toBinary({}).buffer);
  mod.destroy();
  return new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Kernels;
}

/** Bump allocator over the wasm memory (64-byte aligned regions of float32). */
function arena(memory: WebAssembly.Memory) {
  let next = 64;
  return (n: number) => {
    const at = next;
    next += Math.ceil((n * 4) / 64) * 64;
    if (next > memory.buffer.byteLength) memory.grow(Math.ceil((next - memory.buffer.byteLength) / 65536));
    return { at, view: () => new Float32Array(memory.buffer, at, n) };
  };
}

const fmt = (a: number[]) => `${quantile(a, 0.5).toFixed(3)} (${quantile(a, 0.1).toFixed(3)})`;

/** Times fns interleaved, `rounds` times each (after one warm call), ms per call. */
async function interleaved(fns: (() => unknown)[]): Promise<number[][]> {
  const times = fns.map(() => [] as number[]);
  for (const f of fns) await f();
  for (let r = 0; r < rounds; r++)
    for (const [i, f] of fns.entries()) {
      const t0 = performance.now();
      await f();
      times[i]!.push(performance.now() - t0);
    }
  return times;
}

/** Part 1: one block, [N, C, side, side] with G groups. */
async function block(k: Kernels, alloc: ReturnType<typeof arena>, N: number, C: number, side: number, G: number) {
  const HW = side * side,
    size = N * C * HW;
  const [x, y, e, g, b, tmp] = [size, size, N * C, C, C, 4].map(alloc);
  const fill = (v: Float32Array, f: (i: number) => number) => v.forEach((_, i) => (v[i] = f(i)));
  fill(x!.view(), (i) => Math.sin(i * 0.37) * 2 + 0.3);
  fill(e!.view(), (i) => 0.5 * Math.cos(i));
  fill(g!.view(), (i) => 1 + 0.1 * Math.sin(i));
  fill(b!.view(), (i) => 0.2 * Math.cos(i));
  const xi = E.input("x", [N, C, side, side]),
    ei = E.input("e", [N, C, 1, 1]),
    gi = E.input("g", [C]),
    bi = E.input("b", [C]);
  const prog = await E.compile({
    inputs: [xi, ei, gi, bi],
    outputs: { y: E.silu(E.groupNorm(E.add(xi, ei), G, gi, bi)) },
  });
  const feeds = { x: x!.view().slice(), e: e!.view().slice(), g: g!.view().slice(), b: b!.view().slice() };
  const out = new Float32Array(size);
  const fused = () => k.gnSilu(x!.at, y!.at, e!.at, g!.at, b!.at, 0, N, C, HW, G, tmp!.at);
  const [ort, wasm] = await interleaved([() => prog.run(feeds, { y: out }), fused]);
  const ref = out,
    got = y!.view();
  let err = 0;
  for (let i = 0; i < size; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
  if (!(err < 1e-5))
    throw new Error(
      `fusion-probe: the fused kernel differs from the program by ${err} on [${N}, ${C}, ${side}, ${side}]`,
    );
  console.log(
    `| [${N}, ${C}, ${side}, ${side}], ${G} groups | ${fmt(ort!)} | ${fmt(wasm!)} | ${err.toExponential(1)} |`,
  );
}

/** Part 2: ns per value of each piece, in cache and out of it, and ORT's SiLU alone. */
async function pieces(k: Kernels, alloc: ReturnType<typeof arena>) {
  const big = 1 << 20,
    small = 4096,
    reps = big / small;
  const [x, y, tmp] = [big, big, 4].map(alloc);
  x!.view().forEach((_, i, v) => (v[i] = Math.sin(i)));
  const piece = {
    stats: (n: number, at: number) => k.stats(x!.at + at, n, tmp!.at),
    affine: (n: number, at: number) => k.affine(x!.at + at, y!.at + at, n, 1.1, 0.1),
    silu: (n: number, at: number) => k.silu(x!.at + at, y!.at + at, n, 1.1, 0.1),
  };
  const xi = E.input("x", [big]);
  const prog = await E.compile({ inputs: [xi], outputs: { y: E.silu(xi) } });
  const feed = x!.view().slice(),
    out = new Float32Array(big);
  const fns = Object.values(piece).flatMap((f) => [
    () => {
      for (let r = 0; r < reps; r++) f(small, 0);
    },
    () => f(big, 0),
  ]);
  const times = await interleaved([...fns, () => prog.run({ x: feed }, { y: out })]);
  const ns = (t: number[]) => ((quantile(t, 0.5) * 1e6) / big).toFixed(2);
  for (const [i, name] of Object.keys(piece).entries())
    console.log(`| wasm ${name} | ${ns(times[2 * i]!)} | ${ns(times[2 * i + 1]!)} |`);
  console.log(`| ORT x·σ(x) (QuickGelu), whole program | – | ${ns(times.at(-1)!)} |`);
}

const memory = new WebAssembly.Memory({ initial: 16 });
const kernels = await instantiate(memory);
console.log("| block | engine program ms, median (fastest tenth) | fused wasm kernel, 1 thread | max rel. diff |");
console.log("| --- | ---: | ---: | ---: |");
for (const [N, C, side, G] of [
  [64, 32, 26, 4],
  [64, 32, 26, 32],
  [64, 64, 12, 32],
  [32, 32, 26, 4],
] as const)
  await block(kernels, arena(memory), N, C, side, G);
console.log("\n| piece | ns per value, 4,096 in cache | ns per value, 2^20 |");
console.log("| --- | ---: | ---: |");
await pieces(kernels, arena(memory));
const s = E.input("s", [4]);
const trivial = await E.compile({ inputs: [s], outputs: { y: E.mul(s, 2) } });
const [t] = await interleaved([() => trivial.run({ s: new Float32Array(4) })]);
console.log(`\nsession.run of a trivial program: ${fmt(t!)} ms`);
