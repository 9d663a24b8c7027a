import { findPrimary, readRole, type MemberEndpoint } from '@walrus/cluster';
import type { Decision, MemberOutcome } from '@walrus/core';
import { errorMessage, isTransientPgError as isTransient } from '@walrus/runtime';
import type { PoolClient } from 'pg';
import { attemptApply, classifyAlterError, verifySize, type Attempt, type AttemptOptions } from './apply-decision.js';
import { readMaxWalSize, readSlotKeep } from './sql/max-wal-size.js';
import { missingGrants, readPrivileges } from './sql/privileges.js';
import { alterSystemStrategy } from './strategies/alter-system.js';
import { isPatroni } from './strategies/patroni.js';

type Done = Extract<Attempt, { kind: 'done' }>;

export interface MembersAttemptOptions extends Omit<AttemptOptions, 'client'> {
  members: readonly MemberEndpoint[];
  /** A connection to the member (from its pool); throws when the member cannot be reached. */
  connect: (m: MemberEndpoint) => Promise<PoolClient>;
}

interface Connected {
  member: MemberEndpoint;
  client: PoolClient | null;
  error: string | null;
  /** Released as broken (a transient error on it). */
  broken: boolean;
}

/**
 * One attempt at a decision on a cluster of several members.
 *
 * A decision for the whole cluster goes to the primary first (found by
 * asking every member: out of recovery, the highest timeline of several),
 * with the single-host checks (grants, the stale check against
 * `old_size_mb`, read back); only when the primary took it, to every
 * reachable standby, whose own size may differ and is not checked against
 * the decision (a standby takes the primary's size). Under Patroni: the
 * primary's stale check, then `ALTER SYSTEM RESET max_wal_size` + reload on
 * every reachable member, one `PATCH /config`, and the value read back on
 * each. The outcome is the primary's; each member's part is listed.
 *
 * A decision naming one member (`target_member`, a standby brought
 * to the cluster's size) goes to that member alone; when it cannot be
 * reached the outcome is `failed` at once, not retried: the next sample of
 * that member asks again, and the cluster's later decisions are not held up.
 */
export async function attemptOnMembers(o: MembersAttemptOptions): Promise<Attempt> {
  const target = o.decision.target_member;
  if (target !== undefined) return attemptOnMember(o, target);
  const connected = await connectAll(o);
  try {
    const choice = await findPrimary(
      connected.filter((c) => c.client).map((c) => c.member),
      async (m) => {
        const client = connected.find((c) => c.member.name === m.name)?.client;
        if (!client) throw new Error(`no connection to member ${m.name}`);
        return readRole(client);
      },
    );
    for (const r of choice.roles) if (r.error !== null) markBroken(connected, r.member, r.error);
    const primary = connected.find((c) => c.member.name === choice.primary);
    if (!primary?.client) {
      const why = connected.map((c) => `${c.member.name}: ${c.error ?? 'in recovery'}`).join('; ');
      return { kind: 'transient', error: `no reachable member of the cluster is out of recovery (${why})` };
    }
    const roleOf = (c: Connected | undefined): MemberOutcome['role'] => (c === primary ? 'primary' : c?.client ? 'standby' : 'unknown');
    const standbys = connected.filter((c) => c !== primary);
    const outcomes = isPatroni(o.strategy ?? alterSystemStrategy)
      ? await viaPatroni(o, primary, primary.client, standbys)
      : await viaAlterSystem(o, primary, primary.client, standbys);
    if (outcomes.kind === 'transient') return outcomes;
    const members = outcomes.members.map((m) => ({ ...m, role: roleOf(connected.find((c) => c.member.name === m.member)) }));
    return { ...outcomes.primary, member: primary.member.name, members };
  } finally {
    for (const c of connected) c.client?.release(c.broken);
  }
}

type MembersDone = { kind: 'done'; primary: Done; members: MemberOutcome[] } | { kind: 'transient'; error: string };

/** `client` is the primary's connection (`primary.client`, there). */
async function viaAlterSystem(o: MembersAttemptOptions, primary: Connected, client: PoolClient, standbys: Connected[]): Promise<MembersDone> {
  const first = await attemptApply({ ...o, client, strategy: alterSystemStrategy });
  if (first.kind === 'transient') {
    primary.broken = true;
    return first;
  }
  const mine = outcomeOf(primary.member.name, first);
  if (first.status !== 'applied') return { kind: 'done', primary: first, members: [mine] };
  const others = await Promise.all(standbys.map((s) => onStandby(o, s)));
  return { kind: 'done', primary: first, members: [mine, ...others] };
}

