import type { Msg, NatsConnection } from '@nats-io/transport-node';
import {
  ApiFailure,
  DECIDER_QUEUE,
  DECIDER_REQUESTS,
  DeciderAnalyzeRequest,
  deciderSubject,
  DeciderResetRequest,
  decisionMsgId,
  decisionSubject,
  manualSample,
  parseRequest,
  recommend,
  type Decision,
  type DeciderAnalyzeResult,
  type DeciderRequest,
  type DeciderResetResult,
  type Policy,
} from '@walrus/core';
import { errorMessage, replyTo, retry, type JetStreamRequests, type Logger, type StateStore } from '@walrus/runtime';
import type { ClusterLock } from './cluster-lock.js';
import type { DeciderMetrics } from './metrics.js';
import type { SampleLog } from './sample-log.js';

export interface RequestDeps {
  nc: NatsConnection;
  requests: JetStreamRequests;
  store: StateStore;
  samples: SampleLog;
  lock: ClusterLock;
  defaults: Policy;
  /** WALRUS_MAX_CLOCK_SKEW_SEC: how far ahead of the decider's clock a sample may be dated (the sample consumer's tolerance too). */
  maxClockSkewMs: number;
  now: () => Date;
  log: Logger;
  metrics: DeciderMetrics;
}

export interface RequestServer {
  /** Stops taking requests (others go to the remaining deciders) and waits for those in hand. */
  stop(): Promise<void>;
}

/** Writes refused because the state moved on in between: evaluate again, this many times at most. */
const MAX_ATTEMPTS = 5;
/** Publishing a decision whose state is saved is retried (same message id: stored once) before giving up. */
const PUBLISH_ATTEMPTS = 4;

/**
 * Serves walrus.decider.analyze and walrus.decider.reset in the queue group
 * of the deciders, beside the sample consumer and without holding it up:
 * each request runs on its own, taking only its cluster's lock for the
 * read-evaluate-save-publish (milliseconds). Waiting for the applier's
 * outcome is the control service's business, not the decider's.
 */
