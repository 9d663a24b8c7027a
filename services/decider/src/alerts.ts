import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { alertMsgId, alertSubject, STREAM_DECISIONS, type Alert } from '@walrus/core';
import { ALERT_SUBJECTS, ensureStreamSubjects, errorMessage, type JetStreamRequests, type Logger, type NatsConnection } from '@walrus/runtime';

/** How often a decider whose stream lacks the alert subject looks again (an administrator may have added it). */
const RECHECK_MS = 60_000;

/**
 * Publishes alerts on `walrus.alert.<cluster>`, stored in WALRUS_DECISIONS
 * with the alert's id as message id (a sample evaluated twice publishes the
 * same alert, stored once).
 *
 * A WALRUS_DECISIONS created by an older walrus lacks `walrus.alert.>`: with
 * provisioning on, start() adds it. When it cannot (no permission,
 * provisioning off), alerts still go out as plain NATS messages, so
 * subscribers (`walrus watch`, alert users) see them, but nothing stores
 * them and the historian does not keep them; this is logged as an error and
 * checked again every minute. Sizing never waits for it: a decider that
 * stopped deciding because it cannot store an alert would be the worse
 * outcome for a filling disk.
 */
export class AlertPublisher {
  private stored = false;
  private checkedAt = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly requests: JetStreamRequests,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  static async start(opts: { nc: NatsConnection; requests: JetStreamRequests; log: Logger; provision: boolean; now?: () => number }): Promise<AlertPublisher> {
    const jsm = await jetstreamManager(opts.nc);
    const p = new AlertPublisher(opts.nc, jsm, opts.requests, opts.log, opts.now ?? Date.now);
    if (opts.provision) {
      try {
        await ensureStreamSubjects(jsm, STREAM_DECISIONS, [ALERT_SUBJECTS], opts.log);
      } catch (err) {
        opts.log.warn({ stream: STREAM_DECISIONS, error: errorMessage(err) }, `could not add ${ALERT_SUBJECTS} to the stream (the user needs $JS.API.STREAM.UPDATE.${STREAM_DECISIONS})`);
      }
    }
    await p.check(true);
    return p;
  }

  /** Whether WALRUS_DECISIONS stores alerts; said once at start-up and at each change. */
  private async check(first: boolean): Promise<void> {
    this.checkedAt = this.now();
    let stored: boolean;
    try {
      const info = await this.jsm.streams.info(STREAM_DECISIONS);
      stored = (info.config.subjects ?? []).includes(ALERT_SUBJECTS);
    } catch (err) {
      this.log.warn({ stream: STREAM_DECISIONS, error: errorMessage(err) }, 'could not read the decisions stream; alerts go out as plain messages until it answers');
      stored = false;
    }
    if (!stored && (first || this.stored)) {
      this.log.error(
        { stream: STREAM_DECISIONS, subject: ALERT_SUBJECTS },
        `${STREAM_DECISIONS} does not store ${ALERT_SUBJECTS}: alerts go to subscribers only and the historian will not keep them; ` +
          `start a walrus with provisioning on (and $JS.API.STREAM.UPDATE.${STREAM_DECISIONS}) or add the subject with \`nats stream edit\``,
      );
    }
    if (stored && !first && !this.stored) this.log.info({ stream: STREAM_DECISIONS }, 'alerts are stored in the decisions stream again');
    this.stored = stored;
  }

  async publish(alert: Alert): Promise<void> {
    if (!this.stored && this.now() - this.checkedAt >= RECHECK_MS) await this.check(false);
    const data = JSON.stringify(alert);
    if (this.stored) {
      await this.requests.publish(alertSubject(alert.cluster), data, { msgId: alertMsgId(alert.id) });
    } else {
      this.nc.publish(alertSubject(alert.cluster), data);
    }
  }
}
