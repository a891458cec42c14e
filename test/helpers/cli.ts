/** Runs the scoregen CLI from the TypeScript sources, as a user would, and reports how it ended. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
/** src/cli/main.ts, the CLI's entry. */
export const CLI_MAIN = join(import.meta.dirname, "..", "..", "src", "cli", "main.ts");

/** The exit code (0 on success), stdout and stderr of `scoregen ...args` (SCOREGEN_DEBUG off). */
export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ["--import", "tsx", CLI_MAIN, ...args], {
      env: { ...process.env, SCOREGEN_DEBUG: "" },
    });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
