/**
 * Browser entry ("scoregen/web"): the platform-neutral library. It installs no runtime backend yet:
 * until the onnxruntime-web backend is added here, call `engine.setBackend` with a Backend of your
 * own before compiling programs.
 */
export * from "./index.ts";
