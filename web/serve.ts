/**
 * Serves a built playground on 127.0.0.1 with the headers multi-threaded WASM needs: COOP
 * `same-origin` + COEP `require-corp` (cross-origin isolation, so SharedArrayBuffer exists) and
 * `application/wasm` for .wasm. `npx tsx web/serve.ts [--port N] [--no-build] [DIR]`.
 */
import { createServer, type Server } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSite } from "./build.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Start serving `dir`; resolves with the server and its URL once listening (port 0 picks a free port). */
export function serveStatic(dir: string, port = 8080, host = "127.0.0.1"): Promise<{ server: Server; url: string }> {
  const root = resolve(dir);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    const headers = {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
      "Cross-Origin-Resource-Policy": "same-origin",
      "Cache-Control": "no-store",
    };
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403, headers).end("forbidden");
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404, { ...headers, "Content-Type": "text/plain" }).end(`not found: ${path}`);
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const a = server.address();
      ok({ server, url: `http://${host}:${typeof a === "object" && a ? a.port : port}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const pi = args.indexOf("--port");
  const port = pi >= 0 ? Number(args[pi + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer 0–65535, got ${args[pi + 1]}`);
    process.exit(1);
  }
  const dirArg = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--port")[0];
  const dir = dirArg ? resolve(dirArg) : args.includes("--no-build") ? resolve("dist-web") : await buildSite();
  const { url } = await serveStatic(dir, port).catch((e: Error) => {
    console.error(`cannot serve on port ${port}: ${e.message}; pass --port N`);
    process.exit(1);
  });
  console.log(`scoregen playground: ${url} (serving ${dir}; Ctrl-C stops)`);
}
