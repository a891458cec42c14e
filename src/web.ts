/**
 * scoregen for browsers: the platform-neutral API plus the onnxruntime-web (WASM) backend.
 * `installWebBackend()` sets it as the backend `compile` uses (the browser counterpart of
 * importing "scoregen/node").
 */
import { setBackend } from "./engine/runtime.ts";
import { type WebBackendOptions, webBackend } from "./web/backend-web.ts";

export * from "./index.ts";
export {
  webBackend,
  defaultWebThreads,
  isCrossOriginIsolated,
  webgpuStatus,
  checkWebGpu,
  type WebBackendOptions,
  type WebDevice,
} from "./web/backend-web.ts";

/** Create the WASM backend and make it the default for `compile`; returns it. */
export function installWebBackend(opts: WebBackendOptions = {}) {
  const b = webBackend(opts);
  setBackend(b);
  return b;
}
