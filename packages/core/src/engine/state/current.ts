import { z } from 'zod';
import { ALGORITHM_NAMES } from '../../config/policy.js';
import { AlertBookSchema, NO_ALERTS } from '../disk/alerts.js';
import { ForecastMemorySchema } from '../disk/forecast.js';
import { DiskMemorySchema } from '../disk/limit.js';
import { EffectMemorySchema } from '../effect.js';
import { RecurringSchema } from '../recurring.js';
import { SlotGraceSchema } from '../disk/slot-bound.js';
import { WalRateSchema } from '../wal-rate.js';
import { MEMBER_FIELDS_V1, RULE_FIELDS_V1 } from './parts.js';

/** The version deciders write; read.ts reads this one and every earlier one. */
export const CLUSTER_STATE_VERSION = 2;

/**
 * What the decider keeps per cluster between samples, stored as JSON in the
 * walrus_state KV bucket (ARCHITECTURE §8: versioned; a decider reads every
 * earlier version it ever wrote and writes the newest). Strict: a state
 * written by another version of the engine must be noticed, not half-read.
 *
 * Each thing the engine remembers has a named field with its own schema,
 * defined beside the code that owns it; `algo` holds only the algorithms'
 * own state, under their names.
 *
 * Adding to it: a named field whose absence means "nothing remembered yet"
 * (optional, or nullable with the upgrade filling null) can join this
 * version. A field that changes what an existing one means, or that every
 * state must have, makes a new version: this schema moves to `v2.ts` with
 * an upgrade to the new one (as `v1.ts` does), read.ts chains it, and a
 * fixture written by a decider of this version (fixtures/) proves it is
 * still read.
 */
export const ClusterStateV2 = z.strictObject({
  v: z.literal(2),
  ...RULE_FIELDS_V1,
  /** The WAL tracker (wal-rate.ts): rates over whole checkpoint intervals, the sliding rate, forced checkpoints; null before the first sample. */
  walRate: WalRateSchema.nullable(),
  /** The time profile (walrus.profiles) in force at the last evaluated sample, null when none. */
  activeProfile: z.string().nullable(),
  /** What the replication slots held at the last sample that reported them (disk/limit.ts), null before one did. */
  disk: DiskMemorySchema.nullable(),
  /** The alerts firing now (disk/alerts.ts), so that each crossing is published once. */
  alerts: AlertBookSchema,
  /** walrus.bound_slots: the inactive slots warned about, and what each may hold until its grace ends (disk/slot-bound.ts). Absent: none warned (or written before it existed). */
  slotGrace: SlotGraceSchema.optional(),
  /** The WAL holders' trends for the time-to-full forecast (disk/forecast.ts). Absent before the first sample that reported pg_wal. */
  forecast: ForecastMemorySchema.optional(),
  /** pg_stat_checkpointer.num_done (18) of the last evaluated sample, which bounds the forced count (checkpoint-causes.ts). Absent before 18. */
  prevDone: z.number().int().min(0).optional(),
  /** Each sizing algorithm's own state, under its name (algorithms/types.ts GrowResult.state); the algorithm checks it when read. */
  algo: z.partialRecord(z.enum(ALGORITHM_NAMES), z.unknown()),
  ...MEMBER_FIELDS_V1,
  /** What the WAL needed per slot of the recurring period (recurring.ts); absent when nothing was learned (or in older states). */
  recurring: RecurringSchema.optional(),
  /** The change being checked for its effect, the counters it is judged by, and a growth held back after one that did not help (effect.ts); absent in older states. */
  effect: EffectMemorySchema.optional(),
});
export type ClusterStateV2 = z.infer<typeof ClusterStateV2>;
/** The cluster state the engine works on: always the newest version. */
export type ClusterState = ClusterStateV2;

export function initialState(): ClusterState {
  return {
    v: 2,
    prevRequested: null,
    quietIntervals: 0,
    lastAdjustmentAt: null,
    hourWindowStart: null,
    changesThisHour: 0,
    totalAdjustments: 0,
    lastSampleAt: null,
    prevWalBytes: null,
    walRate: null,
    activeProfile: null,
    disk: null,
    alerts: NO_ALERTS,
    algo: {},
  };
}
