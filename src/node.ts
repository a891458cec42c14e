/** Node entry: installs the onnxruntime-node backend and re-exports the library plus file-system tasks. */
import { nodeBackend } from "./engine/backend-node.ts";
import { setBackend } from "./engine/runtime.ts";

setBackend(nodeBackend());
export * from "./index.ts";
export { nodeBackend } from "./engine/backend-node.ts";
export { loadRun, trainToFolder } from "./tasks/train-node.ts";
export { openRunFolder } from "./io/run-folder.ts";
export { openScoreSource, openTrainData } from "./tasks/sources.ts";
export { sampleByName } from "./tasks/sample.ts";
export { saveCheckpoint, loadCheckpoint } from "./io/checkpoint.ts";
export * as viz from "./viz/index.ts";
