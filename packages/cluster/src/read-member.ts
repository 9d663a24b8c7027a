import type { ClientBase } from 'pg';
import { overlaySettings, WALRUS_PARAM_NAMES, type Sample } from '@walrus/core';
import { readSample } from './sql/read-sample.js';
import { readWalDisk } from './sql/read-wal-disk.js';
import type { SuperuserCheck } from './superuser.js';

export interface MemberRead {
  /** The sample, with the WAL disk fields when they could be read. */
  sample: Sample;
  /** Why the WAL disk read failed (the sample goes out without it), or null. */
  diskError: unknown;
}

/**
 * One read of a member, the same for the collector and the control
 * service's live reads: the statistics (readSample), the once-per-process
 * superuser warning on the connection in hand, what holds the WAL disk (a
 * failure there never costs the sample: without pg_monitor it is left out),
 * and the registry's parameters laid under the server's own settings.
 */
export async function readMemberSample(
  client: ClientBase,
  o: { cluster: string; member?: string; now: () => Date; superusers?: SuperuserCheck; settings?: Record<string, string> },
): Promise<MemberRead> {
  let sample = await readSample(client, o.cluster, WALRUS_PARAM_NAMES, o.now, o.member !== undefined ? { member: o.member } : {});
  // Once per cluster and process (a query on the first read only).
  await o.superusers?.check(client, o.cluster);
  let diskError: unknown = null;
  try {
    sample = { ...sample, ...(await readWalDisk(client)) };
  } catch (err) {
    diskError = err;
  }
  if (o.settings && Object.keys(o.settings).length > 0) sample = { ...sample, settings: overlaySettings(o.settings, sample.settings) };
  return { sample, diskError };
}
