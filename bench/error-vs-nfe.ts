/**
 * Error against NFE of the deterministic samplers on a Gaussian mixture with its exact score
 * (src/tasks/convergence.ts): writes docs/error-vs-nfe.png (VP, log–log) and prints, for VE, VP and
 * sub-VP, each method's points and observed order as a Markdown table.
 *   npx tsx bench/error-vs-nfe.ts [--out docs/error-vs-nfe.png] [--sde vp] [--json]
 */
import { parseArgs } from "node:util";
import { writeFileAtomic } from "../src/io/files.ts";
import { sdeByName, SDE_NAMES } from "../src/sde/index.ts";
import { errorVsNfe, observedOrder, type ConvergenceSeries } from "../src/tasks/convergence.ts";
import { linePlot } from "../src/viz/index.ts";
import { THREE_COMPONENTS } from "../test/helpers/mixtures.ts";

const SPEC = THREE_COMPONENTS;

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "docs/error-vs-nfe.png" },
    sde: { type: "string", default: "vp" },
    json: { type: "boolean", default: false },
  },
});
/** The order fitted over the last four points (the asymptotic regime; the first points are pre-asymptotic). */
const tailOrder = (s: ConvergenceSeries) => observedOrder(s.points.slice(-4));
const results: Record<string, Awaited<ReturnType<typeof errorVsNfe>>> = {};
for (const name of SDE_NAMES)
  results[name] = await errorVsNfe(sdeByName(name), { spec: SPEC, n: 64, steps: [5, 10, 20, 40, 80, 160, 320] });
if (values.json) console.log(JSON.stringify(results));
else {
  for (const [name, r] of Object.entries(results)) {
    console.log(
      `\n${name}: reference RK45 rtol = atol = 1e-9, ${r.referenceNfe} nfe; RMS error of x_eps over 64 starts\n`,
    );
    console.log(
      "| method | observed order (last 4 points) | " +
        r.series[0]!.points.map((_, i) => `#${i + 1}`).join(" | ") +
        " |",
    );
    console.log(`| --- | --- | ${r.series[0]!.points.map(() => "---").join(" | ")} |`);
    for (const s of r.series)
      console.log(
        `| ${s.label} | ${tailOrder(s).toFixed(2)} | ${s.points.map((p) => `${p.nfe}: ${p.error.toExponential(1)}`).join(" | ")} |`,
      );
  }
}
const shown = results[String(values.sde)];
if (!shown) throw new Error(`--sde must be one of ${SDE_NAMES.join(", ")} (got ${values.sde})`);
await writeFileAtomic(
  String(values.out),
  linePlot(
    shown.series.map((s) => ({
      label: `${s.label} (slope ${tailOrder(s).toFixed(2)})`,
      x: s.points.map((p) => p.nfe),
      y: s.points.map((p) => p.error),
    })),
    {
      width: 720,
      height: 540,
      logX: true,
      logY: true,
      xLabel: "NFE",
      yLabel: "RMS error",
      title: `PF-ODE error vs NFE, ${String(values.sde).toUpperCase()} SDE, exact mixture score`,
    },
  ),
);
console.log(`\nwrote ${values.out}`);
