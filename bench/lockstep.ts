/**
 * Lockstep comparison with PyTorch (`npm run bench -- --vs-torch --lockstep [--pairs P]`): scoregen
 * and a PyTorch server (bench/torch_twins.py --serve, same thread count, same weights) take turns
 * one step at a time, ABBA order, so each pair of timings sees the same state of a shared machine
 * (on the 2-vCPU development VM the same step swings by up to 2× within a minute, far more than
 * between whole-workload rounds). Per step it reports each side's median and the median and
 * quartiles of the per-pair ratios scoregen / PyTorch.
 *
 * The end-to-end ScoreNet runs (mnist_em, mnist_bpd) take turns at every network evaluation instead:
 * both sides run the whole command, each hands the other the turn before each evaluation
 * (beforeEachEvaluation here, Gate in torch_twins.py), and each counts only its own active time. Before handing over, each
 * side waits until its own threads have stopped spinning (quiesce), untimed.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { createInterface } from "node:readline";
import { beforeEachEvaluation } from "../src/score.ts";
import { quantile } from "./timing.ts";
import type { ModelWrap, Step } from "./workloads.ts";

/** The steps that both sides can run one at a time: scoregen workload → its metrics. */
export const LOCKSTEP_STEPS: Record<string, readonly string[]> = {
  scorenet: ["train", "sample", "div"],
  mlp_train: ["train"],
};
/** End-to-end workloads whose runs take turns at every network evaluation. */
export const LOCKSTEP_RUNS = ["mnist_em", "mnist_bpd"] as const;

export interface LockstepRow {
  step: string;
  pairs: number;
  scoregenMs: number;
  torchMs: number;
  /** Quartiles of the per-pair ratios scoregen / PyTorch: [q1, median, q3]. */
  ratio: [number, number, number];
}

/** How to start the PyTorch server: `python args…` with `env` (bench/torch_twins.py --serve …). */
export interface TorchServerSpec {
  python: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** A running `torch_twins.py --serve`: `time(step)` runs one step there and gives its ms. */
export class TorchServer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }

  static async start({ python, args, env }: TorchServerSpec): Promise<TorchServer> {
    const proc = spawn(python, args, { env, stdio: ["pipe", "pipe", "inherit"] });
    // A server that died shows as an early end of its output (next()); writes to it just fail.
    proc.stdin.on("error", () => {});
    const s = new TorchServer(proc);
    const first = await s.next();
    if (first !== "ready") throw new Error(`--lockstep: the PyTorch server said '${first}' instead of 'ready'`);
    return s;
  }

  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error("--lockstep: the PyTorch server exited early (its error is printed above)");
    return r.value.trim();
  }

  /** Sends one line and returns the server's one-line reply. */
  async request(line: string): Promise<string> {
    this.proc.stdin.write(`${line}\n`);
    return this.next();
  }

  async time(step: string): Promise<number> {
    const reply = await this.request(step);
    const ms = Number(reply);
    if (!Number.isFinite(ms)) throw new Error(`--lockstep: PyTorch server: ${reply}`);
    return ms;
  }

  close(): void {
    this.proc.stdin.end("quit\n");
  }
}

/** Starts the server, runs `body` with it and tells it to quit however `body` ends. */
export async function withTorchServer<T>(spec: TorchServerSpec, body: (torch: TorchServer) => Promise<T>): Promise<T> {
  const torch = await TorchServer.start(spec);
  try {
    return await body(torch);
  } finally {
    torch.close();
  }
}

/**
 * Waits (up to 300 ms) until this process uses under 1 ms of CPU in a 10 ms window: ORT's intra-op
 * threads spin for ~30 ms after a run, which would otherwise eat into PyTorch's turn (the server
 * waits the same way for its OpenMP threads). Node's CPU clock moves in ~4 ms ticks here, hence
 * the long window.
 */
async function quiesce(): Promise<void> {
  const end = performance.now() + 300;
  while (performance.now() < end) {
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 10));
    const c = process.cpuUsage(c0);
    if ((c.user + c.system) / 1000 < 1) return;
  }
}

