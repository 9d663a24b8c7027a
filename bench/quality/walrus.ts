/**
 * walrus for one arm: collector, decider and applier in this process, under
 * a cluster id of the arm's own (fresh decider state), and a recorder of
 * what `walrus simulate` needs to reproduce the arm.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { decisionSubject, sampleSubject } from '@walrus/core';
import { startInProcess, type InProcessService } from '@walrus/harness';
import type { NatsServer, PostgresCluster } from '@walrus/servers';
import type { Arm } from './options.js';

/*
 * The same rules for every walrus arm: what a DBA would set for a 32 MB
 * cluster. No cooldown (pg_walrus has none) and room for changes in the
 * hour, so that the algorithms, not the rate limits, are compared.
 */
export const COMMON_ENV: Record<string, string> = {
  WALRUS_MIN_SIZE: '32MB',
  WALRUS_COOLDOWN_SEC: '0',
  WALRUS_MAX_CHANGES_PER_HOUR: '60',
};

/**
 * The decider's whole configuration for an arm: what `walrus simulate` needs
 * in its environment. A dry run decides and records but never changes
 * max_wal_size: the oracle arm's walrus.
 */
export function deciderEnv(algorithm: Arm, dryRun = false, extra: Record<string, string> = {}): Record<string, string> {
  return { ...COMMON_ENV, ...extra, WALRUS_ALGORITHM: algorithm, ...(dryRun ? { WALRUS_DRY_RUN: 'on' } : {}) };
}

/** The recorded files of one arm, under --samples-dir. */
export function recordingPaths(dir: string, cluster: string): { samples: string; decisions: string; env: string } {
  return {
    samples: join(dir, `${cluster}.samples.jsonl`),
    decisions: join(dir, `${cluster}.decisions.jsonl`),
    env: join(dir, `${cluster}.env`),
  };
}

export interface Walrus {
  stop(): Promise<void>;
}

export async function startWalrus(
  nats: NatsServer,
  pgc: PostgresCluster,
  cluster: string,
  algorithm: Arm,
  sampleInterval: number,
  recordTo: readonly string[],
  dryRun = false,
  /** A shape's own decider parameters (recurring: WALRUS_RECURRING_PERIOD_SEC). */
  extraEnv: Record<string, string> = {},
): Promise<Walrus> {
  const clusters = { WALRUS_CLUSTERS: `${cluster}=${pgc.url}` };
  // multiplicative is pg_walrus: a sample every checkpoint_timeout (the collector's default).
  const interval: Record<string, string> = algorithm === 'multiplicative' ? {} : { WALRUS_SAMPLE_INTERVAL: String(sampleInterval) };
  // Subscribed before anything runs: every sample and every decision of the arm.
  const nc = await connect({ servers: nats.url, name: `bench-quality-recorder-${cluster}` });
  const samples: string[] = [];
  const decisions: string[] = [];
  const sampleSub = nc.subscribe(sampleSubject(cluster));
  const decisionSub = nc.subscribe(decisionSubject(cluster));
  let first: () => void = () => {};
  const gotFirst = new Promise<void>((r) => (first = r));
  void (async () => {
    for await (const m of sampleSub) {
      samples.push(m.string());
      first();
    }
  })();
  void (async () => {
    // A retried publish reaches plain subscribers twice: once per decision id, as the stream stores it.
    const seen = new Set<string>();
    for await (const m of decisionSub) {
      const id = (JSON.parse(m.string()) as { id?: string }).id ?? m.string();
      if (!seen.has(id)) decisions.push(m.string());
      seen.add(id);
    }
  })();
  const services: InProcessService[] = [];
  services.push(await startInProcess(decider, deciderEnv(algorithm, dryRun, extraEnv), nats.url));
  services.push(await startInProcess(applier, clusters, nats.url));
  // The collector takes the decision parameters too: it samples an adaptive or
  // percentile cluster every second under WAL pressure (docs/ALGORITHMS.md, "Fast sampling under pressure").
  const coll = await startInProcess(collector, { ...deciderEnv(algorithm, dryRun, extraEnv), ...clusters, ...interval }, nats.url);
  // Wait for the baseline sample before the load starts, as a running walrus would have it.
  await gotFirst;
  return {
    stop: async () => {
      // The collector first; then the decider gets time to decide on the last sample before the recorder stops.
      await coll.stop().catch(() => {});
      await sleep(2000);
      await nc.drain();
      for (const s of services.reverse()) await s.stop().catch(() => {});
      for (const samplesDir of recordTo) {
        const paths = recordingPaths(samplesDir, cluster);
        await mkdir(samplesDir, { recursive: true });
        await writeFile(paths.samples, samples.map((l) => `${l}\n`).join(''));
        await writeFile(paths.decisions, decisions.map((l) => `${l}\n`).join(''));
        await writeFile(
          paths.env,
          `# the decider's environment for ${cluster}; replay with:\n` +
            `#   env $(grep -v '^#' ${paths.env}) pnpm walrus simulate --file ${paths.samples} --recorded --algorithm ${algorithm} --decisions\n` +
            Object.entries(deciderEnv(algorithm, dryRun, extraEnv))
              .map(([k, v]) => `${k}=${v}\n`)
              .join(''),
        );
      }
    },
  };
}
