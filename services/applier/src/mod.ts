import { z } from 'zod';
import { MAX_WAL_SIZE_LIMIT_MB } from '@walrus/core';
import { clusterSpecs } from '@walrus/cluster';
import { connectTimeoutEnv, envInt, loadClusterSource, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { startApplier, type ApplierConfig } from './applier.js';

export { startApplier, applierConsumerName, type ApplierConfig } from './applier.js';
export { attemptApply } from './apply-decision.js';
export { attemptOnMembers } from './apply-members.js';

export const applierEnvSchema = z.object({
  /** The applier's own ceiling: a decision above it is rejected, whatever the decider says. */
  WALRUS_APPLIER_MAX_MB: envInt(2, MAX_WAL_SIZE_LIMIT_MB).optional(),
  /** Seconds after decided_at when a decision is no longer applied; default twice its checkpoint_timeout. */
  WALRUS_APPLY_EXPIRY_SEC: envInt(1, 7 * 86400).optional(),
  /** How long to wait for a reloaded max_wal_size to show. */
  WALRUS_APPLY_VERIFY_TIMEOUT_SEC: envInt(1, 300).default(10),
  ...connectTimeoutEnv,
  /** How far back (seconds) an applier starting for the first time reads its clusters' decisions. */
  WALRUS_APPLIER_LOOKBACK_SEC: envInt(0, 30 * 86400).default(3600),
});

export const applier: ServiceDefinition<ApplierConfig> = {
  name: 'applier',
  defaultMetricsPort: 9103,
  loadConfig(env) {
    const own = loadEnvConfig(applierEnvSchema, env);
    const source = loadClusterSource(env);
    const specs = source.source?.kind === 'static' ? clusterSpecs(source.source.entries) : { clusters: [], problems: [] };
    const problems = [...own.problems, ...source.problems, ...specs.problems];
    if (!own.config || !source.source || problems.length > 0) return { config: null, problems };
    return {
      config: {
        source: source.source.kind === 'static' ? { kind: 'static', clusters: specs.clusters } : { kind: 'registry' },
        maxMb: own.config.WALRUS_APPLIER_MAX_MB ?? null,
        expirySec: own.config.WALRUS_APPLY_EXPIRY_SEC ?? null,
        verifyTimeoutSec: own.config.WALRUS_APPLY_VERIFY_TIMEOUT_SEC,
        connectTimeoutSec: own.config.WALRUS_CONNECT_TIMEOUT_SEC,
        lookbackSec: own.config.WALRUS_APPLIER_LOOKBACK_SEC,
      },
      problems: [],
    };
  },
  start: startApplier,
};
