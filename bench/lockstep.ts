/**
 * Lockstep comparison with PyTorch (`npm run bench -- --vs-torch --lockstep [--pairs P]`): scoregen
 * and a PyTorch server (bench/torch_twins.py --serve, same thread count, same weights) take turns
 * one step at a time, ABBA order, so each pair of timings sees the same state of a shared machine
 * (on the 2-vCPU development VM the same step swings by up to 2× within a minute, far more than
 * between whole-workload rounds). Per step it reports each side's median and the median and
 * quartiles of the per-pair ratios scoregen / PyTorch.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { createInterface } from "node:readline";
import type { Step } from "./workloads.ts";

/** The steps that both sides can run one at a time: scoregen workload → its metrics. */
export const LOCKSTEP_STEPS: Record<string, readonly string[]> = {
  scorenet: ["train", "sample", "div"],
  mlp_train: ["train"],
};

export interface LockstepRow {
  step: string;
  pairs: number;
  scoregenMs: number;
  torchMs: number;
  /** Quartiles of the per-pair ratios scoregen / PyTorch: [q1, median, q3]. */
  ratio: [number, number, number];
}

const quantile = (a: readonly number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  const i = q * (s.length - 1),
    lo = Math.floor(i);
  return s[lo]! + (s[Math.ceil(i)]! - s[lo]!) * (i - lo);
};

/** A running `torch_twins.py --serve`: `time(step)` runs one step there and gives its ms. */
class TorchServer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }

  static async start(python: string, args: string[], env: NodeJS.ProcessEnv): Promise<TorchServer> {
    const proc = spawn(python, args, { env, stdio: ["pipe", "pipe", "inherit"] });
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

  async time(step: string): Promise<number> {
    this.proc.stdin.write(`${step}\n`);
    const reply = await this.next();
    const ms = Number(reply);
    if (!Number.isFinite(ms)) throw new Error(`--lockstep: PyTorch server: ${reply}`);
    return ms;
  }

  close(): void {
    this.proc.stdin.end("quit\n");
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
  server: { python: string; args: string[]; env: NodeJS.ProcessEnv },
  pairs: number,
  warm = 3,
  log: (line: string) => void = () => {},
): Promise<LockstepRow[]> {
  const torch = await TorchServer.start(server.python, server.args, server.env);
  try {
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
          theirs.push(await torch.time(name));
        } else {
          theirs.push(await torch.time(name));
          ours.push(await timed(fn));
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
  } finally {
    torch.close();
  }
}
