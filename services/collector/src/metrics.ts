import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type CollectorMetrics = ReturnType<typeof collectorMetrics>;

/** `fastClusters`: how many clusters are sampled every second now (read when scraped). */
export function collectorMetrics(registry: Registry, fastClusters: () => number = () => 0) {
  const registers = [registry];
  return {
    up: new Gauge({
      name: 'walrus_cluster_up',
      help: '1 when the last attempt to sample the cluster (of a cluster of several members: any member) succeeded, 0 when no member could be reached or read.',
      labelNames: ['cluster'],
      registers,
    }),
    memberUp: new Gauge({
      name: 'walrus_member_up',
      help: '1 when the last attempt to sample this member of the cluster succeeded, 0 when it could not be reached or read.',
      labelNames: ['cluster', 'member'],
      registers,
    }),
    published: new Counter({
      name: 'walrus_samples_published_total',
      help: 'Samples read from the cluster and stored in the WALRUS_SAMPLES stream.',
      labelNames: ['cluster'],
      registers,
    }),
    errors: new Counter({
      name: 'walrus_sample_errors_total',
      help: 'Failed sampling attempts, by cluster and stage (connect, query, publish; disk: the WAL disk read failed and the sample went out without it).',
      labelNames: ['cluster', 'stage'],
      registers,
    }),
    queryDuration: new Histogram({
      name: 'walrus_collector_query_duration_seconds',
      help: 'Database time to read one sample (the statistics query round trip).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2],
      registers,
    }),
    pressureProbes: new Counter({
      name: 'walrus_pressure_probes_total',
      help: 'Pressure probes between samples (requested checkpoints and WAL position, WALRUS_PRESSURE_PROBE_SEC) that the cluster answered.',
      labelNames: ['cluster'],
      registers,
    }),
    pressureProbeErrors: new Counter({
      name: 'walrus_pressure_probe_errors_total',
      help: 'Pressure probes that failed (logged at debug level; the next sample tells whether the cluster is down).',
      labelNames: ['cluster'],
      registers,
    }),
    pressureSamples: new Counter({
      name: 'walrus_pressure_samples_total',
      help: 'Samples taken ahead of the sample interval because WAL outgrew max_wal_size (at most one a second, WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR an hour, per cluster); also counted in walrus_samples_published_total once published.',
      labelNames: ['cluster'],
      registers,
    }),
    fastSampling: new Gauge({
      name: 'walrus_pressure_fast_sampling_clusters',
      help: 'Clusters this collector samples every second now, under WAL pressure, until relieved.',
      registers,
      collect() {
        this.set(fastClusters());
      },
    }),
  };
}
