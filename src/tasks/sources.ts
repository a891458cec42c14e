/**
 * Where scores and data come from, by the strings a user types:
 *   score:  a training-run folder (checkpoint + config), or "oracle:SPEC.json" (exact Gaussian mixture)
 *   data:   a built-in 2-D dataset name, or a .csv / .json file of points
 */
import { readFile } from "node:fs/promises";
import { readPointsFile } from "../data/points.ts";
import { TOY2D_NAMES, toy2d } from "../data/toy2d.ts";
import { EngineNetwork } from "../models/network.ts";
import { MixtureOracle, parseMixtureSpec } from "../oracle/index.ts";
import type { Rng } from "../rng.ts";
import type { ScoreModel } from "../score.ts";
import { type Sde, asScoreModel, sdeByName } from "../sde/index.ts";
import { type TrainConfig, type TrainData, loadRun } from "./train.ts";

export interface ScoreSource {
  model: ScoreModel;
  sde: Sde;
  /** What it is, for reports: "oracle:…" or the run folder and its step. */
  label: string;
  /** The oracle, when the source is one (exact log-density and data samples). */
  oracle?: MixtureOracle;
  /** The run's training config, when the source is a checkpoint. */
  run?: TrainConfig;
}

/** Opens `oracle:SPEC.json` (with `sdeName`, default vp) or a run folder (its own SDE; `sdeName` must agree). */
export async function openScoreSource(source: string, sdeName?: string, opts: { ema?: boolean } = {}): Promise<ScoreSource> {
  if (source.startsWith("oracle:")) {
    const path = source.slice("oracle:".length);
    const text = await readFile(path, "utf8").catch((e: Error) => { throw new Error(`cannot read oracle spec ${path}: ${e.message}`); });
    let json: unknown;
    try { json = JSON.parse(text); } catch (e) { throw new Error(`${path} is not valid JSON (${(e as Error).message}); expected {"weights":[…],"means":[[…]],"stds":[[…]]}`); }
    const sde = sdeByName(sdeName ?? "vp");
    const oracle = new MixtureOracle(parseMixtureSpec(json), sde);
    return { model: oracle, sde, label: source, oracle };
  }
  const { cfg, params, step } = await loadRun(source, opts.ema ?? true);
  if (sdeName && sdeName !== cfg.sde) throw new Error(`the model in ${source} was trained with the ${cfg.sde} SDE; drop --sde or pass --sde ${cfg.sde}`);
  const sde = sdeByName(cfg.sde);
  const model = asScoreModel(new EngineNetwork(cfg.model, params, sde), sde, cfg.model.parameterization);
  return { model, sde, label: `${source} (step ${step})`, run: cfg };
}

/** A built-in 2-D dataset by name, or points from a .csv/.json file (rows drawn with replacement). */
export async function openTrainData(spec: string): Promise<TrainData & { describe: string; points?: Float64Array; extent?: number }> {
  if ((TOY2D_NAMES as readonly string[]).includes(spec)) {
    const info = toy2d(spec);
    return { dim: 2, sample: info.sample, describe: info.description, extent: info.extent };
  }
  if (!/\.(csv|json)$/i.test(spec)) throw new Error(`unknown data '${spec}': use a built-in dataset (${TOY2D_NAMES.join(", ")}) or a .csv/.json file of points`);
  const p = await readPointsFile(spec);
  const sample = (n: number, rng: Rng) => {
    const out = new Float64Array(n * p.dim);
    for (let i = 0; i < n; i++) { const r = rng.int(p.n); out.set(p.data.subarray(r * p.dim, (r + 1) * p.dim), i * p.dim); }
    return out;
  };
  return { dim: p.dim, sample, describe: `${p.n} points of dimension ${p.dim} from ${spec}`, points: p.data };
}
