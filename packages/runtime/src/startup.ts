import { retry, type BackoffPolicy } from './backoff.js';
import { describeFailure } from './errors.js';
import { isTransientJetStreamError } from './jetstream-errors.js';
import type { Logger } from './logger.js';

/** Something a process waits for, as /readyz and /healthz report it. */
export interface Waiting {
  /** What it waits for, e.g. "JetStream consumer walrus-decider on WALRUS_SAMPLES". */
  for: string;
  /** The last failure, in one line. */
  reason: string;
  /** When the wait began (ISO). */
  since: string;
  /** Failed attempts so far. */
  attempts: number;
}

export interface WaitOptions {
  /** Failures worth waiting out; any other is thrown at once. Default: transient NATS/JetStream failures. */
  transient?: (err: unknown) => boolean;
  backoff?: Partial<BackoffPolicy>;
}

/** Start-up retries back off to this: a dependency that comes back is noticed within seconds. */
export const STARTUP_BACKOFF: Partial<BackoffPolicy> = { initialMs: 250, maxMs: 5000 };
const REMINDER_MS = 60_000;

/**
 * The start-up of one process: every step that needs a dependency (NATS,
 * JetStream provisioning, a durable consumer, the history database) runs
 * through `wait`, which retries transient failures with backoff until the
 * dependency answers. A wait is logged once when it begins (what, and why),
 * again at most once a minute while it lasts, and once when it is over; what
 * is being waited for shows on /readyz. The abort signal (SIGTERM) ends
 * every wait at once.
 */
export class StartupWaits {
  private readonly current = new Map<number, Waiting>();
  private nextId = 0;
  private complete = false;

  constructor(
    private readonly log: Logger,
    private readonly opts: { signal?: AbortSignal; reminderMs?: number; now?: () => number; random?: () => number } = {},
  ) {}

  /** Aborted when the process is asked to stop before start-up is complete. */
  get signal(): AbortSignal | undefined {
    return this.opts.signal;
  }

  /** Runs `fn` until it succeeds, waiting out transient failures (see the class comment). */
  async wait<T>(what: string, fn: () => Promise<T>, o: WaitOptions = {}): Promise<T> {
    const now = this.opts.now ?? Date.now;
    const reminderMs = this.opts.reminderMs ?? REMINDER_MS;
    const id = this.nextId++;
    // Set by the first failure (in a callback, hence an object TypeScript does not narrow).
    const w: { entry: Waiting | null; startedMs: number; remindedMs: number } = { entry: null, startedMs: 0, remindedMs: 0 };
    try {
      const result = await retry(() => fn(), {
        backoff: o.backoff ?? STARTUP_BACKOFF,
        retryable: o.transient ?? isTransientJetStreamError,
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        ...(this.opts.random ? { random: this.opts.random } : {}),
        onRetry: ({ err, delayMs }) => {
          const reason = describeFailure(err);
          const t = now();
          const entry = w.entry;
          if (!entry) {
            w.startedMs = w.remindedMs = t;
            w.entry = { for: what, reason, since: new Date(t).toISOString(), attempts: 1 };
            this.current.set(id, w.entry);
            this.log.warn({ waitingFor: what, reason }, 'waiting for a dependency; retrying with backoff');
            return;
          }
          entry.reason = reason;
          entry.attempts += 1;
          if (t - w.remindedMs >= reminderMs) {
            w.remindedMs = t;
            this.log.warn({ waitingFor: what, reason, waitedSec: Math.round((t - w.startedMs) / 1000), attempts: entry.attempts }, 'still waiting for a dependency');
          } else {
            this.log.debug({ waitingFor: what, reason, retryInMs: delayMs }, 'dependency not available yet');
          }
        },
      });
      if (w.entry) {
        this.log.info({ waitedFor: what, waitedSec: Math.round((now() - w.startedMs) / 1000), attempts: w.entry.attempts }, 'dependency available; going on');
      }
      return result;
    } finally {
      this.current.delete(id);
    }
  }

  /** What is being waited for right now. */
  waiting(): Waiting[] {
    return [...this.current.values()].map((w) => ({ ...w }));
  }

  /** Every start-up step is done. */
  markComplete(): void {
    this.complete = true;
  }

  get isComplete(): boolean {
    return this.complete;
  }
}
