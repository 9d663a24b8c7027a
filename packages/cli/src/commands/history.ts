import { effectSummary, type HistoryResult, type HistoryRow } from '@walrus/core';
import { clusterArg, intOption, noMorePositional, parseCommandArgs } from './options.js';
import { callApi, type CliConnection } from './client.js';
import { formatTable } from '@walrus/runtime';
import { mb, text } from './format.js';
import { printJson, type Output } from './output.js';

export async function historyCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseCommandArgs(argv, { cluster: 'string', limit: 'string', json: 'boolean' });
  noMorePositional(args.positional, 1);
  const cluster = clusterArg('history', args.values.cluster ?? args.positional[0], false);
  const limit = intOption('limit', args.values.limit, 1, 10_000) ?? 20;
  const result = await callApi<HistoryResult>(await conn(), 'history', { ...(cluster ? { cluster } : {}), limit }, 8000);
  if (args.values.json) {
    printJson(o, result.rows);
    return 0;
  }
  if (result.rows.length === 0) {
    o.out(cluster ? `no history for cluster ${cluster}\n` : 'no history yet\n');
    return 0;
  }
  o.out(
    formatTable(
      ['TIME', 'CLUSTER', 'PRIMARY', 'ACTION', 'OLD', 'NEW', 'FORCED', 'OUTCOME', 'EFFECT', 'REASON'],
      result.rows.map((r) => [
        r.timestamp,
        r.cluster,
        // The member the decision was made on; a decision for one standby names it.
        `${text(r.primary_member)}${r.target_member ? ` (for ${r.target_member})` : ''}`,
        r.action,
        mb(r.old_size_mb),
        mb(r.new_size_mb),
        String(r.forced_checkpoints),
        outcome(r),
        effect(r),
        text(r.reason),
      ]),
    ) + '\n',
  );
  return 0;
}

/** The outcome, with the members that did not take the size. */
function outcome(r: HistoryRow): string {
  const base = r.apply_error ? `${text(r.apply_status)}: ${r.apply_error}` : text(r.apply_status);
  const failed = (r.apply_members ?? []).filter((m) => m.status !== 'applied' && m.role !== 'primary');
  return failed.length === 0 ? base : `${base}; not on ${failed.map((m) => `${m.member} (${m.status})`).join(', ')}`;
}

/** What the change did: the verdict (and why, when it did not help), forced checkpoints per hour before -> after. */
function effect(r: HistoryRow): string {
  return r.effect ? effectSummary(r.effect) : '-';
}
