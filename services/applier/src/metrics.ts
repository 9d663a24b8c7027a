import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ApplierMetrics = ReturnType<typeof applierMetrics>;

/** `pools`: the clusters with connection pools open now (read when scraped). */
export function applierMetrics(registry: Registry, pools: () => number = () => 0) {
  const registers = [registry];
  return {
    applyTotal: new Counter({
      name: 'walrus_apply_total',
      help: 'Decisions the applier finished, by cluster and outcome (applied, stale, rejected, failed).',
      labelNames: ['cluster', 'status'],
      registers,
    }),
    applySeconds: new Histogram({
      name: 'walrus_apply_duration_seconds',
      help: 'Time from receiving an executable decision to publishing its outcome, retries included.',
      labelNames: ['cluster'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600],
      registers,
    }),
    retries: new Counter({
      name: 'walrus_apply_retries_total',
      help: 'Apply attempts that failed transiently (server unreachable) and were retried.',
      labelNames: ['cluster'],
      registers,
    }),
    recovered: new Counter({
      name: 'walrus_apply_recovered_total',
      help: 'Decisions another applier had begun applying (its intent recorded) and stopped on, finished by this one: the value read back, the outcome published once.',
      registers,
    }),
    waited: new Counter({
      name: 'walrus_apply_waited_total',
      help: 'Decisions an applier sharing the registry handed back for a moment because an earlier decision of their cluster was not applied yet (each cluster in order).',
      registers,
    }),
    pools: new Gauge({
      name: 'walrus_applier_cluster_pools',
      help: 'Clusters this applier holds connection pools for now (opened when a decision arrives, closed when idle).',
      registers,
      collect() {
        this.set(pools());
      },
    }),
  };
}
