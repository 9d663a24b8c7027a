import type { JsMsg } from '@nats-io/jetstream';
import { AlertV1, ApplyResultV1, DecisionV1, EffectV1, STREAM_DECISIONS, type Alert, type ApplyResult, type Decision, type Effect } from '@walrus/core';
import {
  ack,
  ConfigError,
  consumerMetrics,
  decodeMessage,
  errorMessage,
  isTransientPgError,
  redactUrl,
  sqlState,
  startDurableConsumer,
  type Outcome,
  type ServiceDeps,
  type ServiceHandle,
  type Waiting,
} from '@walrus/runtime';
import pg from 'pg';
import { Counter, Gauge } from 'prom-client';
import { migrate } from './migrate.js';
import { lockDecision } from './sql/lock.js';
import { notifyEvent } from './sql/notify.js';
import { cleanupHistory, saveSettings } from './sql/settings.js';
import { cleanupAlerts, storeAlert } from './sql/store-alert.js';
import { storeEffect } from './sql/store-effect.js';
import { storeDecision } from './sql/store-decision.js';
import { storeOutcome } from './sql/store-outcome.js';

export interface HistorianConfig {
  databaseUrl: string;
  retentionDays: number;
  /** Empty: no NOTIFY. */
  notifyChannel: string;
  cleanupIntervalSec: number;
}

export const HISTORIAN_CONSUMER = 'walrus-historian';
/** Deliveries of an effect whose decision row is not there before it is dropped (the decision comes first in the stream). */
const EFFECT_ATTEMPTS = 5;

