/**
 * Divergence watch for a training loss: NaN stops training elsewhere; this catches a loss that
 * stays finite but far above the best it reached, or no lower than the untrained model's first
 * loss (e.g. too large a learning rate bouncing the parameters around). Compares moving averages
 * so that minibatch noise does not trigger it.
 */
export class DivergenceMonitor {
  private readonly buf: number[] = [];
  private sum = 0;
  private best = Infinity;
  private bestStep = 0;
  private above = 0;
  private warned = false;
  private first = NaN;
  private steps = 0;

  /**
   * @param window steps per moving average (and how long the loss must stay high)
   * @param factor "far above": mean > best + (factor − 1)·|best|
   * @param fromScratch the first loss is the untrained model's (false for a resumed run, whose first
   *   loss is a trained model's single noisy batch: then only "far above its best" is checked)
   */
  constructor(
    private readonly window = 50,
    private readonly factor = 2,
    private readonly fromScratch = true,
  ) {}

  /** Feed one loss; returns a warning the first time the average has stayed far above its best for a whole window. */
  push(step: number, loss: number): string | undefined {
    if (this.steps++ === 0) this.first = loss;
    this.buf.push(loss);
    this.sum += loss;
    if (this.buf.length > this.window) this.sum -= this.buf.shift()!;
    if (this.buf.length < this.window) return undefined;
    const mean = this.sum / this.window;
    if (mean < this.best) {
      this.best = mean;
      this.bestStep = step;
    }
    // far above the best average, or (after two windows) no better than the untrained model's first loss
    const aboveBest = mean > this.best + (this.factor - 1) * Math.abs(this.best),
      aboveFirst = this.fromScratch && this.steps > 2 * this.window && mean > this.first;
    const far = aboveBest || aboveFirst;
    this.above = far ? this.above + 1 : 0;
    if (!far) this.warned = false;
    if (this.above < this.window || this.warned) return undefined;
    this.warned = true;
    const why = [
      aboveBest ? `far above its best ${fmt(this.best)} (step ${this.bestStep})` : "",
      aboveFirst ? `no lower than the untrained model's ${fmt(this.first)} (step ${step - this.steps + 1})` : "",
    ]
      .filter(Boolean)
      .join(" and ");
    return `the training loss may be diverging: its average over the last ${this.window} steps is ${fmt(mean)} at step ${step}, ${why}`;
  }
}

const fmt = (x: number) => (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(4));