export async function serveRequests(deps: RequestDeps): Promise<RequestServer> {
  const { nc, log, metrics } = deps;
  const inFlight = new Set<Promise<void>>();

  const handlers: Record<DeciderRequest, (body: unknown) => Promise<unknown>> = {
    analyze: (body) => analyze(deps, parseRequest(DeciderAnalyzeRequest, body)),
    reset: (body) => reset(deps, parseRequest(DeciderResetRequest, body).cluster),
  };

  const answer = async (request: DeciderRequest, msg: Msg): Promise<void> => {
    const reply = await replyTo(msg, handlers[request], (failure, err) => log.warn({ err, request, code: failure.code }, 'decider request refused or failed'));
    metrics.requests.inc({ request, result: reply.ok ? 'ok' : reply.error.code });
    if (!msg.respond(JSON.stringify(reply))) log.warn({ request }, 'a decider request came without a reply subject; answer dropped');
  };

  const subs = DECIDER_REQUESTS.map((request) =>
    nc.subscribe(deciderSubject(request), {
      queue: DECIDER_QUEUE,
      callback: (err, msg) => {
        if (err) return log.warn({ err, request }, 'decider request subscription error');
        const p = answer(request, msg).finally(() => inFlight.delete(p));
        inFlight.add(p);
      },
    }),
  );
  // Answer only once the server has the subscriptions: a "started" decider takes requests.
  await nc.flush();

  return {
    stop: async () => {
      for (const s of subs) s.unsubscribe();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/**
 * analyze with apply (pg_walrus's walrus.analyze(apply := true)): evaluates
 * the cluster's freshest sound statistics with the rate limits bypassed,
 * saves the new state on the KV revision read, then publishes the decision.
 *
 * The sample consumer publishes first and saves after, because a sample
 * evaluated again after a crash gives the same decision (same id, stored
 * once). Here the order is the other way round: if the state moved on
 * between read and save (another decider evaluated a sample of the
 * cluster), the evaluation is done again on the new state and may give
 * another decision under the same id (cluster and sample time), which
 * JetStream would drop as a duplicate of the one published first from the
 * stale state. So nothing is published before its state is saved. Should
 * the publish then fail for good, the state is not rolled back: a publish
 * that timed out may have been stored, and a rolled-back state would count
 * those checkpoints again and grow twice; the worst case left is one change
 * counted but not made, and the caller is told.
 */
async function analyze(deps: RequestDeps, req: DeciderAnalyzeRequest): Promise<DeciderAnalyzeResult> {
  const { store, lock, log, metrics, now } = deps;
  const { cluster } = req;
  const stored = await deps.samples.last(cluster);
  const chosen = manualSample(cluster, req.sample, stored?.sample ?? null, now().getTime(), deps.maxClockSkewMs);
  if (!chosen.ok) throw new ApiFailure('bad_request', chosen.reason);
  return lock.run(cluster, async () => {
    const evaluated = await store.update(
      cluster,
      async ({ state }) => {
        // A live sample may only name a member the collector reported: an
        // unknown "primary" on a high timeline would make the real one's
        // samples look stale until it is seen in recovery, which it never is.
        const member = chosen.source === 'live' ? chosen.sample.member : undefined;
        if (member !== undefined && state?.members && !(member in state.members)) {
          throw new ApiFailure('bad_request', `the sample names member ${member}, which the collector has not reported for cluster ${cluster}`);
        }
        const { recommendation, manual } = recommend({
          cluster,
          state,
          sample: chosen.sample,
          sampleSource: chosen.source,
          defaults: deps.defaults,
          now: now().toISOString(),
          // The clock check (core's engine/clock.ts) compares later samples' stored times with this one's.
          storedAtMs: chosen.source === 'stream' && stored && Number.isFinite(stored.time) ? stored.time : null,
        });
        const decision = manual?.decision ?? null;
        return { write: manual && decision ? { save: manual.state } : null, result: { recommendation, decision } };
      },
      {
        attempts: MAX_ATTEMPTS,
        onConflict: (attempt) => {
          metrics.stateConflicts.inc();
          log.debug({ cluster, attempt }, 'state changed while analyzing; evaluating again');
        },
      },
    );
    const { recommendation, decision } = evaluated;
    if (!decision) return { recommendation, decision: null, reason: joinNotes(`nothing to apply: ${recommendation.reason}`, chosen.note) };
    await publishDecision(deps, decision);
    metrics.decisions.inc({ cluster, action: decision.action });
    log.info(
      { cluster, decisionId: decision.id, action: decision.action, oldSizeMb: decision.old_size_mb, newSizeMb: decision.new_size_mb, sampleSource: chosen.source },
      'manual analyze published a decision (rate limits bypassed)',
    );
    return { recommendation, decision, reason: chosen.note };
  });
}

async function publishDecision(deps: RequestDeps, decision: Decision): Promise<void> {
  try {
    await retry(() => deps.requests.publish(decisionSubject(decision.cluster), JSON.stringify(decision), { msgId: decisionMsgId(decision.id) }), {
      maxAttempts: PUBLISH_ATTEMPTS,
      backoff: { initialMs: 250, maxMs: 2000 },
    });
  } catch (err) {
    deps.log.error({ err, cluster: decision.cluster, decisionId: decision.id }, 'manual decision saved in the state but not published');
    throw new ApiFailure(
      'failed',
      `the state of ${decision.cluster} was saved but its decision could not be published (${errorMessage(err)}): ` +
        'the change counts against the rate limits without having been made',
      { cause: err },
    );
  }
}

/** reset: the cluster's state goes (a delete marker); its next sample is a new baseline. */
async function reset(deps: RequestDeps, cluster: string): Promise<DeciderResetResult> {
  const { store, lock, log, metrics } = deps;
  return lock.run(cluster, async () => {
    // On the revision read: when a sample was evaluated in between, read again and delete what it saved.
    const hadState = await store.update(cluster, async ({ state }) => ({ write: { delete: true }, result: state !== null }), {
      attempts: MAX_ATTEMPTS,
      onConflict: () => metrics.stateConflicts.inc(),
    });
    log.info({ cluster, hadState }, 'cluster state reset: the next sample starts a new baseline');
    return { cluster, had_state: hadState };
  });
}

function joinNotes(...notes: Array<string | null>): string {
  return notes.filter((n): n is string => n !== null).join('; ');
}
