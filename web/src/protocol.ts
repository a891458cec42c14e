/** Messages between the page and its engine worker: requests carry an id; replies and events echo it. */
export type Request =
  | { id: number; op: "init"; threads: number /** Try WebGPU for float32 programs. */; webgpu: boolean }
  | { id: number; op: "normals"; seed: number; n: number }
  | {
      id: number;
      op: "train";
      settings: import("../../src/web/lab2d.ts").Lab2DSettings;
      data: { name: string } | { points: number[] };
      steps: number;
      every: number;
      fresh: boolean;
    }
  | { id: number; op: "stop" }
  | { id: number; op: "field"; extent: number; grid: number; t: number }
  | { id: number; op: "sample"; sampler: string; n: number; steps: number; seed: number; frames: number }
  | { id: number; op: "oracleSample"; sampler: string; n: number; steps: number; seed: number; sde: string }
  | { id: number; op: "loglik"; x: number; y: number }
  | { id: number; op: "benchTrain"; steps: number; batch: number }
  | { id: number; op: "mnistLoad"; config: string; weights: ArrayBuffer; name: string }
  | {
      id: number;
      op: "mnistSample";
      n: number;
      steps: number;
      seed: number;
      sampler: string;
      label?: number;
      cfg?: number;
    }
  | {
      id: number;
      op: "mnistInpaint";
      /** The image to complete [c·h·w] in the model's pixel range (unknown entries are ignored). */
      y: Float64Array;
      /** 1 = known entry, 0 = to be generated [c·h·w]. */
      known: Uint8Array;
      k: number;
      steps: number;
      seed: number;
      sampler: string;
      /** Reconstruction-guidance weight (0 or absent: the replacement method alone). */
      reconstruction?: number;
      label?: number;
      cfg?: number;
    }
  | { id: number; op: "benchScoreNet"; steps: number; n: number };

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { id: number; event: "loss"; step: number; loss: number; ms: number }
  | { id: number; event: "progress"; done: number; total: number | undefined };
