import { describe, expect, it } from 'vitest';
import { ack } from './consumer.js';
import { retryInHandler, type TryAgain } from './handler-retry.js';

const quick = { initialMs: 1, maxMs: 2, jitter: 0 };
const again = (reason: string, maxWaitMs?: number): TryAgain => ({ kind: 'again', reason, ...(maxWaitMs !== undefined ? { maxWaitMs } : {}) });

describe('handler retry - a failure retried in place, the message kept', () => {
  it('handler retry - tries again after each failure, keeping the message in hand, until an outcome', async () => {
    let working = 0;
    const failures: Array<{ reason: string; attempt: number }> = [];
    const recovered: number[] = [];
    let n = 0;
    const outcome = await retryInHandler(
      { working: () => void (working += 1) },
      { backoff: quick, signal: new AbortController().signal, onFailure: (f) => failures.push({ reason: f.reason, attempt: f.attempt }), onRecovered: (k) => recovered.push(k) },
      async () => (++n < 3 ? again(`down ${n}`) : ack),
    );
    expect(outcome).toEqual(ack);
    expect(failures).toEqual([
      { reason: 'down 1', attempt: 1 },
      { reason: 'down 2', attempt: 2 },
    ]);
    expect(working).toBe(2);
    expect(recovered).toEqual([2]);
  });

  it('handler retry - an outcome at once is returned as it is, nothing said', async () => {
    const recovered: number[] = [];
    const reject = { kind: 'reject' as const, reason: 'bad' };
    expect(await retryInHandler({ working: () => undefined }, { backoff: quick, signal: new AbortController().signal, onRecovered: (k) => recovered.push(k) }, async () => reject)).toBe(reject);
    expect(recovered).toEqual([]);
  });

  it('handler retry - a stop ends the wait and hands the message back for redelivery', async () => {
    const stop = new AbortController();
    // Stopped once the minute's wait has begun (it would outlast the test's timeout).
    const outcome = await retryInHandler(
      { working: () => undefined },
      { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 }, signal: stop.signal, onFailure: () => setImmediate(() => stop.abort()) },
      async () => again('away'),
    );
    expect(outcome).toEqual({ kind: 'retry', delayMs: 1000, reason: 'away' });
    // Already stopping: no wait at all.
    expect(await retryInHandler({ working: () => undefined }, { backoff: quick, signal: stop.signal }, async () => again('still away'))).toEqual({ kind: 'retry', delayMs: 1000, reason: 'still away' });
  });

  it('handler retry - a wait never goes past what the attempt allows (a deadline)', async () => {
    const waits: number[] = [];
    let n = 0;
    await retryInHandler(
      { working: () => undefined },
      { backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 }, signal: new AbortController().signal, onFailure: (f) => waits.push(f.retryInMs) },
      async () => (++n < 3 ? again('away', n === 1 ? 5 : -10) : ack),
    );
    expect(waits).toEqual([5, 0]);
  });
});
