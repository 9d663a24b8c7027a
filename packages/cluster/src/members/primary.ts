import type { MemberEndpoint } from './cluster-url.js';

/** What one member said about itself (or why it said nothing). */
export interface MemberRole {
  member: string;
  /** null: not reachable (see error). */
  inRecovery: boolean | null;
  timeline: number | null;
  error: string | null;
}

export interface PrimaryChoice {
  /** The member taken for the primary, or null when no reachable member is out of recovery. */
  primary: string | null;
  roles: MemberRole[];
  /** Every member out of recovery: more than one is a split brain of the moment (a stale old primary). */
  contenders: string[];
}

/**
 * Picks the primary among members' answers: a member out of recovery, and of
 * several (an old primary not yet demoted after a failover) the one on the
 * highest timeline, since a promotion always starts a new timeline; the
 * order of the list breaks a tie.
 */
export function choosePrimary(roles: MemberRole[]): PrimaryChoice {
  const contenders = roles.filter((r) => r.inRecovery === false);
  let best: MemberRole | undefined;
  for (const r of contenders) if (!best || (r.timeline ?? 0) > (best.timeline ?? 0)) best = r;
  return { primary: best?.member ?? null, roles, contenders: contenders.map((r) => r.member) };
}

/** Asks every member at once (`probe` connects and reads its role) and picks the primary. */
export async function findPrimary(
  members: readonly MemberEndpoint[],
  probe: (m: MemberEndpoint) => Promise<{ inRecovery: boolean; timeline: number | null }>,
): Promise<PrimaryChoice> {
  const roles = await Promise.all(
    members.map(async (m): Promise<MemberRole> => {
      try {
        const r = await probe(m);
        return { member: m.name, inRecovery: r.inRecovery, timeline: r.timeline, error: null };
      } catch (err) {
        return { member: m.name, inRecovery: null, timeline: null, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return choosePrimary(roles);
}
