import type { AnalyzeResult, Recommendation } from '@walrus/core';
import { clusterArg, noMorePositional, parseCommandArgs } from './options.js';
import { callApi, EXIT, type CliConnection } from './client.js';
import { formatKeyValues } from '@walrus/runtime';
import { mb, text } from './format.js';
import { printJson, type Output } from './output.js';

export function recommendationText(r: Recommendation): string {
  return formatKeyValues([
    ['cluster', r.cluster],
    ['action', r.action],
    ['current size', mb(r.current_size_mb)],
    ['recommended size', mb(r.recommended_size_mb)],
    ['reason', r.reason],
    ['confidence', `${r.confidence}/100`],
    ['forced checkpoints', text(r.forced_checkpoints)],
    ['rate limit', r.blocked_by ? `${r.blocked_by}${r.blocked_until ? ` until ${r.blocked_until}` : ''} (an automatic change would be skipped; analyze --apply bypasses it)` : 'none'],
    ['statistics', r.sample_source ? `${r.sample_source === 'live' ? 'read live' : 'last sample'} at ${text(r.sample_at)}` : '-'],
    ...(r.dry_run ? [['dry run', 'yes'] as [string, string]] : []),
  ]) + '\n';
}

export async function recommendCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseCommandArgs(argv, { json: 'boolean' });
  noMorePositional(args.positional, 1);
  const cluster = clusterArg('recommend', args.positional[0], true);
  const r = await callApi<Recommendation>(await conn(), 'recommendation', { cluster }, 15_000);
  if (args.values.json) printJson(o, r);
  else o.out(recommendationText(r));
  return r.action === 'error' ? EXIT.failed : EXIT.ok;
}

export async function analyzeCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseCommandArgs(argv, { json: 'boolean', apply: 'boolean' });
  noMorePositional(args.positional, 1);
  const cluster = clusterArg('analyze', args.positional[0], true);
  const apply = args.values.apply === true;
  // With apply, the answer waits for the applier's outcome (WALRUS_CONTROL_APPLY_WAIT_SEC).
  const r = await callApi<AnalyzeResult>(await conn(), 'analyze', { cluster, apply }, apply ? 130_000 : 15_000);
  if (args.values.json) {
    printJson(o, r);
  } else {
    o.out(recommendationText(r.recommendation));
    if (apply) {
      o.out(
        formatKeyValues([
          ['applied', r.applied ? 'yes' : 'no'],
          ['decision', text(r.decision_id)],
          ['outcome', r.apply_status ? `${r.apply_status}${r.max_wal_size_mb !== null ? `, max_wal_size now ${r.max_wal_size_mb} MB` : ''}${r.apply_error ? `: ${r.apply_error}` : ''}` : '-'],
          ...(r.reason ? [['note', r.reason] as [string, string]] : []),
        ]) + '\n',
      );
    }
  }
  if (!r.analyzed) return EXIT.failed;
  // Asked to apply, something to apply, and it did not happen: a failure.
  if (apply && r.decision_id !== null && r.apply_status !== null && r.apply_status !== 'applied') return EXIT.failed;
  return EXIT.ok;
}
