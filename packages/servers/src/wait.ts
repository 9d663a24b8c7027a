import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** What is awaited, in words: it names the timeout error ("timed out after 10000 ms waiting for <what>"). */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Stops waiting early (e.g. the awaited process exited); the error then carries the abort reason. */
  signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    readonly what: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Polls `predicate` until it returns a truthy value, and returns that value.
 * A predicate that throws counts as "not yet"; the last error is reported
 * with the timeout, as is the last falsy value.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  { what, timeoutMs = 10_000, intervalMs = 100, signal }: WaitOptions,
): Promise<NonNullable<T>> {
  const started = Date.now();
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    if (signal?.aborted) {
      throw new WaitTimeoutError(`gave up waiting for ${what}: ${describe(signal.reason)}`, what, { cause: signal.reason });
    }
    try {
      const value = await predicate();
      if (value) return value;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() - started >= timeoutMs) {
      const last = lastError !== undefined ? `; last error: ${describe(lastError)}` : `; last value: ${JSON.stringify(lastValue)}`;
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, what, { cause: lastError });
    }
    await sleep(intervalMs);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
