import { initialState, NO_SAMPLES_KEY, noSamplesAlert, SAMPLE_INTERVAL_HEADER, STREAM_SAMPLES, withNoSamples, type Alert } from '@walrus/core';
import {
  ClusterRegistry,
  errorMessage,
  lastPerSubject,
  type KvFollower,
  type Logger,
  type NatsConnection,
  type StateStore,
} from '@walrus/runtime';
import { Gauge, type Registry } from 'prom-client';
import type { AlertPublisher } from './alerts.js';

/** How often each decider looks for quiet clusters. */
const SWEEP_MS = 15_000;
const PREFIX = 'walrus.sample.';

export interface NoSamplesOptions {
  nc: NatsConnection;
  store: StateStore;
  alerts: AlertPublisher;
  log: Logger;
  registry: Registry;
  now: () => Date;
  provision: boolean;
  replicas: number;
  /** Records a published alert (metric and log), as the sample path does. */
  published: (alert: Parameters<AlertPublisher['publish']>[0]) => void;
}

/**
 * `no_samples` (ARCHITECTURE §8): every decider sweeps the fleet every
 * SWEEP_MS for clusters without a recent sample: the registered ones
 * (never sampled: counted from their registration) and every cluster with
 * samples on the stream (a static list's), less those removed from the
 * registry. The last sample of each comes from the stream in one pass
 * (headers only: its time and the collector's interval). A quiet cluster's
 * alert is published and recorded in its state, on the revision read, so
 * that deciders sweeping at once publish it once (same id) and record it
 * once, and the cluster's next sample resolves it (core's evaluateAlerts).
 */
export async function startNoSamplesSweep(o: NoSamplesOptions): Promise<{ stop(): Promise<void> }> {
  const { log } = o;
  const registered = new Map<string, number>();
  const removed = new Set<string>();
  /** Clusters this decider last found quiet (the gauge). */
  let quiet = new Set<string>();
  new Gauge({
    name: 'walrus_cluster_no_samples',
    help: 'Clusters without a sample for three of their sample intervals (at least 60 s), as this decider last swept the fleet: 1 while the no_samples alert fires for the cluster.',
    labelNames: ['cluster'],
    registers: [o.registry],
    collect() {
      this.reset();
      for (const cluster of quiet) this.set({ cluster }, 1);
    },
  });

  let following: KvFollower | null = null;
  let stopped = false;
  const openRegistry = async () => {
    try {
      const registry = await ClusterRegistry.open(o.nc, o);
      if (stopped) return;
      following = registry.follow((changes) => {
        for (const c of changes) {
          if (c.entry === null && c.invalid === undefined) {
            if (registered.delete(c.id)) removed.add(c.id);
          } else {
            registered.set(c.id, c.storedMs);
            removed.delete(c.id);
          }
        }
      }, log);
    } catch (err) {
      // Without a registry (provisioning off, not created yet) the clusters with samples are still swept; tried again next sweep.
      log.debug({ error: errorMessage(err) }, 'cluster registry not readable yet; sweeping the clusters with samples');
    }
  };

  /** Publishes and records one quiet cluster's alert; true when it fires (now or already). */
  const raise = async (cluster: string, lastSampleMs: number | null, intervalSec: number | null): Promise<boolean> => {
    let published: Alert | null = null;
    const firing = await o.store.update(
      cluster,
      async ({ state }) => {
        const current = state ?? initialState();
        if (NO_SAMPLES_KEY in current.alerts.firing) return { write: null, result: true };
        const alert = noSamplesAlert({ cluster, lastSampleMs, registeredMs: registered.get(cluster) ?? null, intervalSec }, current.alerts, o.now().getTime());
        if (!alert) return { write: null, result: false };
        // Published before the state that records it is saved: a repeat (a conflict, a crash in between) publishes it again, with the same id.
        await o.alerts.publish(alert);
        published = alert;
        return { write: { save: { ...current, alerts: withNoSamples(current.alerts, alert) } }, result: true };
      },
      { attempts: 5 },
    );
    if (published) o.published(published);
    return firing;
  };

  const sweep = async () => {
    if (!following) await openRegistry();
    const last = await lastPerSubject(o.nc, STREAM_SAMPLES, `${PREFIX}>`);
    const candidates = new Map<string, { lastSampleMs: number | null; intervalSec: number | null }>();
    for (const [subject, m] of last) {
      const cluster = subject.slice(PREFIX.length);
      if (removed.has(cluster)) continue;
      const interval = Number(m.header(SAMPLE_INTERVAL_HEADER));
      candidates.set(cluster, { lastSampleMs: m.timeMs, intervalSec: Number.isFinite(interval) && interval > 0 ? interval : null });
    }
    for (const cluster of registered.keys()) if (!candidates.has(cluster)) candidates.set(cluster, { lastSampleMs: null, intervalSec: null });
    const nowMs = o.now().getTime();
    const next = new Set<string>();
    for (const [cluster, c] of candidates) {
      // Cheap first: only a cluster quiet by the stream's times costs a state read.
      if (noSamplesAlert({ cluster, ...c, registeredMs: registered.get(cluster) ?? null }, { firing: {} }, nowMs) === null) continue;
      if (await raise(cluster, c.lastSampleMs, c.intervalSec)) next.add(cluster);
    }
    quiet = next;
  };

  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running
      .then(sweep)
      .catch((err: unknown) => log.warn({ error: errorMessage(err) }, 'no_samples sweep failed; trying again at the next one'));
  }, SWEEP_MS);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      following?.stop();
    },
  };
}
