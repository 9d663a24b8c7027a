import { z } from 'zod';
import { ALGORITHM_NAMES } from '../../config/policy.js';
import { AlertKey, type AlertBook } from '../disk/alerts.js';
import { WalRateSchema, type WalRateState } from '../wal-rate.js';
import type { ClusterStateV2 } from './current.js';
import { IsoTime, MEMBER_FIELDS_V1, RULE_FIELDS_V1 } from './parts.js';

/**
 * Version 1 of the cluster state, as deciders wrote it until the state got
 * named fields: what the engine measured lived in `algo` beside the
 * algorithms' own state, under fixed keys (`wal_rate`, `profile`, `disk`,
 * `alerts`). Read, never written: the next save writes the current version.
 */
export const ClusterStateV1 = z.strictObject({
  v: z.literal(1),
  ...RULE_FIELDS_V1,
  /** The algorithms' states under their names, and the engine's own entries under the keys below. */
  algo: z.record(z.string(), z.unknown()),
  ...MEMBER_FIELDS_V1,
});
export type ClusterStateV1 = z.infer<typeof ClusterStateV1>;

/** How version 1 kept the engine's entries in `algo`. */
const V1_ENTRIES = {
  wal_rate: WalRateSchema,
  profile: z.string().nullable(),
  disk: z.strictObject({ slot_mb: z.number().int().min(0) }),
  alerts: z.object({ firing: z.record(z.string(), z.unknown()) }),
} as const;
const FiringSince = z.object({ since: IsoTime });

export interface Upgrade<S> {
  state: S;
  /** What could not be carried over (left empty in the new state, as after a fresh start of that part), for the log. */
  dropped: string[];
}

/**
 * Version 1 → 2: the engine's entries leave `algo` for named fields, each
 * checked by its own schema; `algo` keeps the entries named after an
 * algorithm. An entry that does not pass its check is dropped: the WAL
 * tracker then starts over (a sizing algorithm measures again for one
 * interval), a lost alert book fires what is still true once more, a lost
 * slot memory reserves nothing for one sample. Never a wrong resize.
 */
export function upgradeV1(v1: ClusterStateV1): Upgrade<ClusterStateV2> {
  const { v: _v, algo, ...kept } = v1;
  const dropped: string[] = [];
  const entry = <T>(key: keyof typeof V1_ENTRIES, schema: z.ZodType<T>): T | null => {
    if (!(key in algo) || algo[key] === undefined) return null;
    const parsed = schema.safeParse(algo[key]);
    if (parsed.success) return parsed.data;
    dropped.push(`algo.${key}`);
    return null;
  };
  const walRate: WalRateState | null = entry('wal_rate', V1_ENTRIES.wal_rate);
  const disk = entry('disk', V1_ENTRIES.disk);
  const book = entry('alerts', V1_ENTRIES.alerts);
  const alerts: AlertBook = { firing: {} };
  // Entry by entry, as version 1 read its book: a malformed one is not a reason to lose the others.
  for (const [key, value] of Object.entries(book?.firing ?? {})) {
    const since = FiringSince.safeParse(value);
    if (since.success && AlertKey.safeParse(key).success) alerts.firing[key] = { since: since.data.since };
    else dropped.push(`algo.alerts.firing.${key}`);
  }
  const ownState: ClusterStateV2['algo'] = {};
  for (const name of ALGORITHM_NAMES) if (algo[name] !== undefined) ownState[name] = algo[name];
  for (const key of Object.keys(algo)) if (!(key in V1_ENTRIES) && !(ALGORITHM_NAMES as readonly string[]).includes(key)) dropped.push(`algo.${key}`);
  return {
    state: {
      v: 2,
      ...kept,
      walRate,
      activeProfile: entry('profile', V1_ENTRIES.profile),
      disk: disk === null ? null : { slotMb: disk.slot_mb },
      alerts,
      algo: ownState,
    },
    dropped,
  };
}
