import type { Alert } from '../disk-schemas.js';
import { alertId } from '../engine/disk/alert-id.js';
import type { AlertBook } from '../engine/disk/alerts.js';

/*
 * A quiet cluster is an alert (ARCHITECTURE §8): `no_samples` fires when a
 * registered or known cluster has had no sample for three of its sample
 * intervals, and at least a minute; the next sample resolves it. Pure: the
 * decider's sweep gives the times (those JetStream stored, so one host's
 * clock is compared with the server's only, within WALRUS_MAX_CLOCK_SKEW_SEC).
 */

export const NO_SAMPLES_KEY = 'no_samples';
/** Sample intervals without a sample before a cluster is reported quiet. */
export const NO_SAMPLES_INTERVALS = 3;
/** ... and never sooner than this. */
export const NO_SAMPLES_MIN_SEC = 60;
/** The interval assumed for a cluster whose samples do not say theirs (PostgreSQL's default checkpoint_timeout). */
export const DEFAULT_SAMPLE_INTERVAL_SEC = 300;

/** Seconds without a sample after which the alert fires. */
export function noSamplesAfterSec(intervalSec: number): number {
  return Math.max(NO_SAMPLES_MIN_SEC, NO_SAMPLES_INTERVALS * intervalSec);
}

export interface QuietCluster {
  cluster: string;
  /** When its last sample was stored (epoch ms), or null: never sampled. */
  lastSampleMs: number | null;
  /** When it was registered (epoch ms): a cluster never sampled counts from there. Null when not registered. */
  registeredMs: number | null;
  /** The interval it is sampled at (the collector's Walrus-Sample-Interval header), or null when not known. */
  intervalSec: number | null;
}

/**
 * The `no_samples` firing alert for a cluster quiet at `nowMs`, or null when
 * it is not (yet), or already firing in its book. Its `at` is the moment the
 * silence crossed the limit and its id derives from cluster and last sample,
 * so that every decider sweeping the fleet publishes the same alert, stored
 * once.
 */
export function noSamplesAlert(q: QuietCluster, book: AlertBook, nowMs: number): Alert | null {
  if (NO_SAMPLES_KEY in book.firing) return null;
  const since = q.lastSampleMs ?? q.registeredMs;
  if (since === null || !Number.isFinite(since)) return null;
  const intervalSec = q.intervalSec ?? DEFAULT_SAMPLE_INTERVAL_SEC;
  const limitMs = noSamplesAfterSec(intervalSec) * 1000;
  if (nowMs - since <= limitMs) return null;
  const at = new Date(since + limitMs).toISOString();
  const lastSampleAt = q.lastSampleMs === null ? null : new Date(q.lastSampleMs).toISOString();
  return {
    v: 1,
    id: alertId(q.cluster, 'no_samples', undefined, 'firing', at),
    cluster: q.cluster,
    kind: 'no_samples',
    state: 'firing',
    at,
    detail:
      lastSampleAt === null
        ? `no sample since the cluster was registered ${new Date(since).toISOString()}: more than ${limitMs / 1000} s (${NO_SAMPLES_INTERVALS} intervals of ${intervalSec} s, at least ${NO_SAMPLES_MIN_SEC} s); is a collector serving it?`
        : `no sample since ${lastSampleAt}: more than ${limitMs / 1000} s (${NO_SAMPLES_INTERVALS} intervals of ${intervalSec} s, at least ${NO_SAMPLES_MIN_SEC} s); is a collector serving it, and can it reach the cluster?`,
    last_sample_at: lastSampleAt,
    interval_sec: intervalSec,
  };
}

/** The resolving event when a sample arrives while `no_samples` fires (evaluateAlerts publishes it). */
export function noSamplesResolved(cluster: string, book: AlertBook, at: string): Alert | null {
  const firing = book.firing[NO_SAMPLES_KEY];
  if (!firing) return null;
  return {
    v: 1,
    id: alertId(cluster, 'no_samples', undefined, 'resolved', at),
    cluster,
    kind: 'no_samples',
    state: 'resolved',
    at,
    detail: `sampled again at ${at} (quiet since ${firing.since})`,
    last_sample_at: at,
  };
}

/** The book with `no_samples` firing since the alert's `at`. */
export function withNoSamples(book: AlertBook, alert: Alert): AlertBook {
  return { firing: { ...book.firing, [NO_SAMPLES_KEY]: { since: alert.at } } };
}
