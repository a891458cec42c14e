/**
 * A real headless Chromium for tests: the binary shipped inside the npm package @sparticuz/chromium
 * (unpacked to /tmp on first use, no network), driven by playwright-core.
 */
import chromium from "@sparticuz/chromium";
import { type Browser, chromium as pw } from "playwright-core";

export async function launchChromium(): Promise<Browser> {
  const executablePath = await chromium.executablePath();
  // The package's Lambda defaults turn off web security and site isolation, which also withholds
  // cross-origin isolation (no SharedArrayBuffer, so no WASM threads); --single-process is dropped too.
  const drop = new Set(["--single-process", "--disable-web-security", "--disable-site-isolation-trials", "--disable-features=AudioServiceOutOfProcess,IsolateOrigins,site-per-process"]);
  const args = chromium.args.filter((a) => !drop.has(a) && !a.startsWith("--headless"));
  return pw.launch({ executablePath, args, headless: true });
}
