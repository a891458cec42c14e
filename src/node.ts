/** Node entry: installs the onnxruntime-node backend and re-exports the library plus file-system tasks. */
import { nodeBackend } from "./engine/backend-node.ts";
import { setBackend } from "./engine/runtime.ts";

setBackend(nodeBackend());
export * from "./index.ts";
export { nodeBackend } from "./engine/backend-node.ts";
export { train, loadRun, type TrainConfig, type TrainData } from "./tasks/train.ts";
export { openScoreSource, openTrainData } from "./tasks/sources.ts";
export { sampleByName } from "./tasks/sample.ts";
export { saveCheckpoint, loadCheckpoint } from "./io/params.ts";
export * as viz from "./viz/index.ts";