/** A standby takes the size the primary took: grants checked, ALTER SYSTEM + reload, read back. */
async function onStandby(o: MembersAttemptOptions, s: Connected): Promise<MemberOutcome> {
  const size = o.decision.new_size_mb;
  const keep = o.decision.max_slot_wal_keep_size_mb;
  if (!s.client) return unreachable(s);
  try {
    const missing = missingGrants(await readPrivileges(s.client), { slotKeep: keep !== undefined });
    if (missing.length > 0) return failedOutcome(s, `missing grant: ${missing.join('; ')}`);
    // Every member gets the keep size too: a standby's own slots (cascading replicas) fill its own WAL volume.
    if ((await readMaxWalSize(s.client)).mb !== size || (keep !== undefined && (await readSlotKeep(s.client)).mb !== keep)) {
      try {
        await alterSystemStrategy.apply(s.client, size, keep);
      } catch (err) {
        // The grants were read above: a refusal now is not for want of them.
        const a = classifyAlterError(err, { grantsHeld: true });
        return a.kind === 'transient' ? failedOutcome(s, a.error, true) : outcomeOf(s.member.name, a);
      }
    }
    return outcomeOf(s.member.name, await verifySize({ ...o, strategy: alterSystemStrategy }, s.client, size, keep));
  } catch (err) {
    return failedOutcome(s, errorMessage(err), isTransient(err));
  }
}

/** `client` is the primary's connection (`primary.client`, there). */
async function viaPatroni(o: MembersAttemptOptions, primary: Connected, client: PoolClient, standbys: Connected[]): Promise<MembersDone> {
  const strategy = o.strategy;
  if (!strategy || !isPatroni(strategy)) throw new Error('viaPatroni without the patroni strategy');
  const d = o.decision;
  const keep = d.max_slot_wal_keep_size_mb;
  const name = primary.member.name;
  try {
    const missing = missingGrants(await readPrivileges(client), { slotKeep: keep !== undefined });
    if (missing.length > 0) return doneOnPrimary(name, done('failed', null, `missing grant: ${missing.join('; ')}`));
    const before = await readMaxWalSize(client);
    if (before.mb !== d.new_size_mb && before.mb !== d.old_size_mb) {
      return doneOnPrimary(
        name,
        done('stale', before.mb, `max_wal_size is ${before.mb} MB on the primary ${name} but the decision was computed from ${d.old_size_mb} MB (changed by someone else): nothing done`),
      );
    }
    // postgresql.auto.conf shadows Patroni's value on each member: reset it everywhere first.
    try {
      await strategy.resetOn(client, keep !== undefined);
    } catch (err) {
      const a = classifyAlterError(err, { grantsHeld: true });
      if (a.kind === 'transient') primary.broken = true;
      return a.kind === 'transient' ? a : doneOnPrimary(name, a);
    }
    const resetFailed = new Map<string, MemberOutcome>();
    await Promise.all(
      standbys.map(async (s) => {
        if (!s.client) return;
        try {
          await strategy.resetOn(s.client, keep !== undefined);
        } catch (err) {
          const a = classifyAlterError(err);
          resetFailed.set(s.member.name, a.kind === 'transient' ? failedOutcome(s, a.error, true) : outcomeOf(s.member.name, a));
        }
      }),
    );
    try {
      await strategy.patch(d.new_size_mb, keep);
    } catch (err) {
      const a = classifyAlterError(err);
      return a.kind === 'transient' ? a : doneOnPrimary(name, a);
    }
    const [first, ...others] = await Promise.all([
      takeOrOverride(o, client, d.new_size_mb, keep),
      ...standbys.map(async (s): Promise<MemberOutcome> => {
        if (!s.client) return unreachable(s);
        const failed = resetFailed.get(s.member.name);
        if (failed) return failed;
        try {
          const t = await takeOrOverride(o, s.client, d.new_size_mb, keep);
          return { ...outcomeOf(s.member.name, t.result), via: t.via };
        } catch (err) {
          return failedOutcome(s, errorMessage(err), isTransient(err));
        }
      }),
    ]);
    return { kind: 'done', primary: first.result, members: [{ ...outcomeOf(name, first.result), via: first.via }, ...others] };
  } catch (err) {
    if (isTransient(err)) {
      primary.broken = true;
      return { kind: 'transient', error: errorMessage(err) };
    }
    return doneOnPrimary(name, done('failed', null, `unexpected error: ${errorMessage(err)}`));
  }
}

async function attemptOnMember(o: MembersAttemptOptions, name: string): Promise<Attempt> {
  const member = o.members.find((m) => m.name === name);
  if (!member) {
    return done('failed', null, `member ${name} is not a member of cluster ${o.decision.cluster} (members: ${o.members.map((m) => m.name).join(', ') || 'none'})`, name);
  }
  let client: PoolClient;
  try {
    client = await o.connect(member);
  } catch (err) {
    return done('failed', null, `member ${name} unreachable (${errorMessage(err)}); its next sample asks again`, name);
  }
  let broken = false;
  try {
    const strategy = o.strategy;
    const a = strategy && isPatroni(strategy) ? await memberViaPatroni(o, client, name) : await attemptApply({ ...o, client });
    broken = a.kind === 'transient';
    if (a.kind === 'transient') return done('failed', null, `member ${name}: ${a.error}; its next sample asks again`, name);
    return { ...a, member: name };
  } finally {
    client.release(broken);
  }
}

