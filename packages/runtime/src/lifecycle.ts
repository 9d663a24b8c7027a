import type { Logger } from './logger.js';

/**
 * Runs a process's main: `start` returns the function that stops what it
 * started, in reverse order. The first SIGTERM/SIGINT stops gracefully; a
 * second one, or the timeout, forces the exit (graphile-worker's shape).
 * Signals are handled from the start: one that arrives while `start` is
 * still connecting stops the process as soon as `start` returns.
 */
export async function runUntilSignal(opts: {
  log: Logger;
  timeoutSec: number;
  start: () => Promise<() => Promise<void>>;
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

  const starting = opts.start();
  const first = await Promise.race([starting.then(() => null), firstSignal]);
  if (first !== null) {
    // Still connecting (NATS or a database not there yet): nothing to drain.
    log.info('stopped before start-up completed');
    process.exit(0);
  }
  const stop = await starting;
  await firstSignal;
  const timer = setTimeout(() => {
    log.error({ timeoutSec: opts.timeoutSec }, 'graceful stop timed out: exiting');
    process.exit(1);
  }, opts.timeoutSec * 1000);
  timer.unref();
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