export async function startHistorian(deps: ServiceDeps<HistorianConfig>): Promise<ServiceHandle> {
  const { config, nc, log, registry } = deps;
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: 4,
    connectionTimeoutMillis: 10_000,
    application_name: 'walrus-historian',
  });
  // An idle connection that breaks (server restart) must not crash the process.
  pool.on('error', (err) => log.warn({ err }, 'history database connection lost'));
  // So must one held between two queries (pg-pool listens on idle clients only): its next query fails instead.
  pool.on('connect', (client) => client.on('error', (err) => log.debug({ err }, 'history database connection lost while in use')));

  const rows = new Counter({
    name: 'walrus_history_events_total',
    help: 'Decisions, apply outcomes, alerts and effects received by the historian, by what became of them (stored, duplicate, pending; an effect whose decision is not in walrus.history: orphan).',
    labelNames: ['kind', 'result'],
    registers: [registry],
  });
  const dbUp = new Gauge({
    name: 'walrus_history_database_up',
    help: '1 when the last write to the history database succeeded, 0 when it failed.',
    registers: [registry],
  });
  const cleaned = new Counter({
    name: 'walrus_history_rows_deleted_total',
    help: 'History rows deleted by retention (walrus.cleanup_history).',
    registers: [registry],
  });
  const metrics = consumerMetrics(registry);

  log.info({ database: redactUrl(config.databaseUrl) }, 'migrating history schema');
  // Any start order works: a database that is not there yet, or goes away
  // during the migration, is waited for; one that refuses walrus is a
  // configuration error.
  await deps.startup
    .wait(
      'history database',
      async () => {
        await migrate(pool, log);
        await saveSettings(pool, {
          history_retention_days: String(config.retentionDays),
          notify_channel: config.notifyChannel,
        });
      },
      { transient: isTransientPgError },
    )
    .catch(async (err: unknown) => {
      await pool.end().catch(() => undefined);
      throw refusal(err) ?? err;
    });
  dbUp.set(1);

  let dbHealthy = true;
  /** While the database is down: since when, and its last error (for /readyz). */
  let dbDown: Waiting | null = null;
  const markDb = (ok: boolean, err?: unknown) => {
    dbUp.set(ok ? 1 : 0);
    if (ok !== dbHealthy) {
      if (ok) log.info('history database reachable again');
      else log.error({ err }, 'history database unreachable; messages wait in JetStream');
      dbHealthy = ok;
    }
    if (ok) dbDown = null;
    else if (dbDown) dbDown = { ...dbDown, reason: redactUrl(errorMessage(err)), attempts: dbDown.attempts + 1 };
    else dbDown = { for: 'history database', reason: redactUrl(errorMessage(err)), since: new Date().toISOString(), attempts: 1 };
  };

  const inTransaction = async <T>(decisionId: string, work: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await lockDecision(client, decisionId);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };

  const onDecision = async (d: Decision): Promise<void> => {
    const stored = await inTransaction(d.id, async (c) => {
      const row = await storeDecision(c, d);
      if (row && config.notifyChannel) {
        await notifyEvent(c, config.notifyChannel, {
          event: 'decision',
          cluster: d.cluster,
          decision_id: d.id,
          action: d.action,
          old_size_mb: d.old_size_mb,
          new_size_mb: d.new_size_mb,
          forced_checkpoints: d.forced_checkpoints,
          apply_status: row.apply_status,
          max_wal_size_mb: null,
          error: null,
          time: d.decided_at,
        });
      }
      return row;
    });
    rows.inc({ kind: 'decision', result: stored ? 'stored' : 'duplicate' });
    if (stored) log.debug({ cluster: d.cluster, decisionId: d.id, action: d.action }, 'decision stored');
  };

  const onOutcome = async (r: ApplyResult): Promise<void> => {
    const res = await inTransaction(r.decision_id, async (c) => {
      const out = await storeOutcome(c, r);
      if (out.where === 'history' && out.changed && config.notifyChannel) {
        await notifyEvent(c, config.notifyChannel, {
          event: 'outcome',
          cluster: r.cluster,
          decision_id: r.decision_id,
          action: out.action,
          old_size_mb: null,
          new_size_mb: null,
          forced_checkpoints: null,
          apply_status: r.status,
          max_wal_size_mb: r.max_wal_size_mb,
          error: r.error,
          time: r.applied_at,
        });
      }
      return out;
    });
    rows.inc({ kind: 'outcome', result: res.where === 'pending' ? 'pending' : res.changed ? 'stored' : 'duplicate' });
  };

  /** One row per alert event, stored once; NOTIFY in the same transaction, only for a new row. */
  const onAlert = async (a: Alert): Promise<void> => {
    const client = await pool.connect();
    let stored: boolean;
    try {
      await client.query('BEGIN');
      stored = await storeAlert(client, a);
      if (stored && config.notifyChannel) {
        await notifyEvent(client, config.notifyChannel, {
          event: 'alert',
          cluster: a.cluster,
          alert_id: a.id,
          kind: a.kind,
          state: a.state,
          slot: a.slot ?? null,
          retained_bytes: a.retained_bytes ?? null,
          detail: a.detail,
          time: a.at,
        });
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    rows.inc({ kind: 'alert', result: stored ? 'stored' : 'duplicate' });
    if (stored) log.debug({ cluster: a.cluster, alertId: a.id, kind: a.kind, state: a.state }, 'alert stored');
  };

  /**
   * A change's effect onto its decision's row. The decider publishes it long
   * after the decision, so the row is there unless the historian fell far
   * behind (tried again a few times) or retention removed it (dropped, counted).
   */
  const onEffect = async (e: Effect, deliveries: number): Promise<Outcome> => {
    const result = await inTransaction(e.decision_id, async (c) => {
      const r = await storeEffect(c, e);
      if (r === 'stored' && config.notifyChannel) {
        await notifyEvent(c, config.notifyChannel, { event: 'effect', cluster: e.cluster, decision_id: e.decision_id, verdict: e.verdict, flag: e.flag, reason: e.reason, time: e.judged_at });
      }
      return r;
    });
    if (result === 'missing' && deliveries < EFFECT_ATTEMPTS) return { kind: 'retry', delayMs: 2000, reason: `decision ${e.decision_id} not stored yet` };
    rows.inc({ kind: 'effect', result: result === 'missing' ? 'orphan' : result });
    if (result === 'missing') log.warn({ cluster: e.cluster, decisionId: e.decision_id }, 'effect of a decision that walrus.history does not hold: dropped');
    if (result === 'stored') log.debug({ cluster: e.cluster, decisionId: e.decision_id, verdict: e.verdict, flag: e.flag }, 'effect stored');
    return ack;
  };

  /** Decodes with the subject's schema, checks the payload's cluster against the subject's, and stores it. */
  const storeAs =
    <T extends { cluster: string }>(schema: Parameters<typeof decodeMessage<T>>[0], store: (value: T) => Promise<void>) =>
    async (msg: JsMsg): Promise<Outcome> => {
      const decoded = decodeMessage(schema, msg.data);
      if (!decoded.ok) return { kind: 'reject', reason: decoded.reason };
      const subjectCluster = msg.subject.split('.')[2];
      if (decoded.value.cluster !== subjectCluster) {
        return { kind: 'reject', reason: `cluster mismatch: subject names ${subjectCluster}, payload ${decoded.value.cluster}` };
      }
      try {
        await store(decoded.value);
        markDb(true);
        return ack;
      } catch (err) {
        markDb(false, err);
        return { kind: 'retry', delayMs: 2000, reason: errorMessage(err) };
      }
    };
  const handleDecision = storeAs(DecisionV1, onDecision);
  const handleAlert = storeAs(AlertV1, onAlert);
  const handleOutcome = storeAs(ApplyResultV1, onOutcome);
  const handleEffect = async (msg: JsMsg): Promise<Outcome> => {
    let outcome: Outcome = ack;
    const stored = await storeAs(EffectV1, async (e: Effect) => {
      outcome = await onEffect(e, msg.info.deliveryCount);
    })(msg);
    return stored === ack ? outcome : stored;
  };
  const handle = (msg: JsMsg): Promise<Outcome> =>
    msg.subject.startsWith('walrus.decision.')
      ? handleDecision(msg)
      : msg.subject.startsWith('walrus.alert.')
        ? handleAlert(msg)
        : msg.subject.startsWith('walrus.effect.')
          ? handleEffect(msg)
          : handleOutcome(msg);

  const consumer = await startDurableConsumer(deps.startup, deps.provision, { durable_name: HISTORIAN_CONSUMER, ack_wait: 30_000_000_000 }, {
    nc,
    stream: STREAM_DECISIONS,
    service: 'historian',
    log,
    metrics,
    handle,
  });

  const runCleanup = async () => {
    try {
      const n = await cleanupHistory(pool);
      cleaned.inc(n);
      if (n > 0) log.info({ deleted: n, retentionDays: config.retentionDays }, 'history retention applied');
      const alerts = await cleanupAlerts(pool);
      if (alerts > 0) log.info({ deleted: alerts, retentionDays: config.retentionDays }, 'alert retention applied');
    } catch (err) {
      log.warn({ err }, 'history retention failed; will retry at the next interval');
    }
  };
  await runCleanup();
  const cleanupTimer = setInterval(() => void runCleanup(), config.cleanupIntervalSec * 1000);
  cleanupTimer.unref();

  return {
    name: 'historian',
    health: () => ({ service: 'historian', database: dbHealthy ? 'up' : 'down' }),
    ready: () => consumer.running() && dbHealthy,
    waiting: () => (dbDown ? [dbDown] : []),
    stop: async () => {
      clearInterval(cleanupTimer);
      await consumer.stop();
      await pool.end();
    },
  };
}

/** The history database's refusals that only a change of configuration (or of the database) mends. */
function refusal(err: unknown): ConfigError | null {
  const state = sqlState(err);
  // 28: credentials refused; 3D000: no such database; 42501: may not create schema walrus.
  if (state === null || !(state.startsWith('28') || state === '3D000' || state === '42501')) return null;
  return new ConfigError([`HISTORY_DATABASE_URL: the history database refused the historian: ${redactUrl(errorMessage(err))} (SQLSTATE ${state})`]);
}
