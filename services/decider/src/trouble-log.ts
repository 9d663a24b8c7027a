import { describeFailure, type Logger } from '@walrus/runtime';

/**
 * Logs an episode of failing evaluations once when it begins and once when
 * a retried sample goes through, not once per sample and retry: a stream
 * leader election fails every sample in hand at the same moment.
 */
export class TroubleLog {
  private since: number | null = null;
  private failures = 0;

  constructor(private readonly log: Logger) {}

  failed(err: unknown, cluster: string, seq: number, retryInMs: number): void {
    this.failures += 1;
    if (this.since === null) {
      this.since = Date.now();
      this.log.warn({ err, cluster, seq, retryInMs }, 'sample handling failed; retrying with backoff (further failures at debug level)');
    } else {
      this.log.debug({ reason: describeFailure(err), cluster, seq, retryInMs }, 'sample handling failed again');
    }
  }

  over(): void {
    if (this.since === null) return;
    this.log.info({ failedForSec: Math.round((Date.now() - this.since) / 1000), failedAttempts: this.failures }, 'sample handling works again');
    this.since = null;
    this.failures = 0;
  }
}
