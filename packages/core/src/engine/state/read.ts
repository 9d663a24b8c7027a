import { z } from 'zod';
import { CLUSTER_STATE_VERSION, ClusterStateV2, type ClusterState } from './current.js';
import { ClusterStateV1, upgradeV1 } from './v1.js';

export type StateRead =
  | {
      ok: true;
      state: ClusterState;
      /** The version it was written in (CLUSTER_STATE_VERSION when it needed no upgrade). */
      from: number;
      /** Parts of an earlier version that could not be carried over (v1.ts). */
      dropped: string[];
    }
  | {
      ok: false;
      reason: string;
      /** Written by a newer walrus than this one (its version is higher than CLUSTER_STATE_VERSION). */
      newer: boolean;
    };

const Versioned = z.object({ v: z.number().int() });

/**
 * A stored state of any version a decider ever wrote, as the current one
 * (ARCHITECTURE §8). Pure: the store (runtime's state-store.ts) reads the
 * bytes and decides what an unreadable state costs.
 */
export function readClusterState(json: unknown): StateRead {
  const version = Versioned.safeParse(json);
  if (!version.success) return { ok: false, reason: 'no state version (v)', newer: false };
  const v = version.data.v;
  if (v > CLUSTER_STATE_VERSION) {
    return { ok: false, reason: `state version ${v} is newer than this walrus reads (1 to ${CLUSTER_STATE_VERSION})`, newer: true };
  }
  if (v === CLUSTER_STATE_VERSION) {
    const current = ClusterStateV2.safeParse(json);
    return current.success ? { ok: true, state: current.data, from: v, dropped: [] } : invalid(v, current.error);
  }
  if (v === 1) {
    const old = ClusterStateV1.safeParse(json);
    if (!old.success) return invalid(v, old.error);
    const upgraded = upgradeV1(old.data);
    return { ok: true, state: upgraded.state, from: 1, dropped: upgraded.dropped };
  }
  return { ok: false, reason: `unknown state version ${v}`, newer: false };
}

function invalid(v: number, error: z.ZodError): StateRead {
  const first = error.issues[0];
  const where = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid';
  return { ok: false, reason: `state version ${v} does not pass its schema (${where})`, newer: false };
}
