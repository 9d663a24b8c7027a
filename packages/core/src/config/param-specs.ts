import { MAX_WAL_SIZE_LIMIT_MB, MIN_WAL_SIZE_LIMIT_MB } from '../schemas.js';
import { ALGORITHM_NAMES, isAlgorithmName, PROACTIVE_SIZING_VALUES, type AlgorithmName, type Policy, type ProactiveSizing } from './policy.js';
import {
  BOOL_VALUES_TEXT,
  formatSizeMb,
  parseBool,
  parseInteger,
  parseReal,
  parseSizeMb,
  type ParseResult,
  type Range,
  SIZE_UNITS_TEXT,
} from './units.js';

export type ParamKind = 'bool' | 'size_mb' | 'int' | 'real' | 'enum' | 'string' | 'json';

export interface ParamSpec<K extends keyof Policy = keyof Policy> {
  /** The PostgreSQL parameter name, e.g. `walrus.max`. */
  readonly name: string;
  /** The Policy field it sets. */
  readonly key: K;
  readonly kind: ParamKind;
  /** The default as an operator would write it, e.g. `4GB`. */
  readonly defaultText: string;
  /** What values are allowed, for messages and documentation. */
  readonly allowed: string;
  readonly description: string;
  parse(text: string): ParseResult<Policy[K]>;
  /** A value as an operator would write it (for messages). */
  format(value: Policy[K]): string;
}

const sizeRange: Range = { min: MIN_WAL_SIZE_LIMIT_MB, max: MAX_WAL_SIZE_LIMIT_MB };
const SIZE_ALLOWED = `${MIN_WAL_SIZE_LIMIT_MB}MB .. ${MAX_WAL_SIZE_LIMIT_MB}MB; units ${SIZE_UNITS_TEXT}; bare number = MB`;

const formatBool = (b: boolean): string => (b ? 'on' : 'off');

function boolParam<K extends keyof Policy>(
  name: string,
  key: K,
  defaultText: string,
  description: string,
): ParamSpec<K> {
  return {
    name,
    key,
    kind: 'bool',
    defaultText,
    allowed: BOOL_VALUES_TEXT,
    description,
    parse: (text) => parseBool(text) as ParseResult<Policy[K]>,
    format: (value) => formatBool(value as boolean),
  };
}

function sizeParam<K extends keyof Policy>(
  name: string,
  key: K,
  defaultText: string,
  description: string,
): ParamSpec<K> {
  return {
    name,
    key,
    kind: 'size_mb',
    defaultText,
    allowed: SIZE_ALLOWED,
    description,
    parse: (text) => parseSizeMb(text, sizeRange) as ParseResult<Policy[K]>,
    format: (value) => formatSizeMb(value as number),
  };
}

function intParam<K extends keyof Policy>(
  name: string,
  key: K,
  defaultText: string,
  range: Range,
  unitNote: string,
  description: string,
): ParamSpec<K> {
  return {
    name,
    key,
    kind: 'int',
    defaultText,
    allowed: `integer ${range.min} .. ${range.max}${unitNote}`,
    description,
    parse: (text) => parseInteger(text, range) as ParseResult<Policy[K]>,
    format: (value) => String(value),
  };
}

// PostgreSQL matches enum values case-insensitively.
function parseAlgorithm(text: string): ParseResult<AlgorithmName> {
  const name = text.trim().toLowerCase();
  return isAlgorithmName(name) ? { ok: true, value: name } : { ok: false, error: 'unknown algorithm' };
}

/*
 * The channel is used with LISTEN as well as pg_notify(). LISTEN folds an
 * unquoted name to lower case, so a channel with capitals would silently
 * never match; 63 bytes is PostgreSQL's identifier limit (NAMEDATALEN - 1).
 */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

function parseChannel(text: string): ParseResult<string> {
  const channel = text.trim();
  if (channel === '' || CHANNEL.test(channel)) return { ok: true, value: channel };
  return { ok: false, error: 'not a valid channel name' };
}

/** Every parameter but walrus.profiles: a value each (walrus.profiles is a list of windows overriding some of these). */
export type ScalarKey = Exclude<keyof Policy, 'profiles'>;

