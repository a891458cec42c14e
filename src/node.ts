/** Node entry: installs the onnxruntime-node backend and re-exports the library. */
import { nodeBackend } from "./engine/backend-node.ts";
import { setBackend } from "./engine/runtime.ts";

setBackend(nodeBackend());
export * from "./index.ts";
export { nodeBackend } from "./engine/backend-node.ts";
