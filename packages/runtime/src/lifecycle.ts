import type { Logger } from './logger.js';

/**
 * Runs a process's main: `start` returns the function that stops what it
 * started, in reverse order. The first SIGTERM/SIGINT stops gracefully; a
 * second one, or the timeout, forces the exit (graphile-worker's shape).
 * Signals are handled from the start: one that arrives while `start` is
 * still waiting (for NATS, JetStream or a database) aborts its signal, so
 * that its waits end at once and it stops what it had started; the process
 * then exits 0. A failed start is thrown to the caller.
 */
export async function runUntilSignal(opts: {
  log: Logger;
  timeoutSec: number;
  start: (signal: AbortSignal) => Promise<() => Promise<void>>;
}): Promise<void> {
  const { log } = opts;
  const stopping = onStopSignals({
    first: (signal) => log.info({ signal }, 'stopping'),
    forced: (signal) => log.warn({ signal }, 'second signal: exiting now'),
  });
  const timedOut = () => log.error({ timeoutSec: opts.timeoutSec }, 'graceful stop timed out: exiting');

  const abort = new AbortController();
  const starting = opts.start(abort.signal);
  const first = await Promise.race([
    starting.then(
      () => ({ kind: 'started' as const }),
      (err: unknown) => ({ kind: 'failed' as const, err }),
    ),
    stopping.requested.then(() => ({ kind: 'signal' as const })),
  ]);
  if (first.kind === 'failed') throw first.err;
  if (first.kind === 'signal') {
    abort.abort();
    forceExitAfter(opts.timeoutSec * 1000, timedOut);
    // Whatever start had brought up is stopped by start itself; one that
    // completed at this very moment is stopped here.
    const stop = await starting.catch(() => null);
    if (stop) await stop().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    log.info('stopped before start-up completed');
    process.exit(0);
  }
  const stop = await starting;
  await stopping.requested;
  const timer = forceExitAfter(opts.timeoutSec * 1000, timedOut);
  try {
    await stop();
    log.info('stopped');
  } catch (err) {
    log.error({ err }, 'error while stopping');
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
  }
  // Everything was stopped in order; a handle some library still holds
  // (a reconnect timer, a socket) must not keep a stopped service alive.
  process.exit();
}

/** A stop asked for by a signal (or by the program itself), see onStopSignals. */
export interface StopRequest {
  /** Resolves with the first signal's name, or the reason given to request(). */
  readonly requested: Promise<string>;
  /** Asks for the stop without a signal (a duration ran out); it still takes two signals to force the exit. */
  request(reason: string): void;
  /** Stops listening for the signals. */
  dispose(): void;
}

/**
 * The stop signals of a process's main: the first one asks for a graceful
 * stop (`requested` resolves); a second one means the graceful stop takes
 * too long for whoever sent it, so `forced` runs (synchronously: say so,
 * restore a terminal) and the process exits with `exitCode` (default 1).
 */
export function onStopSignals(opts: {
  signals?: readonly NodeJS.Signals[];
  first?: (signal: NodeJS.Signals) => void;
  forced: (signal: NodeJS.Signals) => void;
  exitCode?: number;
}): StopRequest {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  let resolve: (why: string) => void = () => undefined;
  const requested = new Promise<string>((r) => {
    resolve = r;
  });
  let asked = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (asked) {
      opts.forced(signal);
      process.exit(opts.exitCode ?? 1);
    }
    asked = true;
    opts.first?.(signal);
    resolve(signal);
  };
  for (const s of signals) process.on(s, onSignal);
  return {
    requested,
    request: (reason) => resolve(reason),
    dispose: () => {
      for (const s of signals) process.removeListener(s, onSignal);
    },
  };
}

/** The graceful stop's deadline: past `ms`, `onTimeout` runs and the process exits `exitCode`. Unref'd: it never keeps the process alive. */
export function forceExitAfter(ms: number, onTimeout: () => void, exitCode = 1): NodeJS.Timeout {
  const timer = setTimeout(() => {
    onTimeout();
    process.exit(exitCode);
  }, ms);
  timer.unref();
  return timer;
}

/** Stops components in order, running every stop even when one fails. */
export async function stopAll(log: Logger, steps: Array<[string, () => Promise<unknown> | unknown]>): Promise<void> {
  for (const [what, fn] of steps) {
    try {
      await fn();
    } catch (err) {
      log.error({ err, what }, 'stop step failed');
    }
  }
}
