import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { alertMsgId, alertSubject, effectMsgId, effectSubject, STREAM_DECISIONS, type Alert, type Effect } from '@walrus/core';
import { ALERT_SUBJECTS, EFFECT_SUBJECTS, ensureStreamSubjects, errorMessage, type JetStreamRequests, type Logger, type NatsConnection } from '@walrus/runtime';

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
/**
 * Publishes on subjects that WALRUS_DECISIONS stores since a later walrus
 * (alerts, effects), with a message id, falling back to plain messages while
 * the stream lacks them (see AlertPublisher).
 */
export class StoredPublisher {
  private stored = false;
  private checkedAt = 0;

  protected constructor(
    private readonly subjects: string,
    private readonly what: string,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly requests: JetStreamRequests,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  protected static async open(
    subjects: string,
    what: string,
    opts: { nc: NatsConnection; requests: JetStreamRequests; log: Logger; provision: boolean; now?: () => number },
  ): Promise<{ jsm: JetStreamManager }> {
    const jsm = await jetstreamManager(opts.nc);
    if (opts.provision) {
      try {
        await ensureStreamSubjects(jsm, STREAM_DECISIONS, [subjects], opts.log);
      } catch (err) {
        opts.log.warn({ stream: STREAM_DECISIONS, error: errorMessage(err) }, `could not add ${subjects} to the stream (the user needs $JS.API.STREAM.UPDATE.${STREAM_DECISIONS})`);
      }
    }
    return { jsm };
  }

  /** Whether WALRUS_DECISIONS stores the subjects; said once at start-up and at each change. */
  protected async check(first: boolean): Promise<void> {
    this.checkedAt = this.now();
    let stored: boolean;
    try {
      const info = await this.jsm.streams.info(STREAM_DECISIONS);
      stored = (info.config.subjects ?? []).includes(this.subjects);
    } catch (err) {
      this.log.warn({ stream: STREAM_DECISIONS, error: errorMessage(err) }, `could not read the decisions stream; ${this.what} go out as plain messages until it answers`);
      stored = false;
    }
    if (!stored && (first || this.stored)) {
      this.log.error(
        { stream: STREAM_DECISIONS, subject: this.subjects },
        `${STREAM_DECISIONS} does not store ${this.subjects}: ${this.what} go to subscribers only and the historian will not keep them; ` +
          `start a walrus with provisioning on (and $JS.API.STREAM.UPDATE.${STREAM_DECISIONS}) or add the subject with \`nats stream edit\``,
      );
    }
    if (stored && !first && !this.stored) this.log.info({ stream: STREAM_DECISIONS }, `${this.what} are stored in the decisions stream again`);
    this.stored = stored;
  }

  protected async send(subject: string, data: string, msgId: string): Promise<void> {
    if (!this.stored && this.now() - this.checkedAt >= RECHECK_MS) await this.check(false);
    if (this.stored) {
      await this.requests.publish(subject, data, { msgId });
    } else {
      this.nc.publish(subject, data);
    }
  }
}

export class AlertPublisher extends StoredPublisher {
  static async start(opts: { nc: NatsConnection; requests: JetStreamRequests; log: Logger; provision: boolean; now?: () => number }): Promise<AlertPublisher> {
    const { jsm } = await StoredPublisher.open(ALERT_SUBJECTS, 'alerts', opts);
    const p = new AlertPublisher(ALERT_SUBJECTS, 'alerts', opts.nc, jsm, opts.requests, opts.log, opts.now ?? Date.now);
    await p.check(true);
    return p;
  }

  async publish(alert: Alert): Promise<void> {
    await this.send(alertSubject(alert.cluster), JSON.stringify(alert), alertMsgId(alert.id));
  }
}

/** Effects of changes (engine/effect.ts) on `walrus.effect.<cluster>`, one per decision (its id as message id). */
export class EffectPublisher extends StoredPublisher {
  static async start(opts: { nc: NatsConnection; requests: JetStreamRequests; log: Logger; provision: boolean; now?: () => number }): Promise<EffectPublisher> {
    const { jsm } = await StoredPublisher.open(EFFECT_SUBJECTS, 'effects', opts);
    const p = new EffectPublisher(EFFECT_SUBJECTS, 'effects', opts.nc, jsm, opts.requests, opts.log, opts.now ?? Date.now);
    await p.check(true);
    return p;
  }

  async publish(effect: Effect): Promise<void> {
    await this.send(effectSubject(effect.cluster), JSON.stringify(effect), effectMsgId(effect.decision_id));
  }
}
