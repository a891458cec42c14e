export { medianMs } from "../src/timing.ts";

export const round = (v: number) => Math.round(v * 100) / 100;
