import type { Policy } from '../config/policy.js';
import type { Decision, DecisionAction, Sample, SizingStatus } from '../schemas.js';
import { decisionId } from './decision-id.js';

export interface DecisionSpec {
  action: DecisionAction;
  newSizeMb: number;
  /** Requested checkpoints counted in the evaluated interval. */
  forced: number;
  reason: string;
  metadata: Record<string, unknown>;
  /** A decision about one member (a failover restore, a standby brought to size): its id names the member too (decision-id.ts). */
  aboutMember?: string;
  typed?: TypedFields;
}

/** A decision from `sample`, as the rules of every kind make it. */
export function decisionFrom(input: { sample: Sample; policy: Policy; now: string }, spec: DecisionSpec): Decision {
  const { sample, policy } = input;
  const decision: Decision = {
    v: 1,
    id: decisionId(sample.cluster, sample.collected_at, spec.aboutMember),
    cluster: sample.cluster,
    decided_at: input.now,
    sample_at: sample.collected_at,
    action: spec.action,
    old_size_mb: sample.max_wal_size_mb,
    new_size_mb: spec.newSizeMb,
    forced_checkpoints: spec.forced,
    checkpoint_timeout_sec: sample.checkpoint_timeout_s,
    algorithm: policy.algorithm,
    reason: spec.reason,
    metadata: spec.metadata,
  };
  return spec.typed ? withTypedFields(decision, spec.typed) : decision;
}

export interface TypedFields {
  /** The member that was primary (null: not known), for clusters whose samples name members. */
  primaryMember?: string | null;
  /** The one member the decision is for. */
  targetMember?: string;
  sizingStatus?: SizingStatus;
  /** walrus.bound_slots: the keep size to put in force with the size. */
  slotKeepMb?: number;
}

/**
 * The decision with its typed fields set, and their copies in `metadata`
 * under the same names (schemas.ts DECISION_METADATA_COPIES), which
 * subscribers written before the typed fields read. Written here only, so
 * that a copy never says something else than its field.
 */
export function withTypedFields(d: Decision, f: TypedFields): Decision {
  // Filled in place on fresh copies: this runs for every decision.
  const metadata = { ...d.metadata };
  const out: Decision = { ...d, metadata };
  if (f.primaryMember !== undefined) {
    metadata['primary_member'] = f.primaryMember;
    if (f.primaryMember !== null) out.primary_member = f.primaryMember;
  }
  if (f.targetMember !== undefined) metadata['target_member'] = out.target_member = f.targetMember;
  if (f.sizingStatus !== undefined) metadata['sizing_status'] = out.sizing_status = f.sizingStatus;
  if (f.slotKeepMb !== undefined) metadata['max_slot_wal_keep_size_mb'] = out.max_slot_wal_keep_size_mb = f.slotKeepMb;
  return out;
}
