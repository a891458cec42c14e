/**
 * Where a training loop keeps its run: checkpoints and the loss log. The loop (train.ts) only
 * talks to this interface, so it stays free of file systems; the Node implementation is
 * src/io/run-folder.ts (a locked folder of atomic checkpoints), and {@link memoryRunStore} keeps
 * everything in memory (tests, the browser).
 */
import type { ParamTree } from "../engine/init.ts";

/** A tensor stored with a checkpoint besides the parameters (optimizer moments, EMA, step). */
export interface StateTensor {
  shape: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array;
}

/** One checkpoint: committed as a unit (all of it or none of it). */
export interface StoredCheckpoint {
  step: number;
  config: object;
  params: ParamTree;
  extra: Map<string, StateTensor>;
}

/** One line of the loss log. */
export interface LossRow {
  step: number;
  loss: number;
  gradNorm: number;
}

export interface RunStore {
  /** The newest complete checkpoint, or undefined for a fresh run. */
  loadLatest(): Promise<StoredCheckpoint | undefined>;
  /** Commit a checkpoint atomically: a reader sees the previous one or this one, never a mix. */
  save(ck: StoredCheckpoint): Promise<void>;
  /** Start the loss log at `step`: only complete rows with step ≤ `step` are kept (a fresh log at 0). */
  startLossLog(step: number): Promise<void>;
  /** Append rows; on failure the log is left as it was (no torn line). */
  appendLoss(rows: readonly LossRow[]): Promise<void>;
}

/** A run kept in memory: checkpoints (newest `keep`) and loss rows. */
export function memoryRunStore(keep = 2): RunStore & { checkpoints: StoredCheckpoint[]; losses: LossRow[] } {
  const store = {
    checkpoints: [] as StoredCheckpoint[],
    losses: [] as LossRow[],
    async loadLatest() {
      return store.checkpoints.at(-1);
    },
    async save(ck: StoredCheckpoint) {
      store.checkpoints = [...store.checkpoints.filter((c) => c.step !== ck.step), ck].slice(-keep);
    },
    async startLossLog(step: number) {
      store.losses = store.losses.filter((r) => r.step <= step);
    },
    async appendLoss(rows: readonly LossRow[]) {
      store.losses.push(...rows);
    },
  };
  return store;
}
