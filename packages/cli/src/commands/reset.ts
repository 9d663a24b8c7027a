import type { CleanupResult, ResetResult } from '@walrus/core';
import { clusterArg, intOption, noMorePositional, parseCommandArgs } from './options.js';
import { callApi, type CliConnection } from './client.js';
import { printJson, type Output } from './output.js';

export async function resetCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseCommandArgs(argv, { json: 'boolean' });
  noMorePositional(args.positional, 1);
  const cluster = clusterArg('reset', args.positional[0], true);
  const r = await callApi<ResetResult>(await conn(), 'reset', { cluster });
  if (args.values.json) printJson(o, r);
  else o.out(r.had_state ? `state of ${r.cluster} cleared: the next sample starts a new baseline\n` : `${r.cluster} had no state; nothing to clear\n`);
  return 0;
}

export async function cleanupCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseCommandArgs(argv, { 'retention-days': 'string', json: 'boolean' });
  noMorePositional(args.positional, 0);
  const days = intOption('retention-days', args.values['retention-days'], 0, 3650);
  const r = await callApi<CleanupResult>(await conn(), 'cleanup_history', days === undefined ? {} : { retention_days: days }, 30_000);
  if (args.values.json) printJson(o, r);
  else o.out(`deleted ${r.deleted} history row(s) older than the retention${days === undefined ? '' : ` of ${days} days`}\n`);
  return 0;
}
