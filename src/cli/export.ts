/** `scoregen export`: a run's score network (optionally with one sampler step) as a standalone ONNX model. */
import type { Command } from "commander";
import { writeFileAtomic } from "../io/files.ts";
import { sdeByName } from "../sde/index.ts";
import { exportScoreModel } from "../tasks/export.ts";
import { loadRun } from "../tasks/train-node.ts";
import { UsageError, numberOpt } from "./errors.ts";

interface ExportFlags {
  score: string;
  out: string;
  batch: string;
  samplerStep?: boolean;
  ema: boolean;
  json?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description(
      "write a training run's score network as a standalone ONNX model (inputs x [B,…D], t [B]; output score [B,…D]) for any ONNX runtime or server; see README",
    )
    .requiredOption("--score <dir>", "a training-run folder")
    .requiredOption("--out <file.onnx>", "the ONNX model to write")
    .option("--batch <n>", "rows per call (the batch dimension is static)", "1")
    .option(
      "--sampler-step",
      "also export one Euler–Maruyama step of the reverse SDE (inputs dt, z; outputs x_mean, x_next)",
    )
    .option("--no-ema", "export the raw parameters instead of their EMA")
    .option("--json", "print a JSON summary of the inputs and outputs")
    .action(async (f: ExportFlags) => runExport(f));
}

async function runExport(f: ExportFlags): Promise<void> {
  if (!f.out.toLowerCase().endsWith(".onnx")) throw new UsageError(`--out must end in .onnx, got '${f.out}'`);
  if (f.score.startsWith("oracle:"))
    throw new UsageError("--score must be a training-run folder; an oracle has no network to export");
  const batch = numberOpt("--batch", f.batch, { int: true, min: 1 })!;
  const { cfg, params, step } = await loadRun(f.score, f.ema).catch((e: Error) => {
    throw /checkpoint folder not found/.test(e.message)
      ? new UsageError(`no training run at ${f.score}: pass a folder written by \`scoregen train --out DIR\``)
      : e;
  });
  const spec = cfg.model,
    D = spec.dataShape,
    ft = spec.dtype;
  const bytes = exportScoreModel(spec, params, sdeByName(cfg.sde), { batch, samplerStep: f.samplerStep ?? false });
  await writeFileAtomic(f.out, bytes);
  const row = `[${[batch, ...D].join(", ")}]`;
  const io = {
    inputs: [
      `x ${ft} ${row}`,
      `t ${ft} [${batch}]`,
      ...(spec.classes ? [`y int64 [${batch}]`] : []),
      ...(f.samplerStep ? [`dt ${ft} [${batch}]`, `z ${ft} ${row}`] : []),
    ],
    outputs: [`score ${ft} ${row}`, ...(f.samplerStep ? [`x_mean ${ft} ${row}`, `x_next ${ft} ${row}`] : [])],
  };
  if (f.json) console.log(JSON.stringify({ out: f.out, bytes: bytes.length, step, sde: cfg.sde, ...io }));
  else
    console.log(
      `wrote ${f.out} (${bytes.length} bytes; ${f.score} at step ${step}, ${cfg.sde} SDE)\n  inputs:  ${io.inputs.join(", ")}\n  outputs: ${io.outputs.join(", ")}`,
    );
}
