/** The engine: trace → ONNX → autodiff → compiled programs. */
export * from "./tensor.ts";
export * from "./ops.ts";
export * from "./conv.ts";
export * from "./functional.ts";
export { vjp, grad } from "./autodiff.ts";
export { toOnnx, type ProgramSpec, OPSET } from "./lower.ts";
export {
  compile,
  Program,
  setBackend,
  getBackend,
  clearProgramCache,
  type Backend,
  type BackendSession,
  type RunResult,
} from "./runtime.ts";
export { ParamScope, paramFeed, type Init, type ParamSpec } from "./params.ts";
export { Trainer, type OptimizerConfig, type StateLayout } from "./optim.ts";
export * as init from "./init.ts";
export type { Param, ParamArray, ParamDtype, ParamTree } from "./init.ts";
