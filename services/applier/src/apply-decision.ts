import type { ApplyResult, ApplyStatus, Decision, MemberOutcome } from '@walrus/core';
import type { ClientBase } from 'pg';
import { errorMessage, isTransientPgError, sqlState } from '@walrus/runtime';
import { readMaxWalSize, readSlotKeep } from './sql/max-wal-size.js';
import { missingGrants, readPrivileges } from './sql/privileges.js';
import { alterSystemStrategy } from './strategies/alter-system.js';
import { ManagerError, type ApplyStrategy } from './strategies/types.js';

export type Attempt =
  | {
      kind: 'done';
      status: ApplyStatus;
      maxWalSizeMb: number | null;
      error: string | null;
      /** walrus.bound_slots: max_slot_wal_keep_size read back (MB, -1 unlimited), when the decision set it. */
      slotKeepMb?: number;
      /** Clusters with several members: the member applied to as primary (or the one targeted), and every member's part. */
      member?: string;
      members?: MemberOutcome[];
    }
  | { kind: 'transient'; error: string };

export interface AttemptOptions {
  client: ClientBase;
  decision: Decision;
  /** How long to wait for the reloaded value to show. */
  verifyTimeoutMs: number;
  sleep: (ms: number) => Promise<void>;
  monotonicMs: () => number;
  /** How the size is put in force; default ALTER SYSTEM on the connected node. */
  strategy?: ApplyStrategy;
}

const done = (status: ApplyStatus, maxWalSizeMb: number | null, error: string | null, slotKeepMb?: number): Extract<Attempt, { kind: 'done' }> => ({
  kind: 'done',
  status,
  maxWalSizeMb,
  error,
  ...(slotKeepMb !== undefined ? { slotKeepMb } : {}),
});

/**
 * One attempt at carrying out a decision on its cluster: check the grants,
 * refuse when someone else changed max_wal_size, ALTER SYSTEM + reload, then
 * read the value back until it shows.
 */
export async function attemptApply(o: AttemptOptions): Promise<Attempt> {
  const d = o.decision;
  const keep = d.max_slot_wal_keep_size_mb;
  try {
    const missing = missingGrants(await readPrivileges(o.client), { slotKeep: keep !== undefined });
    if (missing.length > 0) {
      return done('failed', null, `missing grant: ${missing.join('; ')}`);
    }
    const before = await readMaxWalSize(o.client);
    if (before.mb === d.new_size_mb) {
      // Already in force: a redelivery after our own earlier attempt (or a DBA
      // who chose the same size). Either way the decision's size holds; a
      // keep size it carries (walrus.bound_slots, also alone) is set if not in force.
      if (keep === undefined || (await readSlotKeep(o.client)).mb === keep) return done('applied', before.mb, null, keep);
      try {
        await (o.strategy ?? alterSystemStrategy).apply(o.client, d.new_size_mb, keep);
      } catch (err) {
        return classifyAlterError(err, { grantsHeld: true });
      }
      return await verifySize(o, o.client, d.new_size_mb, keep);
    }
    if (before.mb !== d.old_size_mb) {
      return done(
        'stale',
        before.mb,
        `max_wal_size is ${before.mb} MB on the server but the decision was computed from ${d.old_size_mb} MB (changed by someone else): nothing done`,
      );
    }
    try {
      await (o.strategy ?? alterSystemStrategy).apply(o.client, d.new_size_mb, keep);
    } catch (err) {
      // The grants were read above: a refusal now is not for want of them.
      return classifyAlterError(err, { grantsHeld: true });
    }
    return await verifySize(o, o.client, d.new_size_mb, keep);
  } catch (err) {
    if (isTransientPgError(err)) return { kind: 'transient', error: errorMessage(err) };
    return done('failed', null, `unexpected error: ${errorMessage(err)}`);
  }
}

