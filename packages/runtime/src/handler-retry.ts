import type { JsMsg } from '@nats-io/jetstream';
import { Backoff, sleep, type BackoffPolicy } from './backoff.js';
import type { Outcome } from './consumer.js';

/** An attempt that failed for a reason that may pass (a server briefly away): tried again in place. */
export interface TryAgain {
  kind: 'again';
  reason: string;
  /** The failure itself, for the log. */
  err?: unknown;
  /** Wait at most this long before the next attempt (e.g. until a deadline the next attempt must see). */
  maxWaitMs?: number;
}

export interface RetryInHandlerOptions {
  backoff: Partial<BackoffPolicy>;
  /** Aborted when the service stops: a wait ends at once, and the message goes back for redelivery. */
  signal: AbortSignal;
  /** After each failed attempt, before the wait (`attempt` counts from 1). */
  onFailure?: (failure: { reason: string; err: unknown; retryInMs: number; attempt: number }) => void;
  /** When an attempt gives an outcome after `failedAttempts` failed ones. */
  onRecovered?: (failedAttempts: number) => void;
}

/** How soon a message handed back by a stopping service is redelivered (to another process, or to this one restarted). */
const STOPPING_REDELIVERY_MS = 1000;

/**
 * Runs `attempt` until it gives an outcome, retrying a failure in place:
 * backing off, and telling JetStream the message is still being worked on
 * (`working()` extends its ack deadline) rather than letting it be
 * redelivered, because a redelivery would let the later messages of the same
 * key (a cluster's next sample, its next decision) overtake it. A stop
 * ends the wait and hands the message back for redelivery.
 */
export async function retryInHandler(msg: Pick<JsMsg, 'working'>, opts: RetryInHandlerOptions, attempt: () => Promise<Outcome | TryAgain>): Promise<Outcome> {
  const backoff = new Backoff(opts.backoff);
  for (;;) {
    const result = await attempt();
    if (result.kind !== 'again') {
      if (backoff.attempts > 0) opts.onRecovered?.(backoff.attempts);
      return result;
    }
    const handBack: Outcome = { kind: 'retry', delayMs: STOPPING_REDELIVERY_MS, reason: result.reason };
    if (opts.signal.aborted) return handBack;
    const retryInMs = Math.max(0, Math.min(backoff.next(), result.maxWaitMs ?? Infinity));
    opts.onFailure?.({ reason: result.reason, err: result.err, retryInMs, attempt: backoff.attempts });
    msg.working();
    try {
      await sleep(retryInMs, opts.signal);
    } catch {
      return handBack;
    }
  }
}
