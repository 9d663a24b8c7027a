import { z } from 'zod';
import type { Policy } from '../../config/policy.js';
import type { Alert, AlertKind, ReplicationSlot } from '../../disk-schemas.js';
import type { Sample } from '../../schemas.js';
import { alertId } from './alert-id.js';
import { toMs } from '../time.js';
import { archiverHealth } from './archiver.js';
import { describeSlot, formatBytes, MB } from './holders.js';
import { archiverBacklog, FORECAST_CAUSES, FORECAST_CLEAR_FACTOR, formatDuration, type Forecast } from './forecast.js';
import { describeAtRisk, type SlotBound } from './slot-bound.js';
import { NO_SAMPLES_KEY, noSamplesResolved } from '../../fleet/no-samples.js';

/** A budget alert fires when its bytes reach this share of walrus.wal_disk_budget ... */
export const ALERT_RAISE_RATIO = 0.8;
/** ... and is resolved only once they are back under this share: no flapping around one threshold. */
export const ALERT_CLEAR_RATIO = 0.7;

/** The alerts firing now, by key (`wal_disk_budget`, `archiver_failing`, `slot_retention:<slot>`), with when each started: the cluster state's `alerts`. */
export const AlertKey = z.string().min(1).max(200);
export const AlertBookSchema = z.strictObject({
  firing: z.record(
    AlertKey,
    z.strictObject({
      since: z.iso.datetime({ offset: true }),
      /** wal_disk_forecast only: the holder the firing event named (see the forecast below). Optional: books stored before it have none. */
      cause: z.enum(FORECAST_CAUSES).optional(),
    }),
  ),
});
export type AlertBook = z.infer<typeof AlertBookSchema>;

export const NO_ALERTS: AlertBook = { firing: {} };

export interface AlertsResult {
  /** The book to store with the cluster's state. */
  state: AlertBook;
  /** Alert events to publish, in a fixed order: no_samples, wal_disk_budget, slot_retention by slot, slot_lost by slot, archiver_failing, wal_disk_forecast. */
  alerts: Alert[];
}

export { alertId } from './alert-id.js';

const SLOT_PREFIX = 'slot_retention:';
const LOST_PREFIX = 'slot_lost:';

/** What the engine worked out for this sample besides the book: the slots' keep size (walrus.bound_slots) and the forecast. */
export interface DiskContext {
  bound: SlotBound | null;
  forecast: Forecast | null;
}

const percent = (bytes: number, budgetBytes: number): string => `${Math.round((100 * bytes) / budgetBytes)} %`;

/**
 * Alerts with hysteresis (ARCHITECTURE §7), pure: raised when a value
 * crosses 80 % of walrus.wal_disk_budget, resolved once it is back under
 * 70 %, one event per crossing, per kind and per slot. `archiver_failing`
 * needs no budget (archiver.ts says when it fails). What a sample does not
 * report (an older collector) leaves that alert as it was; a budget turned
 * off resolves the budget alerts, and a slot that is gone resolves its own.
 */
