import type { JetStreamClient } from '@nats-io/jetstream';
import { appliedSubject, applyResultMsgId, MAX_WAL_SIZE_LIMIT_MB, MIN_WAL_SIZE_LIMIT_MB, type ApplyResult, type Decision } from '@walrus/core';
import { ack, retryInHandler, type Logger, type Outcome } from '@walrus/runtime';
import { toApplyResult, type Attempt } from './apply-decision.js';
import type { ApplierMetrics } from './metrics.js';
import type { ServedCluster } from './served.js';

type Done = Extract<Attempt, { kind: 'done' }>;

export interface CarryOutOptions {
  js: JetStreamClient;
  log: Logger;
  metrics: ApplierMetrics;
  now: () => Date;
  /** The applier's own ceiling (WALRUS_APPLIER_MAX_MB). */
  maxMb: number | null;
  /** Fixed expiry of a decision; null = twice its checkpoint_timeout. */
  expirySec: number | null;
  /** Aborted when the applier stops: a retry's backoff ends at once. */
  stopped: AbortSignal;
}

/**
 * Carries out one executable decision and publishes its outcome: the
 * applier's own bounds first, then attempts until it is done or expires
 * (transient failures retried with backoff, the message kept in hand with
 * `working()`). The same for a static list and for the registry.
 */
export function decisionCarrier(o: CarryOutOptions) {
  const { js, log, metrics, now } = o;

  // The outcome goes to the subject of the cluster the decision came on: the only one this applier may publish for it.
  const publishResult = async (cluster: string, d: Decision, result: ApplyResult, startedMs: number) => {
    await js.publish(appliedSubject(cluster), JSON.stringify(result), { msgID: applyResultMsgId(d.id, result.status) });
    // Labels from the subject's cluster, never from the payload (bounded cardinality).
    metrics.applyTotal.inc({ cluster, status: result.status });
    metrics.applySeconds.observe({ cluster }, (performance.now() - startedMs) / 1000);
    const entry = {
      cluster: d.cluster,
      decisionId: d.id,
      action: d.action,
      oldSizeMb: d.old_size_mb,
      newSizeMb: d.new_size_mb,
      status: result.status,
      maxWalSizeMb: result.max_wal_size_mb,
      error: result.error,
      ...(result.member !== undefined ? { member: result.member } : {}),
      ...(result.failed_members?.length ? { failedMembers: result.failed_members } : {}),
    };
    const overridden = result.members?.filter((m) => m.via === 'alter_system').map((m) => m.member) ?? [];
    if (overridden.length > 0) {
      log.warn({ ...entry, members: overridden }, "Patroni's value did not reach these members within the verify timeout: set there with ALTER SYSTEM (reset before walrus's next PATCH /config)");
    }
    if (result.status === 'applied') log.info(entry, 'max_wal_size changed');
    else log.warn(entry, `decision not applied: ${result.status}`);
  };

  /**
   * `servedBy()` gives the cluster's connection at each attempt (a registry
   * entry changed meanwhile gives a new one); null when the cluster is not
   * one this applier serves (not in its list, not registered): the decision
   * is rejected, with the reason.
   */
  return async (cluster: string, servedBy: () => ServedCluster | null | Promise<ServedCluster | null>, d: Decision, msg: { working(): void }): Promise<Outcome> => {
    const startedMs = performance.now();
    const served = await servedBy();
    const finish = async (a: Done): Promise<Outcome> => {
      await publishResult(cluster, d, toApplyResult(d, a, now()), startedMs);
      return ack;
    };
    // Defense in depth: whatever NATS lets through, act only on the subject's own cluster and within bounds.
    if (d.cluster !== cluster || !served) {
      return finish({ kind: 'done', status: 'rejected', maxWalSizeMb: null, error: `cluster ${d.cluster} is not served by this applier` });
    }
    const ceiling = Math.min(MAX_WAL_SIZE_LIMIT_MB, o.maxMb ?? MAX_WAL_SIZE_LIMIT_MB);
    if (!Number.isSafeInteger(d.new_size_mb) || d.new_size_mb < MIN_WAL_SIZE_LIMIT_MB || d.new_size_mb > ceiling) {
      return finish({
        kind: 'done',
        status: 'rejected',
        maxWalSizeMb: null,
        error: `size ${d.new_size_mb} MB is outside the applier's bounds ${MIN_WAL_SIZE_LIMIT_MB}..${ceiling} MB${o.maxMb ? ' (WALRUS_APPLIER_MAX_MB)' : ''}`,
      });
    }
    const expiresAt = Date.parse(d.decided_at) + (o.expirySec ?? 2 * d.checkpoint_timeout_sec) * 1000;
    let lastError = '';
    return retryInHandler(
      msg,
      {
        backoff: { initialMs: 500, maxMs: 15_000 },
        signal: o.stopped,
        onFailure: (f) => {
          metrics.retries.inc({ cluster });
          // Once per decision; each further attempt at debug level.
          const fields = { cluster, decisionId: d.id, err: f.reason, retryInMs: f.retryInMs };
          if (f.attempt === 1) log.warn(fields, 'cluster unreachable; will retry until the decision expires');
          else log.debug(fields, 'cluster still unreachable');
        },
      },
      async () => {
        if (now().getTime() >= expiresAt) {
          return finish({
            kind: 'done',
            status: 'failed',
            maxWalSizeMb: null,
            error: `expired at ${new Date(expiresAt).toISOString()} before it could be applied${lastError ? `; last error: ${lastError}` : ''}`,
          });
        }
        // A registry entry changed meanwhile gives a new connection.
        const attempt = await ((await servedBy()) ?? served).attempt(d);
        if (attempt.kind === 'done') return finish(attempt);
        lastError = attempt.error;
        return { kind: 'again', reason: attempt.error, maxWaitMs: expiresAt - now().getTime() };
      },
    );
  };
}

export type CarryOut = ReturnType<typeof decisionCarrier>;
