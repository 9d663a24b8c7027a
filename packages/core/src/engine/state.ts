import { z } from 'zod';

const IsoTime = z.iso.datetime({ offset: true });
const Count = z.number().int().min(0);

/**
 * What the decider keeps per cluster between samples, stored as JSON in the
 * walrus_state KV bucket. Strict and versioned: a state written by another
 * version of the engine must be noticed, not half-read.
 */
export const ClusterStateV1 = z.strictObject({
  v: z.literal(1),
  /** checkpoints_requested of the last evaluated sample; null until a baseline exists. */
  prevRequested: Count.nullable(),
  /** Consecutive evaluated intervals with fewer forced checkpoints than the threshold. */
  quietIntervals: Count,
  /** collected_at of the sample behind the last change (including dry-run ones). */
  lastAdjustmentAt: IsoTime.nullable(),
  /** When the current one-hour rate-limit window opened. */
  hourWindowStart: IsoTime.nullable(),
  /** Changes counted in the window that opened at hourWindowStart. */
  changesThisHour: Count,
  /** Executable decisions emitted (increase, capped, decrease); dry runs and skips excluded. */
  totalAdjustments: Count,
  /** collected_at of the last sample evaluated (UTC); older or equal samples are ignored. */
  lastSampleAt: IsoTime.nullable(),
  /** wal_bytes of the last sample evaluated, for algorithms working on the WAL rate. */
  prevWalBytes: z.number().min(0).nullable(),
  /**
   * Stream sequence (WALRUS_SAMPLES) of the last sample evaluated. Decider
   * bookkeeping, not a rule input: it lets any decider find, in stream order,
   * the samples of this cluster that nobody has evaluated yet. Absent in
   * states written before it existed.
   */
  sampleSeq: Count.optional(),
  /**
   * When JetStream stored the sample behind lastSampleAt (the NATS server's
   * clock), set by the decider like sampleSeq: a later sample dated before
   * lastSampleAt, though stored much later, tells a collector clock that went
   * back (engine/clock.ts). Absent in states written before it existed.
   */
  lastSampleStoredAt: IsoTime.optional(),
  /** Each algorithm's private state under its name (plain JSON). */
  algo: z.record(z.string(), z.unknown()),
});
export type ClusterState = z.infer<typeof ClusterStateV1>;

export function initialState(): ClusterState {
  return {
    v: 1,
    prevRequested: null,
    quietIntervals: 0,
    lastAdjustmentAt: null,
    hourWindowStart: null,
    changesThisHour: 0,
    totalAdjustments: 0,
    lastSampleAt: null,
    prevWalBytes: null,
    algo: {},
  };
}