async function timed(fn: Step): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Runs `pairs` ABBA-ordered pairs of each named step after `warm` warm-up runs on each side.
 * `steps` maps "workload.metric" to scoregen's step function; the server runs its twin.
 */
export async function runLockstep(
  steps: Record<string, Step>,
  torch: TorchServer,
  pairs: number,
  warm = 3,
  log: (line: string) => void = () => {},
): Promise<LockstepRow[]> {
  const rows: LockstepRow[] = [];
  for (const [name, fn] of Object.entries(steps)) {
    for (let i = 0; i < warm; i++) {
      await fn();
      await torch.time(name);
    }
    const ours: number[] = [],
      theirs: number[] = [];
    for (let i = 0; i < pairs; i++) {
      if (i % 2 === 0) {
        ours.push(await timed(fn));
        await quiesce();
        theirs.push(await torch.time(name));
      } else {
        theirs.push(await torch.time(name));
        ours.push(await timed(fn));
        await quiesce();
      }
    }
    const ratios = ours.map((v, i) => v / theirs[i]!);
    const row: LockstepRow = {
      step: name,
      pairs,
      scoregenMs: quantile(ours, 0.5),
      torchMs: quantile(theirs, 0.5),
      ratio: [quantile(ratios, 0.25), quantile(ratios, 0.5), quantile(ratios, 0.75)],
    };
    log(`  lockstep ${name}: ${JSON.stringify(row)}`);
    rows.push(row);
  }
  return rows;
}

/**
 * The turn between scoregen and a gated PyTorch run: `pass()` (before each of scoregen's network
 * evaluations) stops scoregen's clock, lets PyTorch run up to its next evaluation (or its end) and
 * restarts the clock; `finish()` lets PyTorch run to its end. Times are each side's active ms.
 */
class Turns {
  private activeMs = 0;
  private resumed = performance.now();
  private torchMs: number | undefined;
  constructor(private readonly torch: TorchServer) {}

  async pass(): Promise<void> {
    if (this.torchMs !== undefined) return;
    this.activeMs += performance.now() - this.resumed;
    await quiesce();
    const reply = await this.torch.request("go");
    if (reply.startsWith("done ")) this.torchMs = Number(reply.slice(5));
    else if (reply !== "yield") throw new Error(`--lockstep: PyTorch server: ${reply}`);
    this.resumed = performance.now();
  }

  async finish(): Promise<{ scoregenMs: number; torchMs: number }> {
    const scoregenMs = this.activeMs + performance.now() - this.resumed;
    while (this.torchMs === undefined) await this.pass();
    return { scoregenMs, torchMs: this.torchMs };
  }
}

export interface LockstepRunRow {
  run: string;
  /** Each side's active ms per timed run (after `warm` untimed runs). */
  scoregenMs: number[];
  torchMs: number[];
}

/**
 * Runs each end-to-end workload `warm` + `reps` times, both sides taking turns at every network
 * evaluation. `setup(name, wrap)` gives scoregen's run with its model wrapped.
 */
export async function runLockstepEnd2End(
  names: readonly string[],
  setup: (name: string, wrap: ModelWrap) => Promise<Step>,
  torch: TorchServer,
  reps: number,
  warm: (name: string) => number,
  log: (line: string) => void = () => {},
): Promise<LockstepRunRow[]> {
  const rows: LockstepRunRow[] = [];
  for (const name of names) {
    let turns: Turns | undefined;
    const run = await setup(name, (m) => beforeEachEvaluation(m, () => turns!.pass()));
    const row: LockstepRunRow = { run: name, scoregenMs: [], torchMs: [] };
    for (let i = 0; i < warm(name) + reps; i++) {
      const ready = await torch.request(`run ${name}`);
      if (ready !== "ready") throw new Error(`--lockstep: PyTorch server: ${ready}`);
      turns = new Turns(torch);
      await run();
      const r = await turns.finish();
      log(`  lockstep ${name} run ${i + 1}${i < warm(name) ? " (warm-up)" : ""}: ${JSON.stringify(r)}`);
      if (i < warm(name)) continue;
      row.scoregenMs.push(r.scoregenMs);
      row.torchMs.push(r.torchMs);
    }
    rows.push(row);
  }
  return rows;
}
