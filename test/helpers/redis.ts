/**
 * A real redis-server for tests: started on a free loopback port with no persistence in a temp
 * folder, stopped after. `findRedisServer()` says why the Redis tests are skipped when there is none.
 * Also: scoregen CLI child processes with bounded lifetimes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, createConnection } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");

/** Path of redis-server on PATH (or /usr/bin, /usr/sbin), else undefined. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin", "/usr/local/bin"];
  for (const d of dirs) {
    const p = join(d, "redis-server");
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** True when something answers PING with PONG on the port. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(500, () => done(false));
    c.once("error", () => done(false));
    c.once("connect", () => c.write("PING\r\n"));
    c.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

export interface RedisServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts redis-server on `port` or a free loopback port (no RDB/AOF, temp folder); resolves once it answers PING. */
export async function startRedis(bin: string, port?: number): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "scoregen-redis-"));
  port ??= await freePort();
  const proc = spawn(
    bin,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--daemonize",
      "no",
    ],
    { stdio: "ignore" },
  );
  const deadline = Date.now() + 10000;
  while (!(await ping(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    proc,
    stop: () => stopProcess(proc).then(() => rm(dir, { recursive: true, force: true })),
  };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export function stopProcess(proc: ChildProcess, graceMs = 3000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
    proc.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

/** A scoregen child process whose output is collected; `waitFor` resolves when stdout matches. */
export interface Child {
  proc: ChildProcess;
  out(): string;
  /** Resolves when stdout from character `from` on matches `re`. */
  waitFor(re: RegExp, from?: number, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Spawns `scoregen ARGS` with extra environment variables (killed after `limitMs` so no test can hang). */
export function scoregen(args: string[], limitMs = 180000, env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, SCOREGEN_DEBUG: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "",
    stderr = "";
  const listeners = new Set<() => void>();
  proc.stdout!.on("data", (d) => {
    stdout += d;
    for (const l of listeners) l();
  });
  proc.stderr!.on("data", (d) => {
    stderr += d;
  });
  const killer = setTimeout(() => proc.kill("SIGKILL"), limitMs);
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    proc.once("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    proc,
    out: () => stdout,
    exited,
    waitFor(re, from = 0, timeoutMs = 90000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = stdout.slice(from).match(re);
          if (m) {
            listeners.delete(check);
            clearTimeout(t);
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${re} in: ${stdout}${stderr}`));
        }, timeoutMs);
        listeners.add(check);
        proc.once("close", () => {
          if (listeners.has(check)) {
            listeners.delete(check);
            clearTimeout(t);
            reject(new Error(`process exited before ${re}: ${stdout}${stderr}`));
          }
        });
        check();
      });
    },
  };
}
