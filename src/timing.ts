/**
 * Median wall time in ms of `fn` over `reps` sequential runs after `warm` warm-up runs (as
 * torch_reference.py does). Platform-neutral: used by the benchmarks and by the playground's worker.
 */
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