export function evaluateAlerts(book: AlertBook, sample: Sample, policy: Policy, context: DiskContext = { bound: null, forecast: null }): AlertsResult {
  const firing = { ...book.firing };
  const alerts: Alert[] = [];
  const at = sample.collected_at;
  const budgetBytes = policy.walDiskBudgetMb === null ? null : policy.walDiskBudgetMb * MB;
  const budgetText = policy.walDiskBudgetMb === null ? '' : `walrus.wal_disk_budget ${formatBytes(policy.walDiskBudgetMb * MB)}`;

  const emit = (key: string, kind: AlertKind, state: Alert['state'], detail: string, extra: Partial<Alert> = {}) => {
    const slot = extra.slot;
    alerts.push({
      v: 1,
      id: alertId(sample.cluster, kind, slot, state, at),
      cluster: sample.cluster,
      kind,
      state,
      at,
      detail,
      ...extra,
      ...(budgetBytes !== null ? { budget_bytes: budgetBytes } : {}),
    });
    if (state === 'firing') firing[key] = { since: at };
    else delete firing[key];
  };

  // no_samples (ARCHITECTURE §8): raised by the deciders' sweep, resolved by the next sample of the cluster.
  const quiet = noSamplesResolved(sample.cluster, book, at);
  if (quiet) {
    alerts.push(quiet);
    delete firing[NO_SAMPLES_KEY];
  }

  /** Hysteresis on one value against the budget; returns nothing, emits on a crossing. */
  const againstBudget = (key: string, bytes: number, budget: number, raise: () => void, clear: () => void) => {
    if (!(key in firing) && bytes >= ALERT_RAISE_RATIO * budget) raise();
    else if (key in firing && bytes < ALERT_CLEAR_RATIO * budget) clear();
  };

  // wal_disk_budget: what pg_wal holds.
  const used = sample.pg_wal_bytes;
  if (budgetBytes === null) {
    if ('wal_disk_budget' in firing) emit('wal_disk_budget', 'wal_disk_budget', 'resolved', 'walrus.wal_disk_budget is off: no budget to compare pg_wal with');
  } else if (used !== undefined) {
    const extra = { used_bytes: used };
    againstBudget(
      'wal_disk_budget',
      used,
      budgetBytes,
      () =>
        emit('wal_disk_budget', 'wal_disk_budget', 'firing', `pg_wal holds ${formatBytes(used)}: ${percent(used, budgetBytes)} of ${budgetText} (max_wal_size ${sample.max_wal_size_mb} MB)`, extra),
      () =>
        emit('wal_disk_budget', 'wal_disk_budget', 'resolved', `pg_wal holds ${formatBytes(used)}: ${percent(used, budgetBytes)} of ${budgetText}, under ${ALERT_CLEAR_RATIO * 100} % again`, extra),
    );
  }

  // slot_retention: each slot's WAL against the budget.
  const slots = sample.replication_slots;
  if (budgetBytes === null) {
    for (const key of Object.keys(firing).filter((k) => k.startsWith(SLOT_PREFIX)).sort()) {
      const slot = key.slice(SLOT_PREFIX.length);
      const retained = slots?.find((s) => s.name === slot)?.retained_bytes ?? 0;
      emit(key, 'slot_retention', 'resolved', `walrus.wal_disk_budget is off: no budget to compare replication slot ${slot} with`, { slot, retained_bytes: retained });
    }
  } else if (slots !== undefined) {
    const byName = new Map<string, ReplicationSlot>(slots.map((s) => [s.name, s]));
    // The sample lists the slots holding the most WAL; when it lists them all, a firing slot not listed is gone.
    const complete = sample.replication_slot_count === undefined || sample.replication_slot_count <= slots.length;
    const names = [...new Set([...slots.map((s) => s.name), ...Object.keys(firing).filter((k) => k.startsWith(SLOT_PREFIX)).map((k) => k.slice(SLOT_PREFIX.length))])].sort();
    for (const name of names) {
      const key = SLOT_PREFIX + name;
      const s = byName.get(name);
      if (!s) {
        if (complete && key in firing) emit(key, 'slot_retention', 'resolved', `replication slot ${name} no longer exists`, { slot: name, retained_bytes: 0 });
        continue;
      }
      const retained = s.retained_bytes ?? 0;
      const extra = { slot: name, retained_bytes: retained, wal_status: s.wal_status };
      const safe = s.safe_wal_size_bytes === null ? '' : `; ${formatBytes(Math.max(s.safe_wal_size_bytes, 0))} more before max_slot_wal_keep_size invalidates it`;
      // walrus.bound_slots: a slot at risk of invalidation is warned about before it is (slot-bound.ts), whatever its share of the budget.
      const risk = context.bound?.atRisk.find((r) => r.slot.name === name);
      if (risk && context.bound) {
        if (!(key in firing)) {
          emit(key, 'slot_retention', 'firing', describeAtRisk(risk, context.bound.keepMb, sample.idle_replication_slot_timeout_s), {
            ...extra,
            slot_keep_mb: context.bound.keepMb,
            grace_ends_at: risk.graceEndsAt,
          });
        }
        continue;
      }
      againstBudget(
        key,
        retained,
        budgetBytes,
        () =>
          emit(
            key,
            'slot_retention',
            'firing',
            `replication slot ${name} (${describeSlot(s)}) holds ${formatBytes(retained)} of WAL: ${percent(retained, budgetBytes)} of ${budgetText}${safe}`,
            extra,
          ),
        () =>
          emit(key, 'slot_retention', 'resolved', `replication slot ${name} holds ${formatBytes(retained)} of WAL: ${percent(retained, budgetBytes)} of ${budgetText}, under ${ALERT_CLEAR_RATIO * 100} % again`, extra),
      );
    }
  }

  // slot_lost: a slot PostgreSQL invalidated; no budget needed. Resolved when the slot is dropped (or made anew).
  if (slots !== undefined) {
    const complete = sample.replication_slot_count === undefined || sample.replication_slot_count <= slots.length;
    for (const s of [...slots].sort((x, y) => x.name.localeCompare(y.name))) {
      const key = LOST_PREFIX + s.name;
      const lost = s.wal_status === 'lost' || (s.invalidation_reason ?? null) !== null;
      if (lost && !(key in firing)) {
        const reason = s.invalidation_reason ?? 'wal_removed';
        emit(key, 'slot_lost', 'firing', describeLost(s.name, reason, s, sample), { slot: s.name, reason, wal_status: s.wal_status });
      } else if (!lost && key in firing) {
        emit(key, 'slot_lost', 'resolved', `replication slot ${s.name} is valid again (dropped and created anew)`, { slot: s.name, reason: 'recreated', wal_status: s.wal_status });
      }
    }
    if (complete) {
      const present = new Set(slots.map((s) => s.name));
      for (const key of Object.keys(firing).filter((k) => k.startsWith(LOST_PREFIX)).sort()) {
        const name = key.slice(LOST_PREFIX.length);
        if (!present.has(name)) emit(key, 'slot_lost', 'resolved', `replication slot ${name} was dropped`, { slot: name, reason: 'dropped' });
      }
    }
  }

  // archiver_failing: no budget needed.
  const health = archiverHealth(sample);
  const a = sample.archiver;
  if (health && a) {
    const extra = {
      failed_count: a.failed_count,
      last_failed_wal: a.last_failed_wal,
      last_failed_at: a.last_failed_at,
      pending_files: a.pending_files,
      pending_bytes: archiverBacklog(sample)?.bytes ?? null,
    };
    const wasFiring = 'archiver_failing' in firing;
    if (health.failing && !wasFiring) emit('archiver_failing', 'archiver_failing', 'firing', health.detail, extra);
    else if (!health.failing && wasFiring) emit('archiver_failing', 'archiver_failing', 'resolved', health.detail, extra);
  }

  // wal_disk_forecast: the budget is reached within walrus.forecast_horizon_sec at the current trend (forecast.ts).
  const f = context.forecast;
  if (f !== null) {
    const horizon = policy.forecastHorizonSec;
    // No `slot` field: the alert is one per cluster (walrus.alerts_firing keys on kind and slot), and the detail names the slot.
    const extra = { eta_seconds: f.etaSec, cause: f.cause, ...(f.usedBytes !== null ? { used_bytes: f.usedBytes } : {}) };
    const was = firing['wal_disk_forecast'];
    const within = f.etaSec !== null && f.etaSec <= horizon;
    // pg_wal is the cause named when no slot or archiver trend is known yet (a
    // backlog's first sample has none): once one is, a firing alert that named
    // pg_wal fires again naming the holder, once per firing episode (a named
    // holder is never replaced by another, so causes cannot flap).
    const named = f.cause !== null && f.cause !== 'pg_wal';
    const sharpened = was !== undefined && within && named && (was.cause ?? 'pg_wal') === 'pg_wal';
    if ((was === undefined && within) || sharpened) {
      emit('wal_disk_forecast', 'wal_disk_forecast', 'firing', `${f.detail}, within walrus.forecast_horizon_sec ${formatDuration(horizon)}`, extra);
      firing['wal_disk_forecast'] = { since: was?.since ?? at, ...(f.cause !== null ? { cause: f.cause } : {}) };
    } else if (was !== undefined && (budgetBytes === null || f.etaSec === null || f.etaSec > FORECAST_CLEAR_FACTOR * horizon)) {
      emit('wal_disk_forecast', 'wal_disk_forecast', 'resolved', f.detail, extra);
    }
  }

  return { state: { firing }, alerts };
}

function describeLost(name: string, reason: string, s: ReplicationSlot, sample: Sample): string {
  const why =
    reason === 'wal_removed'
      ? s.invalidation_reason === undefined
        ? 'it needed WAL that was removed (wal_status lost; PostgreSQL before 17 gives no other cause): it held more than max_slot_wal_keep_size'
        : 'it needed WAL that was removed: it held more than max_slot_wal_keep_size'
      : reason === 'idle_timeout'
        ? `it was idle for longer than idle_replication_slot_timeout${sample.idle_replication_slot_timeout_s ? ` (${sample.idle_replication_slot_timeout_s} s)` : ''}`
        : `invalidation_reason ${reason}`;
  const keep = sample.max_slot_wal_keep_size_mb !== undefined && sample.max_slot_wal_keep_size_mb >= 0 ? ` (max_slot_wal_keep_size ${sample.max_slot_wal_keep_size_mb} MB)` : '';
  return `replication slot ${name} (${s.type}) was invalidated: ${why}${reason === 'wal_removed' ? keep : ''}${s.inactive_since ? `; inactive since ${s.inactive_since}` : ''}; its consumer must be rebuilt (drop the slot once it is)`;
}
