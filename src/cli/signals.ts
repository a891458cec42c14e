/**
 * Graceful stops for long commands: the first SIGINT, SIGTERM or SIGHUP asks the work to stop
 * (it saves and returns), and the command then exits with 128 + the signal's number (130, 143,
 * 129), so scripts can tell an interrupted run from a finished one. A second signal exits at once;
 * that is safe because every file is replaced by an atomic rename (a half-written temporary is
 * removed by the next run).
 */
import { constants } from "node:os";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof SIGNALS)[number];

/** 128 + the signal number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP. */
export const exitCodeOf = (s: StopSignal): number => 128 + constants.signals[s];

export interface SignalStop {
  /** Aborted at the first signal. */
  readonly signal: AbortSignal;
  /** The signal received, if any. */
  received(): StopSignal | undefined;
  /** Remove the handlers. */
  dispose(): void;
}

/**
 * Install the handlers. `onHardExit` runs (synchronously) before a second signal exits the process,
 * e.g. to release a lock; `log` reports what happens (default: stderr).
 */
export function stopOnSignals(o: { onHardExit?: () => void; log?: (line: string) => void } = {}): SignalStop {
  const controller = new AbortController();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  let first: StopSignal | undefined;
  const handler = (s: StopSignal) => {
    if (!first) {
      first = s;
      log(`scoregen: ${s} received: saving a checkpoint and stopping (send it again to quit at once)`);
      controller.abort(s);
      return;
    }
    log(`scoregen: ${s} received again: quitting now; the last saved checkpoint is kept`);
    try {
      o.onHardExit?.();
    } finally {
      process.exit(exitCodeOf(first));
    }
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