/**
 * The `walrus.*` parameters with one value each, keyed by their Policy field,
 * in the order of ARCHITECTURE §3: each one's name, default, range and
 * parser, written once. A time profile's overrides parse through these too.
 */
export const SCALAR_PARAMS: { readonly [K in ScalarKey]: ParamSpec<K> } = {
  enable: boolParam(
    'walrus.enable',
    'enable',
    'on',
    'Resize max_wal_size automatically; off watches only and decides nothing.',
  ),
  maxMb: sizeParam('walrus.max', 'maxMb', '4GB', 'Largest max_wal_size walrus will set; larger targets are capped.'),
  threshold: intParam(
    'walrus.threshold',
    'threshold',
    '2',
    { min: 1, max: 1000 },
    ' forced checkpoints per interval',
    'Forced (requested) checkpoints in one interval that make max_wal_size grow.',
  ),
  shrinkEnable: boolParam(
    'walrus.shrink_enable',
    'shrinkEnable',
    'on',
    'Shrink max_wal_size again after sustained quiet intervals.',
  ),
  shrinkFactor: {
    name: 'walrus.shrink_factor',
    key: 'shrinkFactor',
    kind: 'real',
    defaultText: '0.75',
    allowed: 'number 0.01 .. 0.99',
    description: 'A shrink sets max_wal_size to ceil(current * factor), never below walrus.min_size.',
    parse: (text) => parseReal(text, { min: 0.01, max: 0.99 }),
    format: String,
  },
  shrinkIntervals: intParam(
    'walrus.shrink_intervals',
    'shrinkIntervals',
    '5',
    { min: 1, max: 1000 },
    ' quiet intervals',
    'Consecutive quiet intervals (fewer forced checkpoints than the threshold) before a shrink.',
  ),
  minSizeMb: sizeParam('walrus.min_size', 'minSizeMb', '1GB', 'Smallest max_wal_size a shrink will set.'),
  historyRetentionDays: intParam(
    'walrus.history_retention_days',
    'historyRetentionDays',
    '7',
    { min: 0, max: 3650 },
    ' days (0 deletes everything older than now)',
    'Days of decision history kept in walrus.history.',
  ),
  dryRun: boolParam(
    'walrus.dry_run',
    'dryRun',
    'off',
    'Decide and record, but never change max_wal_size (decisions have action dry_run).',
  ),
  cooldownSec: intParam(
    'walrus.cooldown_sec',
    'cooldownSec',
    '300',
    { min: 0, max: 86400 },
    ' seconds (0 = no cooldown)',
    'Minimum seconds between two automatic changes.',
  ),
  maxChangesPerHour: intParam(
    'walrus.max_changes_per_hour',
    'maxChangesPerHour',
    '4',
    { min: 0, max: 1000 },
    ' (0 blocks every automatic change)',
    'Most automatic changes in a one-hour window.',
  ),
  algorithm: {
    name: 'walrus.algorithm',
    key: 'algorithm',
    kind: 'enum',
    defaultText: 'multiplicative',
    allowed: ALGORITHM_NAMES.join(', '),
    description: 'How the grow target is computed.',
    parse: parseAlgorithm,
    format: String,
  },
  notifyChannel: {
    name: 'walrus.notify_channel',
    key: 'notifyChannel',
    kind: 'string',
    defaultText: 'walrus_events',
    allowed: 'empty (off), or 1 to 63 characters of [a-z0-9_] not starting with a digit',
    description: 'PostgreSQL NOTIFY channel of the history database for decision events; empty = off.',
    parse: parseChannel,
    format: (value) => (value === '' ? "''" : value),
  },
  additiveIncrementMb: intParam(
    'walrus.additive_increment_mb',
    'additiveIncrementMb',
    '512',
    { min: 1, max: MAX_WAL_SIZE_LIMIT_MB },
    ' MB',
    'additive: MB added to max_wal_size per forced checkpoint in the interval.',
  ),
  emaAlpha: {
    name: 'walrus.ema_alpha',
    key: 'emaAlpha',
    kind: 'real',
    defaultText: '0.2',
    allowed: 'number 0.01 .. 1',
    description: 'adaptive: weight of the newest whole-checkpoint-interval WAL rate in the moving average.',
    parse: (text) => parseReal(text, { min: 0.01, max: 1 }),
    format: String,
  },
  targetPercentile: intParam(
    'walrus.target_percentile',
    'targetPercentile',
    '95',
    { min: 1, max: 100 },
    '',
    'percentile: the percentile of the recent per-interval WAL rates that max_wal_size is sized for.',
  ),
  proactiveSizing: {
    name: 'walrus.proactive_sizing',
    key: 'proactiveSizing',
    kind: 'enum',
    defaultText: 'auto',
    allowed: `${PROACTIVE_SIZING_VALUES.join(', ')} (also any boolean; auto = on for adaptive and percentile, off otherwise)`,
    description: 'Grow before a forced checkpoint when the WAL projected per checkpoint_timeout exceeds what max_wal_size allows.',
    parse: parseProactive,
    format: String,
  },
  walDiskBudgetMb: {
    name: 'walrus.wal_disk_budget',
    key: 'walDiskBudgetMb',
    kind: 'size_mb',
    defaultText: 'off',
    allowed: `off (no budget), or ${SIZE_ALLOWED}`,
    description:
      'What the WAL volume may hold: max_wal_size is kept at or below this minus the WAL held by replication slots and wal_keep_size; off = no budget.',
    parse: parseBudget,
    format: (value) => (value === null ? 'off' : formatSizeMb(value)),
  },
  recurringPeriodSec: {
    name: 'walrus.recurring_period_sec',
    key: 'recurringPeriodSec',
    kind: 'int',
    defaultText: '86400',
    allowed: 'integer 0 (off) or 60 .. 604800 seconds',
    description:
      'The period over which loads recur (one day by default): the need is learned per slot of it, and max_wal_size is ready shortly before a load that came back; 0 turns the memory off.',
    parse: parseRecurringPeriod,
    format: String,
  },
  effectIntervals: intParam(
    'walrus.effect_intervals',
    'effectIntervals',
    '2',
    { min: 1, max: 100 },
    ' checkpoint_timeouts',
    'checkpoint_timeouts of samples after an applied change before its effect (forced checkpoints, WAL rate, checkpoint times, full-page images) is judged against the same span before it.',
  ),
  boundSlots: boolParam(
    'walrus.bound_slots',
    'boundSlots',
    'off',
    'With walrus.wal_disk_budget set: manage max_slot_wal_keep_size, so that replication slots cannot hold more WAL than the budget leaves (a slot past it is invalidated).',
  ),
  slotGraceSec: intParam(
    'walrus.slot_grace_sec',
    'slotGraceSec',
    '600',
    { min: 0, max: 604800 },
    ' seconds',
    'walrus.bound_slots: max_slot_wal_keep_size never leaves a slot being consumed less than this many seconds of WAL at the current rate, and a warned slot keeps them after the warning.',
  ),
  forecastHorizonSec: intParam(
    'walrus.forecast_horizon_sec',
    'forecastHorizonSec',
    '21600',
    { min: 60, max: 31536000 },
    ' seconds',
    'wal_disk_forecast fires when the WAL volume is forecast to reach walrus.wal_disk_budget within this many seconds.',
  ),
};

/** A size like walrus.max, or `off`: a cluster can also turn off a budget its service default sets. */
function parseBudget(text: string): ParseResult<number | null> {
  if (text.trim().toLowerCase() === 'off') return { ok: true, value: null };
  return parseSizeMb(text, sizeRange);
}

function parseRecurringPeriod(text: string): ParseResult<number> {
  const r = parseInteger(text, { min: 0, max: 604800 });
  if (r.ok && r.value > 0 && r.value < 60) return { ok: false, error: 'below 60 seconds (0 turns it off)' };
  return r;
}

function parseProactive(text: string): ParseResult<ProactiveSizing> {
  const t = text.trim().toLowerCase();
  if (t === 'auto') return { ok: true, value: 'auto' };
  const b = parseBool(t);
  return b.ok ? { ok: true, value: b.value ? 'on' : 'off' } : { ok: false, error: 'not auto or a boolean' };
}
