import { setTimeout as delay } from 'node:timers/promises';

/**
 * The one retry/backoff helper of every walrus service: exponential delays,
 * capped, with jitter so that processes restarted together do not retry in
 * step, and abortable so that a stop (SIGTERM) never waits for a backoff.
 */
export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** No delay is longer than this. */
  maxMs: number;
  /** Each delay is this many times the one before (until the cap). */
  factor: number;
  /**
   * Fraction of each delay taken off at random (0 = none, 1 = anything from
   * 0 to the full delay): delay = base × (1 − jitter × random).
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, factor: 2, jitter: 0.25 };

/** Beyond this exponent every sensible policy is at its cap; it keeps factor ** n finite. */
const MAX_EXPONENT = 64;

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, policy: Partial<BackoffPolicy> = {}, random: () => number = Math.random): number {
  const p = { ...DEFAULT_BACKOFF, ...policy };
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), MAX_EXPONENT);
  const base = Math.min(p.maxMs, p.initialMs * p.factor ** exponent);
  const jitter = Math.min(1, Math.max(0, p.jitter));
  return Math.max(0, Math.round(base * (1 - jitter * random())));
}

/** A sequence of backoff delays: `next()` for each failure, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly policy: Partial<BackoffPolicy> = {},
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    return backoffDelay(this.attempt++, this.policy, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** True for what an aborted wait throws (node's AbortError, or the DOMException of `signal.reason`). */
export function isAbortError(err: unknown): boolean {
  return (err as { name?: unknown } | null)?.name === 'AbortError';
}

/** Sleeps `ms`; rejects with an AbortError as soon as `signal` aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : undefined);
}

/**
 * Settles with `work`, or rejects as soon as `signal` aborts, whichever comes
 * first: an attempt that ignores the signal (a connect in progress) must not
 * hold a stop back. Whatever `work` does later is left to it.
 */
export function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortReason(signal: AbortSignal): unknown {
  const r: unknown = signal.reason;
  if (isAbortError(r)) return r;
  return Object.assign(new Error('the operation was aborted', { cause: r }), { name: 'AbortError' });
}

export interface RetryOptions {
  /** Stops retrying (and any wait in progress) at once; `retry` then rejects with an AbortError. */
  signal?: AbortSignal;
  backoff?: Partial<BackoffPolicy>;
  /** Whether a failure is worth another attempt; others are thrown at once. Default: every failure. */
  retryable?: (err: unknown) => boolean;
  /** Called for each failure that will be retried, before the wait. */
  onRetry?: (failure: { err: unknown; attempt: number; delayMs: number }) => void;
  /** Attempts in all, the first included; default unlimited. The last failure is thrown. */
  maxAttempts?: number;
  /** For tests: the source of the jitter. */
  random?: () => number;
}

/**
 * Runs `fn` until it resolves, waiting a backoff delay after each retryable
 * failure. `attempt` counts from 0.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const backoff = new Backoff(opts.backoff, opts.random);
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    try {
      return await abortable(fn(attempt), opts.signal);
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (opts.retryable && !opts.retryable(err)) throw err;
      if (opts.maxAttempts !== undefined && attempt + 1 >= opts.maxAttempts) throw err;
      const delayMs = backoff.next();
      opts.onRetry?.({ err, attempt, delayMs });
      await sleep(delayMs, opts.signal);
    }
  }
}
