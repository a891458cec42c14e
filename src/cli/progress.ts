/** Progress bars on stderr (only on a terminal, so logs and CI stay clean). */
import cliProgress from "cli-progress";

export interface Progress {
  update(value: number, info?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar for `total` units; `fields` are extra values shown after the bar (e.g. loss). */
export function progressBar(label: string, total: number, fields: string[] = []): Progress {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const extra = fields.map((f) => ` ${f} {${f}}`).join("");
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% ETA {eta_formatted}${extra}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, Object.fromEntries(fields.map((f) => [f, ""])));
  return { update: (v, info) => bar.update(v, info), stop: () => bar.stop() };
}
