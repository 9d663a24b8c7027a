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
  let signalled: (sig: NodeJS.Signals) => void = () => undefined;
  const firstSignal = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  let count = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'stopping');
    signalled(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const abort = new AbortController();
  const starting = opts.start(abort.signal);
  const first = await Promise.race([
    starting.then(
      () => ({ kind: 'started' as const }),
      (err: unknown) => ({ kind: 'failed' as const, err }),
    ),
    firstSignal.then(() => ({ kind: 'signal' as const })),
  ]);
  if (first.kind === 'failed') throw first.err;
  if (first.kind === 'signal') {
    abort.abort();
    forceExitAfter(log, opts.timeoutSec);
    // Whatever start had brought up is stopped by start itself; one that
    // completed at this very moment is stopped here.
    const stop = await starting.catch(() => null);
    if (stop) await stop().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    log.info('stopped before start-up completed');
    process.exit(0);
  }
  const stop = await starting;
  await firstSignal;
  const timer = forceExitAfter(log, opts.timeoutSec);
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

/** The graceful stop's deadline: past it, the process exits 1. */
function forceExitAfter(log: Logger, timeoutSec: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    log.error({ timeoutSec }, 'graceful stop timed out: exiting');
    process.exit(1);
  }, timeoutSec * 1000);
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
