/** scoregen public API (platform-neutral; use "scoregen/node" in Node to install the ORT backend). */
export * as engine from "./engine/index.ts";
export { Rng } from "./rng.ts";
export type { ScoreModel } from "./score.ts";
