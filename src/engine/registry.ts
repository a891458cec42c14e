/**
 * Per-op vector–Jacobian product rules. A rule maps the output cotangent g (shape of the node)
 * to cotangents of the inputs, built from ordinary traced ops, so gradients are differentiable
 * again (needed by sliced score matching and Hutchinson divergences inside a training loss).
 * `needs[i]` says whether input i's cotangent is wanted (skip the work when it is not).
 */
import type { Tensor } from "./tensor.ts";

export type VjpRule = (node: Tensor, g: Tensor, needs: readonly boolean[]) => (Tensor | undefined)[];

const rules = new Map<string, VjpRule>();
/** Ops that are piecewise constant or discrete: their inputs get no gradient. */
const nonDifferentiable = new Set<string>([
  "input",
  "const",
  "less",
  "greater",
  "equal",
  "lessEq",
  "greaterEq",
  "sign",
  "stopGradient",
  "cast_int",
  "not",
  "and",
]);

export function defineVjp(op: string, rule: VjpRule): void {
  rules.set(op, rule);
}
export function vjpRule(op: string): VjpRule | undefined {
  return rules.get(op);
}
export function isNonDifferentiable(op: string): boolean {
  return nonDifferentiable.has(op);
}
