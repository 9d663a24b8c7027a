/**
 * What a cluster's configuration is, as types and names only: the leaf that
 * both the configuration parsers (config/) and the decision engine (engine/)
 * build on, so that neither needs the other to say what a Policy is.
 */

/** The sizing algorithms walrus.algorithm may name (ARCHITECTURE §3); each is a module under engine/algorithms/. */
export const ALGORITHM_NAMES = ['multiplicative', 'additive', 'adaptive', 'percentile'] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

export function isAlgorithmName(name: string): name is AlgorithmName {
  return (ALGORITHM_NAMES as readonly string[]).includes(name);
}

export const PROACTIVE_SIZING_VALUES = ['auto', 'on', 'off'] as const;
export type ProactiveSizing = (typeof PROACTIVE_SIZING_VALUES)[number];

/**
 * The effective configuration for one cluster: service defaults overlaid with
 * the cluster's own `walrus.*` settings (ARCHITECTURE §3).
 */
export interface Policy {
  enable: boolean;
  maxMb: number;
  threshold: number;
  shrinkEnable: boolean;
  shrinkFactor: number;
  shrinkIntervals: number;
  minSizeMb: number;
  historyRetentionDays: number;
  dryRun: boolean;
  cooldownSec: number;
  maxChangesPerHour: number;
  algorithm: AlgorithmName;
  /** PostgreSQL NOTIFY channel of the history database; "" = off. */
  notifyChannel: string;
  /** additive: MB added per forced checkpoint. */
  additiveIncrementMb: number;
  /** adaptive: weight of the newest whole-interval WAL rate in the moving average (per checkpoint interval). */
  emaAlpha: number;
  /** percentile: which percentile of the recent per-interval WAL rates to size for. */
  targetPercentile: number;
  /** Grow before a forced checkpoint when the projected WAL exceeds what max_wal_size allows; auto = on for adaptive and percentile. */
  proactiveSizing: ProactiveSizing;
  /**
   * What the WAL volume may hold (MB), or null for no budget (the default):
   * max_wal_size is kept at or below this minus the WAL held by replication
   * slots and wal_keep_size (engine/disk/).
   */
  walDiskBudgetMb: number | null;
  /** Seconds in the period over which loads recur (engine/recurring.ts); 0 = no recurring memory. */
  recurringPeriodSec: number;
  /** checkpoint_timeouts after an applied change before its effect is judged (engine/effect.ts). */
  effectIntervals: number;
  /** With a budget: walrus manages max_slot_wal_keep_size from what the budget leaves (engine/disk/slot-bound.ts). Off by default: an invalidated slot's consumer must be rebuilt. */
  boundSlots: boolean;
  /** Bound slots: how long a slot that is consumed right now (or one warned about) is kept valid, in seconds of WAL at the current rate. */
  slotGraceSec: number;
  /** wal_disk_forecast fires when the budget is forecast to be reached within this many seconds. */
  forecastHorizonSec: number;
  /** Named time windows overriding a few parameters (walrus.profiles). */
  profiles: TimeProfile[];
}

/** The parameters a time profile may override. */
export const PROFILE_OVERRIDE_KEYS = ['maxMb', 'threshold', 'shrinkEnable', 'algorithm'] as const;
export type ProfileOverrideKey = (typeof PROFILE_OVERRIDE_KEYS)[number];
export type ProfileOverrides = Partial<Pick<Policy, ProfileOverrideKey>>;

/** Weekdays as a profile names them; a day's number is its index (0 = Sunday, as Date#getDay). */
export const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

export interface TimeProfile {
  name: string;
  /** 0 = Sunday .. 6 = Saturday: the days on which the window starts. */
  days: number[];
  /** Local hour the window opens (0..23). */
  startHour: number;
  /** Local hour it closes (1..24); at or before startHour means the next day. */
  endHour: number;
  timeZone: string;
  overrides: ProfileOverrides;
}
