import type { Sde } from "./types.ts";
import { veSde, type VeOptions } from "./ve.ts";
import { subVpSde, vpSde, type VpOptions } from "./vp.ts";

export type SdeName = "ve" | "vp" | "subvp";
export const SDE_NAMES: readonly SdeName[] = ["ve", "vp", "subvp"];

/** Builds an SDE by name (for the CLI): "ve" | "vp" | "subvp", with that SDE's options. */
export function sdeByName(name: string, opts: VeOptions & VpOptions = {}): Sde {
  if (name === "ve") return veSde(opts);
  if (name === "vp") return vpSde(opts);
  if (name === "subvp") return subVpSde(opts);
  throw new Error(`unknown SDE "${name}"; use one of ${SDE_NAMES.join(", ")}`);
}
