import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, isAbortError, retry, sleep } from './backoff.js';

const HOUR = 3_600_000;

describe('backoff - delays', () => {
  it('grows by the factor from the initial delay and stops at the cap', () => {
    const p = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 50, 10_000].map((n) => backoffDelay(n, p))).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
  });

  it('takes at most the jitter fraction off, never more, and never goes over the cap', () => {
    const p = { initialMs: 1000, maxMs: 8000, factor: 2, jitter: 0.25 };
    for (const attempt of [0, 1, 2, 3, 4, 20]) {
      const base = Math.min(8000, 1000 * 2 ** attempt);
      expect(backoffDelay(attempt, p, () => 0)).toBe(base);
      // random() is below 1: the smallest delay lies just above base × 0.75.
      expect(backoffDelay(attempt, p, () => 0.999999)).toBe(Math.round(base * (1 - 0.25 * 0.999999)));
      expect(backoffDelay(attempt, p, () => 0.5)).toBe(Math.round(base * 0.875));
    }
  });

  it('stays finite and within the cap for absurd attempt counts and a zero initial delay', () => {
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, { maxMs: 5000, jitter: 0 })).toBe(5000);
    expect(backoffDelay(3, { initialMs: 0, jitter: 0 })).toBe(0);
    expect(backoffDelay(-4, { initialMs: 300, jitter: 0 })).toBe(300);
  });

  it('Backoff counts failures and starts over after reset', () => {
    const b = new Backoff({ initialMs: 10, maxMs: 40, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.attempts]).toEqual([10, 20, 40, 40, 4]);
    b.reset();
    expect([b.attempts, b.next()]).toEqual([0, 10]);
  });
});

describe('backoff - retry', () => {
  it('retries failures until the work succeeds, reporting each retry with its delay', async () => {
    const seen: Array<[number, number]> = [];
    let calls = 0;
    const value = await retry(
      async (attempt) => {
        calls += 1;
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'done';
      },
      { backoff: { initialMs: 1, maxMs: 3, jitter: 0 }, onRetry: ({ attempt, delayMs }) => seen.push([attempt, delayMs]) },
    );
    expect(value).toBe('done');
    expect(calls).toBe(4);
    expect(seen).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('throws a failure that is not retryable at once', async () => {
    let calls = 0;
    const permanent = new Error('permanent');
    await expect(
      retry(
        async () => {
          calls += 1;
          throw permanent;
        },
        { retryable: (err) => err !== permanent, backoff: { initialMs: HOUR } },
      ),
    ).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });

  it('gives up after maxAttempts with the last failure', async () => {
    let calls = 0;
    await expect(
      retry(
        async (attempt) => {
          calls += 1;
          throw new Error(`attempt ${attempt}`);
        },
        { maxAttempts: 3, backoff: { initialMs: 1, maxMs: 1 } },
      ),
    ).rejects.toThrow('attempt 2');
    expect(calls).toBe(3);
  });

  it('an abort ends a backoff wait at once (an hour long here) with an AbortError', async () => {
    const stop = new AbortController();
    let calls = 0;
    const running = retry(
      async () => {
        calls += 1;
        throw new Error('not yet');
      },
      { signal: stop.signal, backoff: { initialMs: HOUR, maxMs: HOUR }, onRetry: () => queueMicrotask(() => stop.abort()) },
    );
    const err = await running.catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(calls).toBe(1);
  });

  it('an abort ends an attempt that never settles (a connect hanging) and starts no other', async () => {
    const stop = new AbortController();
    let calls = 0;
    const running = retry(
      () => {
        calls += 1;
        return new Promise<never>(() => undefined);
      },
      { signal: stop.signal },
    );
    setImmediate(() => stop.abort());
    const err = await running.catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(calls).toBe(1);
  });

  it('does not start when already aborted, and sleep refuses an aborted signal', async () => {
    const stop = new AbortController();
    stop.abort();
    let calls = 0;
    const err = await retry(async () => (calls += 1), { signal: stop.signal }).catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(calls).toBe(0);
    expect(isAbortError(await sleep(HOUR, stop.signal).catch((e: unknown) => e))).toBe(true);
  });
});
