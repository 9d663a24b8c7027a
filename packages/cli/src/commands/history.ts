import type { HistoryResult } from '@walrus/core';
import { clusterArg, intFlag, noMorePositional, parseArgs } from './args.js';
import { callApi, type CliConnection } from './client.js';
import { mb, table, text } from './format.js';
import { printJson, type Output } from './output.js';

export async function historyCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseArgs('history', argv, ['cluster', 'limit'], ['json']);
  noMorePositional('history', args, 1);
  const flag = args.flags.get('cluster');
  const cluster = clusterArg('history', typeof flag === 'string' ? flag : args.positional[0], false);
  const limit = intFlag('history', args, 'limit', 1, 10_000) ?? 20;
  const result = await callApi<HistoryResult>(await conn(), 'history', { ...(cluster ? { cluster } : {}), limit }, 8000);
  if (args.flags.has('json')) {
    printJson(o, result.rows);
    return 0;
  }
  if (result.rows.length === 0) {
    o.out(cluster ? `no history for cluster ${cluster}\n` : 'no history yet\n');
    return 0;
  }
  o.out(
    table(
      ['TIME', 'CLUSTER', 'ACTION', 'OLD', 'NEW', 'FORCED', 'OUTCOME', 'REASON'],
      result.rows.map((r) => [
        r.timestamp,
        r.cluster,
        r.action,
        mb(r.old_size_mb),
        mb(r.new_size_mb),
        String(r.forced_checkpoints),
        r.apply_error ? `${text(r.apply_status)}: ${r.apply_error}` : text(r.apply_status),
        text(r.reason),
      ]),
    ),
  );
  return 0;
}
