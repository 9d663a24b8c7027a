import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { alertMsgId, alertSubject, effectMsgId, effectSubject, STREAM_DECISIONS, type Alert, type Effect } from '@walrus/core';
import { ALERT_SUBJECTS, EFFECT_SUBJECTS, ensureStreamSubjects, errorMessage, type JetStreamRequests, type Logger, type NatsConnection } from '@walrus/runtime';

/** How often a decider whose stream lacks the alert subject looks again (an administrator may have added it). */
const RECHECK_MS = 60_000;

interface PublisherOptions {
  nc: NatsConnection;
  requests: JetStreamRequests;
  log: Logger;
  provision: boolean;
  now?: () => number;
}

interface PublisherParts {
  subjects: string;
  what: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  requests: JetStreamRequests;
  log: Logger;
  now: () => number;
}

/**
 * Publishes on subjects that WALRUS_DECISIONS stores since a later walrus
 * (alerts, effects), with a message id, falling back to plain messages while
 * the stream lacks them (see AlertPublisher).
 */
export class StoredPublisher {
  private stored = false;
  private checkedAt = 0;

  protected constructor(private readonly p: PublisherParts) {}

  /** Adds the subjects to the stream when provisioning, makes the publisher, and says whether they are stored. */
  protected static async open<P extends StoredPublisher>(make: (parts: PublisherParts) => P, subjects: string, what: string, opts: PublisherOptions): Promise<P> {
    const jsm = await jetstreamManager(opts.nc);
    if (opts.provision) {
      try {
        await ensureStreamSubjects(jsm, STREAM_DECISIONS, [subjects], opts.log);
      } catch (err) {
        opts.log.warn({ stream: STREAM_DECISIONS, error: errorMessage(err) }, `could not add ${subjects} to the stream (the user needs $JS.API.STREAM.UPDATE.${STREAM_DECISIONS})`);
      }
    }
    const publisher = make({ subjects, what, nc: opts.nc, jsm, requests: opts.requests, log: opts.log, now: opts.now ?? Date.now });
    await publisher.check(true);
    return publisher;
  }

  /** Whether WALRUS_DECISIONS stores the subjects; said once at start-up and at each change. */
  protected async check(first: boolean): Promise<void> {
    this.checkedAt = this.p.now();
    let stored: boolean;
    try {
      const info = await this.p.jsm.streams.info(STREAM_DECISIONS);
      stored = (info.config.subjects ?? []).includes(this.p.subjects);
    } catch (err) {
      this.p.log.warn({ stream: STREAM_DECISIONS, error: errorMessage(err) }, `could not read the decisions stream; ${this.p.what} go out as plain messages until it answers`);
      stored = false;
    }
    if (!stored && (first || this.stored)) {
      this.p.log.error(
        { stream: STREAM_DECISIONS, subject: this.p.subjects },
        `${STREAM_DECISIONS} does not store ${this.p.subjects}: ${this.p.what} go to subscribers only and the historian will not keep them; ` +
          `start a walrus with provisioning on (and $JS.API.STREAM.UPDATE.${STREAM_DECISIONS}) or add the subject with \`nats stream edit\``,
      );
    }
    if (stored && !first && !this.stored) this.p.log.info({ stream: STREAM_DECISIONS }, `${this.p.what} are stored in the decisions stream again`);
    this.stored = stored;
  }

  protected async send(subject: string, data: string, msgId: string): Promise<void> {
    if (!this.stored && this.p.now() - this.checkedAt >= RECHECK_MS) await this.check(false);
    if (this.stored) {
      await this.p.requests.publish(subject, data, { msgId });
    } else {
      this.p.nc.publish(subject, data);
    }
  }
}

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
export class AlertPublisher extends StoredPublisher {
  static start(opts: PublisherOptions): Promise<AlertPublisher> {
    return StoredPublisher.open((parts) => new AlertPublisher(parts), ALERT_SUBJECTS, 'alerts', opts);
  }

  async publish(alert: Alert): Promise<void> {
    await this.send(alertSubject(alert.cluster), JSON.stringify(alert), alertMsgId(alert.id));
  }
}

/** Effects of changes (engine/effect.ts) on `walrus.effect.<cluster>`, one per decision (its id as message id). */
export class EffectPublisher extends StoredPublisher {
  static start(opts: PublisherOptions): Promise<EffectPublisher> {
    return StoredPublisher.open((parts) => new EffectPublisher(parts), EFFECT_SUBJECTS, 'effects', opts);
  }

  async publish(effect: Effect): Promise<void> {
    await this.send(effectSubject(effect.cluster), JSON.stringify(effect), effectMsgId(effect.decision_id));
  }
}
