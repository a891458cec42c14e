/**
 * Compiles a WebAssembly module embedded as base64 (the `*.wasm.ts` files written by
 * `npm run build:wasm`). Platform-neutral: WebAssembly and atob are JavaScript globals. Returns
 * null where WebAssembly is missing or rejects the module (e.g. an engine without SIMD), so callers
 * fall back to their JavaScript twin.
 */
export function compileEmbeddedWasm(base64: string): WebAssembly.Module | null {
  try {
    if (typeof WebAssembly !== "object") return null;
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    return WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  } catch {
    return null;
  }
}
