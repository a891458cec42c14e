/**
 * Reverse-mode automatic differentiation over traced programs. `vjp(outputs, seeds, wrt)` walks
 * the DAG backwards from the outputs, applying each op's VJP rule (registry.ts) only on nodes
 * that lie between `wrt` and the outputs, and returns one cotangent node per `wrt`. The result is
 * ordinary traced nodes, so a program may contain a gradient and be differentiated again.
 */
import "./ops.ts";
import "./conv.ts";
import { add, expand } from "./ops.ts";
import { isNonDifferentiable, vjpRule } from "./registry.ts";
import { Tensor, TraceError, fmtShape, isFloat, scalar, topoSort } from "./tensor.ts";

/** Nodes on some path from a `wrt` node to an output. */
function relevantNodes(order: readonly Tensor[], wrt: readonly Tensor[]): Set<number> {
  const fromWrt = new Set(wrt.map((t) => t.id));
  for (const t of order) if (t.inputs.some((i) => fromWrt.has(i.id)) && !isNonDifferentiable(t.op)) fromWrt.add(t.id);
  return fromWrt;
}

/**
 * Vector–Jacobian product: Σ_k seeds[k]ᵀ ∂outputs[k]/∂wrt for each wrt node.
 * seeds[k] must have outputs[k]'s shape. Unreached wrt nodes get zeros.
 */
export function vjp(outputs: readonly Tensor[], seeds: readonly Tensor[], wrt: readonly Tensor[]): Tensor[] {
  if (outputs.length !== seeds.length)
    throw new TraceError("vjp", `${outputs.length} outputs but ${seeds.length} seeds`);
  outputs.forEach((o, k) => {
    const s = seeds[k]!;
    if (s.rank !== o.rank || s.shape.some((d, i) => d !== o.shape[i]))
      throw new TraceError("vjp", `seed ${fmtShape(s.shape)} does not match output ${fmtShape(o.shape)}`);
  });
  for (const w of wrt)
    if (!isFloat(w.dtype)) throw new TraceError("vjp", `cannot differentiate with respect to ${w.dtype} tensor ${w}`);
  const order = topoSort(outputs);
  const relevant = relevantNodes(order, wrt);
  const cot = new Map<number, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = cot.get(t.id);
    cot.set(t.id, prev ? add(prev, g) : g);
  };
  outputs.forEach((o, k) => {
    if (relevant.has(o.id)) accumulate(o, seeds[k]!);
  });
  const wrtIds = new Set(wrt.map((w) => w.id));
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const g = cot.get(node.id);
    if (!g || node.inputs.length === 0) continue;
    if (!wrtIds.has(node.id)) cot.delete(node.id); // free memory of finished intermediates
    const needs = node.inputs.map((t) => relevant.has(t.id));
    if (!needs.some(Boolean)) continue;
    const rule = vjpRule(node.op);
    if (!rule) throw new TraceError("vjp", `no gradient rule for op '${node.op}'`);
    const gs = rule(node, g, needs);
    node.inputs.forEach((t, j) => {
      const gj = gs[j];
      if (needs[j] && gj) accumulate(t, gj);
    });
  }
  return wrt.map((w) => cot.get(w.id) ?? expand(scalar(0, w.dtype), w.shape));
}

/** Gradient of a scalar (or summed) output with respect to each wrt node. */
export function grad(y: Tensor, wrt: readonly Tensor[]): Tensor[] {
  const seed = expand(scalar(1, y.dtype), y.shape);
  return vjp([y], [seed], wrt);
}

export { Tensor };
