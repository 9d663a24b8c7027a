import { AlertV1, ApplyResultV1, DecisionV1, formatBytes } from '@walrus/core';
import { clusterArg, intOption, noMorePositional, parseCommandArgs } from './options.js';
import type { CliConnection } from './client.js';
import type { Output } from './output.js';

/**
 * Decisions, outcomes and alerts as they happen, like LISTEN: a plain subscription
 * (nothing is stored or acknowledged). Runs until Ctrl-C, or `--count`
 * events. NATS going away ends it with exit code 3.
 */
export async function watchCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output, signal?: AbortSignal): Promise<number> {
  const args = parseCommandArgs(argv, { cluster: 'string', count: 'string', json: 'boolean' });
  noMorePositional(args.positional, 1);
  const cluster = clusterArg('watch', args.values.cluster ?? args.positional[0], false) ?? '>';
  const count = intOption('count', args.values.count, 1, 1_000_000);
  const json = args.values.json === true;
  const { nc } = await conn();
  const subjects = [`walrus.decision.${cluster}`, `walrus.applied.${cluster}`, `walrus.alert.${cluster}`];
  let seen = 0;
  let done!: (code: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  const subs = subjects.map((subject) =>
    nc.subscribe(subject, {
      callback: (err, m) => {
        if (err) return;
        let line: string | null;
        try {
          line = json ? JSON.stringify({ subject: m.subject, ...m.json<object>() }) : describe(m.subject, m.json());
        } catch {
          line = null;
        }
        if (line === null) return;
        o.out(line + '\n');
        if (count !== undefined && ++seen >= count) done(0);
      },
    }),
  );
  await nc.flush();
  if (!json) o.err(`watching ${subjects.slice(0, -1).join(', ')} and ${subjects.at(-1)} (Ctrl-C stops)\n`);
  const onAbort = () => done(0);
  signal?.addEventListener('abort', onAbort);
  // closed() resolves, with the error if any, when the connection ends.
  void nc.closed().then((err) => {
    if (err) o.err(`NATS connection lost: ${err.message}\n`);
    done(3);
  });
  const code = await finished;
  signal?.removeEventListener('abort', onAbort);
  for (const s of subs) s.unsubscribe();
  return code;
}

function describe(subject: string, payload: unknown): string | null {
  if (subject.startsWith('walrus.decision.')) {
    const d = DecisionV1.safeParse(payload);
    if (!d.success) return null;
    const v = d.data;
    const keep = v.max_slot_wal_keep_size_mb === undefined ? '' : `, max_slot_wal_keep_size ${v.max_slot_wal_keep_size_mb} MB`;
    return `${v.decided_at}  ${v.cluster}  decision ${v.action} ${v.old_size_mb} MB -> ${v.new_size_mb} MB${keep} (forced ${v.forced_checkpoints}): ${v.reason}`;
  }
  if (subject.startsWith('walrus.alert.')) {
    const a = AlertV1.safeParse(payload);
    if (!a.success) return null;
    const v = a.data;
    const what = v.slot !== undefined ? ` slot ${v.slot}${v.retained_bytes !== undefined ? ` (${formatBytes(v.retained_bytes)})` : ''}` : '';
    return `${v.at}  ${v.cluster}  ALERT ${v.state} ${v.kind}${what}: ${v.detail}`;
  }
  const r = ApplyResultV1.safeParse(payload);
  if (!r.success) return null;
  const v = r.data;
  return `${v.applied_at}  ${v.cluster}  ${v.status}${v.max_wal_size_mb !== null ? ` max_wal_size ${v.max_wal_size_mb} MB` : ''}${v.error ? `: ${v.error}` : ''}`;
}
