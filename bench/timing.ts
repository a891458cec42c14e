/** Median wall time in ms of `fn` over `reps` runs after `warm` warm-up runs (as torch_reference.py). */
export async function medianMs(fn: () => Promise<unknown>, reps: number, warm = 3): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  ts.sort((a, b) => a - b);
  return ts[Math.floor(ts.length / 2)]!;
}

export const round = (v: number) => Math.round(v * 100) / 100;