/** Reads max_wal_size (and max_slot_wal_keep_size, when `slotKeepMb` is given) back until they show the decision's values or the verify timeout passes; says why when they do not. */
export async function verifySize(
  o: Pick<AttemptOptions, 'verifyTimeoutMs' | 'sleep' | 'monotonicMs' | 'strategy'>,
  client: ClientBase,
  sizeMb: number,
  slotKeepMb?: number,
): Promise<Extract<Attempt, { kind: 'done' }>> {
  const deadline = o.monotonicMs() + o.verifyTimeoutMs;
  const readKeep = async () => (slotKeepMb === undefined ? undefined : (await readSlotKeep(client)).mb);
  let live = await readMaxWalSize(client);
  let keep = await readKeep();
  // The reload reaches our own backend a few milliseconds later, usually:
  // look again soon, then back off to 50 ms.
  for (let pause = 2; (live.mb !== sizeMb || keep !== slotKeepMb) && o.monotonicMs() < deadline; pause = Math.min(pause * 2, 50)) {
    await o.sleep(pause);
    live = await readMaxWalSize(client);
    keep = await readKeep();
  }
  if (live.mb === sizeMb && keep === slotKeepMb) return done('applied', live.mb, null, keep);
  if (live.mb === sizeMb && keep !== undefined) {
    const source = (await readSlotKeep(client)).source;
    return done(
      'failed',
      live.mb,
      source === 'command line'
        ? `max_slot_wal_keep_size is set on the server's command line (source: command line), which overrides ALTER SYSTEM: it stays ${keep} MB, not ${String(slotKeepMb)} MB`
        : `max_slot_wal_keep_size still shows ${keep} MB (source: ${source}), not ${String(slotKeepMb)} MB, after ${o.verifyTimeoutMs} ms`,
      keep,
    );
  }
  if (live.source === 'command line') {
    return done(
      'failed',
      live.mb,
      `max_wal_size is set on the server's command line (source: command line), which overrides ALTER SYSTEM: the reload changed nothing; set it where the server is started`,
    );
  }
  return done(
    'failed',
    live.mb,
    `after ${o.strategy?.name === 'patroni' ? 'ALTER SYSTEM RESET and Patroni PATCH /config' : 'ALTER SYSTEM and pg_reload_conf()'} max_wal_size still shows ${live.mb} MB (source: ${live.source}) after ${o.verifyTimeoutMs} ms`,
  );
}

/**
 * What a failed change means, by SQLSTATE. `grantsHeld`: the role was seen
 * to hold ALTER SYSTEM on max_wal_size and EXECUTE on pg_reload_conf() just
 * before, so a "permission denied" (42501, also what a file the server may
 * not write gives) is the server's postgresql.auto.conf, not a missing grant.
 */
export function classifyAlterError(err: unknown, o: { grantsHeld?: boolean } = {}): Attempt {
  if (err instanceof ManagerError) {
    return err.transient ? { kind: 'transient', error: err.message } : done('failed', null, err.message);
  }
  if (isTransientPgError(err)) return { kind: 'transient', error: errorMessage(err) };
  const state = sqlState(err);
  const message = errorMessage(err);
  if (state === '0A000') {
    return done(
      'failed',
      null,
      `ALTER SYSTEM is disabled on this server (${message}; allow_alter_system = off): set max_wal_size through the cluster's manager instead (CloudNativePG: spec.postgresql.parameters; Patroni: PATCH /config)`,
    );
  }
  if (state === '42501' && o.grantsHeld) {
    return done(
      'failed',
      null,
      `cannot write postgresql.auto.conf (${message}): it is read-only for ALTER SYSTEM, as CloudNativePG makes it before PostgreSQL 17; set max_wal_size through the cluster's manager (CloudNativePG: spec.postgresql.parameters)`,
    );
  }
  if (state === '42501') {
    return done(
      'failed',
      null,
      `permission denied (${message}): GRANT ALTER SYSTEM ON PARAMETER max_wal_size and GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() to the applier's role`,
    );
  }
  return done('failed', null, `ALTER SYSTEM failed: ${message}${state ? ` (SQLSTATE ${state})` : ''}`);
}

export function toApplyResult(d: Decision, a: Extract<Attempt, { kind: 'done' }>, at: Date): ApplyResult {
  const failed = a.members?.filter((m) => m.status !== 'applied').map((m) => m.member);
  return {
    v: 1,
    decision_id: d.id,
    cluster: d.cluster,
    status: a.status,
    applied_at: at.toISOString(),
    max_wal_size_mb: a.maxWalSizeMb,
    error: a.error,
    ...(a.slotKeepMb !== undefined ? { max_slot_wal_keep_size_mb: a.slotKeepMb } : {}),
    ...(a.member !== undefined ? { member: a.member } : {}),
    ...(a.members !== undefined ? { members: a.members, failed_members: failed ?? [] } : {}),
  };
}