async function connectAll(o: MembersAttemptOptions): Promise<Connected[]> {
  return Promise.all(
    o.members.map(async (member): Promise<Connected> => {
      try {
        return { member, client: await o.connect(member), error: null, broken: false };
      } catch (err) {
        return { member, client: null, error: errorMessage(err), broken: false };
      }
    }),
  );
}

function markBroken(connected: Connected[], name: string, error: string): void {
  const c = connected.find((x) => x.member.name === name);
  if (!c?.client) return;
  c.client.release(true);
  c.client = null;
  c.error = error;
}

function done(status: Done['status'], maxWalSizeMb: number | null, error: string | null, member?: string): Done {
  return { kind: 'done', status, maxWalSizeMb, error, ...(member !== undefined ? { member } : {}) };
}

function doneOnPrimary(name: string, a: Done): MembersDone {
  return { kind: 'done', primary: a, members: [outcomeOf(name, a)] };
}

function outcomeOf(member: string, a: Done): MemberOutcome {
  const status = a.status === 'rejected' ? 'failed' : a.status;
  return { member, role: 'unknown', status, max_wal_size_mb: a.maxWalSizeMb, error: a.error };
}

function failedOutcome(s: Connected, error: string, transient = false): MemberOutcome {
  if (transient) s.broken = true;
  return { member: s.member.name, role: 'unknown', status: transient ? 'unreachable' : 'failed', max_wal_size_mb: null, error };
}

function unreachable(s: Connected): MemberOutcome {
  return { member: s.member.name, role: 'unknown', status: 'unreachable', max_wal_size_mb: null, error: s.error ?? 'not reachable' };
}

/**
 * Waits for Patroni's value to show on a member; when it does not (seen
 * here: a member whose PostgreSQL Patroni restarted while the PATCH
 * arrived keeps the old value, and Patroni, counting it as applied, never
 * writes it again), sets the cluster's size on that member with ALTER
 * SYSTEM. The value is the cluster's own, and walrus resets it before its
 * next PATCH /config, so it shadows nothing for long.
 */
async function takeOrOverride(o: MembersAttemptOptions, client: PoolClient, sizeMb: number, slotKeepMb?: number): Promise<{ result: Done; via: 'patroni' | 'alter_system' }> {
  const viaPatroni = await verifySize(o, client, sizeMb, slotKeepMb);
  if (viaPatroni.status === 'applied' || (await readMaxWalSize(client)).source === 'command line') return { result: viaPatroni, via: 'patroni' };
  try {
    await alterSystemStrategy.apply(client, sizeMb, slotKeepMb);
  } catch (err) {
    const a = classifyAlterError(err);
    return { result: a.kind === 'transient' ? done('failed', null, a.error) : a, via: 'alter_system' };
  }
  return { result: await verifySize({ ...o, strategy: alterSystemStrategy }, client, sizeMb, slotKeepMb), via: 'alter_system' };
}

/** A decision for one member under Patroni: its checks, its ALTER SYSTEM value reset, PATCH /config, read back (or set). */
async function memberViaPatroni(o: MembersAttemptOptions, client: PoolClient, name: string): Promise<Attempt> {
  const strategy = o.strategy;
  if (!strategy || !isPatroni(strategy)) throw new Error('memberViaPatroni without the patroni strategy');
  const d = o.decision;
  const keep = d.max_slot_wal_keep_size_mb;
  try {
    const missing = missingGrants(await readPrivileges(client), { slotKeep: keep !== undefined });
    if (missing.length > 0) return done('failed', null, `missing grant: ${missing.join('; ')}`);
    const before = await readMaxWalSize(client);
    if (before.mb === d.new_size_mb && (keep === undefined || (await readSlotKeep(client)).mb === keep)) return done('applied', before.mb, null);
    if (before.mb !== d.old_size_mb) {
      return done('stale', before.mb, `max_wal_size is ${before.mb} MB on member ${name} but the decision was computed from ${d.old_size_mb} MB (changed by someone else): nothing done`);
    }
    try {
      await strategy.resetOn(client, keep !== undefined);
      await strategy.patch(d.new_size_mb, keep);
    } catch (err) {
      return classifyAlterError(err, { grantsHeld: true });
    }
    const t = await takeOrOverride(o, client, d.new_size_mb, keep);
    return { ...t.result, members: [{ ...outcomeOf(name, t.result), role: 'standby', via: t.via }] };
  } catch (err) {
    if (isTransient(err)) return { kind: 'transient', error: errorMessage(err) };
    return done('failed', null, `unexpected error: ${errorMessage(err)}`);
  }
}
