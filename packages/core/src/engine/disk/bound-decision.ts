import { isExecutable } from '../../schemas.js';
import { decisionFrom, withTypedFields } from '../decision.js';
import type { EvaluateInput, EvaluateResult } from '../evaluation.js';
import { sizingStatus } from '../sizing-status.js';
import type { ClusterState } from '../state/current.js';
import { slotBound, type SlotBound } from './slot-bound.js';

/**
 * walrus.bound_slots after the §4 rules have had their say on a sample
 * (docs/DISK-SAFETY.md, "Bounding the slots"):
 *
 * - a decision that changes max_wal_size carries the keep size that goes
 *   with its new size (so the two move in step, in one reload); a dry run
 *   carries the one it would set;
 * - with no decision, a keep size in force that is unlimited, too large for
 *   the budget, or below what a protected slot needs gets a decision of its
 *   own: new_size_mb = old_size_mb, `increase` or `decrease` by the keep
 *   size's direction, metadata.trigger = "bound_slots". It is safety, like
 *   the budget's shrink: no cooldown or hourly limit holds it back, and it
 *   is not counted as a change of max_wal_size; the emergency stop
 *   (walrus.max_changes_per_hour = 0) and walrus.dry_run still hold.
 * - a `skipped` decision carries nothing (the applier does not act on it);
 *   the keep size follows at the next sample.
 */
export function withSlotBound(input: EvaluateInput, result: EvaluateResult, walRateBytesPerSec: number | null): EvaluateResult & { bound: SlotBound | null } {
  const { sample, policy } = input;
  const d = result.decision;
  const changesSize = d !== null && (isExecutable(d.action) || d.action === 'dry_run');
  const bound = slotBound({
    sample,
    policy,
    targetMb: changesSize ? d.new_size_mb : sample.max_wal_size_mb,
    walRateBytesPerSec,
    grace: result.state.slotGrace,
  });
  if (bound === null) {
    // Turned off (or the budget is): nothing is warned about any more; the keep size in force is left as it is.
    const { slotGrace: _gone, ...state } = result.state;
    return { ...result, state, bound: null };
  }
  const state: ClusterState = { ...result.state, slotGrace: bound.grace };
  if (d !== null && changesSize) {
    if (bound.currentMb === bound.keepMb) return { ...result, state, bound };
    const decision = withTypedFields({ ...d, reason: `${d.reason}; ${bound.reason}`, metadata: { ...d.metadata, ...boundMetadata(bound) } }, { slotKeepMb: bound.keepMb });
    return { ...result, state, decision, bound };
  }
  if (d !== null || !bound.changeNeeded || bound.currentMb === undefined) return { ...result, state, bound };

  const from = bound.currentMb;
  const direction = from === -1 || bound.keepMb < from ? 'decrease' : 'increase';
  const blocked = policy.maxChangesPerHour === 0;
  const action = blocked ? 'skipped' : policy.dryRun ? 'dry_run' : direction;
  const what = `max_slot_wal_keep_size ${from === -1 ? 'unlimited (-1)' : `${from} MB`} → ${bound.keepMb} MB, max_wal_size stays ${sample.max_wal_size_mb} MB`;
  const reason =
    (blocked ? `${what} blocked: walrus.max_changes_per_hour = 0 blocks every automatic change; ` : policy.dryRun ? `dry run, would set ${what}: ` : `${what}: `) + bound.reason;
  const decision = decisionFrom(input, {
    action,
    newSizeMb: sample.max_wal_size_mb,
    forced: 0,
    reason,
    metadata: {
      ...boundMetadata(bound),
      trigger: 'bound_slots',
      ...(blocked ? { would_apply: direction, blocked_by: 'hourly_limit', blocked_until: null } : {}),
      ...(policy.dryRun ? { would_apply: direction, dry_run: true } : {}),
    },
    typed: { sizingStatus: sizingStatus(state, sample), slotKeepMb: bound.keepMb },
  });
  return { ...result, state, decision, outcome: { kind: 'decision', reason }, bound };
}

function boundMetadata(b: SlotBound): Record<string, unknown> {
  return {
    slot_keep_from_mb: b.currentMb ?? null,
    slot_keep_bound_mb: b.boundMb,
    slot_keep_margin_mb: b.marginMb,
    ...(b.floorMb > b.boundMb && b.protecting ? { slot_keep_floor_mb: b.floorMb, slot_keep_protects: b.protecting.name } : {}),
    ...(b.atRisk.length > 0 ? { slots_at_risk: b.atRisk.map((r) => r.slot.name) } : {}),
  };
}
