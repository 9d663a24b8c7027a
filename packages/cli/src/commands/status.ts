import type { ClusterStatus, MemberStatus, StatusResult } from '@walrus/core';
import { clusterArg, noMorePositional, parseCommandArgs } from './options.js';
import { callApi, type CliConnection } from './client.js';
import { formatBytes, formatDuration } from '@walrus/core';
import { formatKeyValues, formatTable } from '@walrus/runtime';
import { age, mb, rate, text, yesNo } from './format.js';
import { printJson, type Output } from './output.js';

export async function statusCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const args = parseCommandArgs(argv, { json: 'boolean' });
  noMorePositional(args.positional, 1);
  const cluster = clusterArg('status', args.positional[0], false);
  const result = await callApi<StatusResult>(await conn(), 'status', cluster ? { cluster } : {}, 8000);
  if (args.values.json) {
    printJson(o, cluster ? result.clusters[0] : result);
    return 0;
  }
  const one = result.clusters[0];
  if (cluster && one) o.out(detail(one));
  else o.out(fleet(result));
  return 0;
}

function rateLimit(c: ClusterStatus): string {
  if (c.hourly_limit_reached) return `hourly limit (${c.changes_this_hour}/${c.max_changes_per_hour})`;
  if (c.cooldown_active) return `cooldown ${c.cooldown_remaining_sec}s`;
  return '-';
}

function fleet(r: StatusResult): string {
  const f = r.fleet;
  const rows = r.clusters.map((c) => [
    c.cluster,
    mb(c.current_max_wal_size_mb),
    mb(c.configured_maximum_mb),
    rate(c.wal_rate_bytes_per_second),
    mb(c.required_size_mb),
    yesNo(c.reachable),
    age(c.sample_age_sec),
    text(c.collector),
    String(c.total_adjustments),
    String(c.quiet_intervals),
    rateLimit(c),
    [(c.alerts_firing ?? []).includes('no_samples') && 'no samples',
      c.growth_held && `growth held (${c.growth_held.flag})`,
      (c.alerts_firing ?? []).includes('wal_disk_forecast') && c.wal_disk_forecast_sec != null && `WAL budget full in ${formatDuration(c.wal_disk_forecast_sec)}`,
      (c.alerts_firing ?? []).some((k) => k.startsWith('slot_lost:')) && 'slot lost',
      !c.enabled && 'disabled', c.dry_run && 'dry run', c.active_profile !== null && `profile ${c.active_profile}`, c.at_ceiling && 'at ceiling', c.in_recovery && 'standby', c.invalid_overrides.length > 0 && `${c.invalid_overrides.length} invalid override(s)`]
      .filter(Boolean)
      .join(', ') || '-',
  ]);
  // Clusters of several members get a second table: each member's role and size.
  const several = r.clusters.filter((c) => (c.members ?? []).length > 1);
  return (
    `${f.clusters} clusters: ${f.reachable} reachable, ${f.unreachable} unreachable, ${f.unknown} unknown; ` +
    (f.no_samples ? `${f.no_samples} without samples (no_samples); ` : '') +
    `${f.at_ceiling} at ceiling, ${f.cooldown_active} in cooldown, ${f.total_adjustments} adjustments\n\n` +
    (rows.length > 0
      ? formatTable(['CLUSTER', 'MAX_WAL_SIZE', 'WALRUS.MAX', 'WAL RATE', 'REQUIRED', 'REACHABLE', 'SAMPLE', 'COLLECTOR', 'ADJUSTMENTS', 'QUIET', 'RATE LIMIT', 'NOTES'], rows) + '\n'
      : 'no cluster known yet: no state, no samples (is a collector running?)\n') +
    (several.length > 0 ? `\n${memberTable(several.flatMap((c) => c.members.map((m) => [c.cluster, m] as const)))}` : '')
  );
}

/** Members with their role and size, one row each. */
function memberTable(rows: ReadonlyArray<readonly [string, MemberStatus]>): string {
  return (
    formatTable(
      ['CLUSTER', 'MEMBER', 'ROLE', 'MAX_WAL_SIZE', 'TIMELINE', 'SAMPLE', 'AT CLUSTER SIZE'],
      rows.map(([cluster, m]) => [cluster, m.member, m.role.replace('_', ' '), mb(m.max_wal_size_mb), text(m.timeline), age(m.sample_age_sec), yesNo(m.at_cluster_size)]),
    ) + '\n'
  );
}

/** The WAL volume's lines (docs/DISK-SAFETY.md), once a sample or a budget says anything about it. */
function walVolume(c: ClusterStatus): Array<[string, string]> {
  if (c.wal_disk_budget_mb == null && c.pg_wal_bytes == null) return [];
  const keep = c.max_slot_wal_keep_size_mb;
  const cause = c.wal_disk_forecast_cause === 'replication_slot' ? `replication slot ${c.wal_disk_forecast_slot ?? '?'}` : (c.wal_disk_forecast_cause ?? '');
  return [
    ['WAL disk budget', c.wal_disk_budget_mb == null ? 'off' : `${mb(c.wal_disk_budget_mb)}; pg_wal holds ${c.pg_wal_bytes == null ? '-' : formatBytes(c.pg_wal_bytes)}`],
    ['slot keep size', `${keep == null ? '-' : keep < 0 ? 'unlimited (-1)' : mb(keep)}${c.bound_slots ? ' (walrus.bound_slots on)' : ''}`],
    ['archiver backlog', c.archiver_backlog_segments == null ? '- (archiving off)' : `${c.archiver_backlog_segments} segment(s), ${formatBytes(c.archiver_backlog_bytes ?? 0)}`],
    ['time to full', c.wal_disk_forecast_sec == null ? '- (nothing grows, or no budget)' : `${formatDuration(c.wal_disk_forecast_sec)} (${cause})`],
  ];
}

function detail(c: ClusterStatus): string {
  const pairs: Array<[string, string]> = [
    ['cluster', c.cluster],
    ['enabled', yesNo(c.enabled)],
    ['max_wal_size', mb(c.current_max_wal_size_mb)],
    ['walrus.max', mb(c.configured_maximum_mb)],
    ['walrus.min_size', mb(c.min_size_mb)],
    ['walrus.threshold', String(c.threshold)],
    ['checkpoint_timeout', c.checkpoint_timeout_sec === null ? '-' : `${c.checkpoint_timeout_sec}s`],
    ['shrink', `${c.shrink_enabled ? 'on' : 'off'}, factor ${c.shrink_factor}, after ${c.shrink_intervals} quiet intervals`],
    ['algorithm', c.algorithm + (c.dry_run ? ' (dry run)' : '')],
    ['time profile', c.active_profile ?? 'none'],
    [
      'WAL rate',
      c.wal_rate_bytes_per_second === null
        ? '- (no whole checkpoint interval measured yet)'
        : `${rate(c.wal_rate_bytes_per_second)} over the last checkpoint interval (average ${rate(c.wal_rate_ema_bytes_per_second)})`,
    ],
    ['required size', c.required_size_mb === null ? '-' : `${mb(c.required_size_mb)} (keeps checkpoints timed at that rate)`],
    ['reachable', `${yesNo(c.reachable)}${c.reachable_by ? ` (${c.reachable_by === 'live' ? 'live check' : 'by sample age'})` : ''}${c.reachable_error ? `: ${c.reachable_error}` : ''}`],
    ['standby', yesNo(c.in_recovery)],
    ['last sample', `${text(c.last_sample_at)}${c.sample_age_sec !== null ? ` (${age(c.sample_age_sec)} ago)` : ''}`],
    ['collector', `${text(c.collector)}${c.registered ? ' (registered cluster)' : ''}`],
    ['alerts firing', (c.alerts_firing ?? []).join(', ') || 'none'],
    ...walVolume(c),
    ['last adjustment', text(c.last_adjustment_at)],
    ['total adjustments', String(c.total_adjustments)],
    ['quiet intervals', String(c.quiet_intervals)],
    ['at ceiling', yesNo(c.at_ceiling)],
    ['cooldown', c.cooldown_active ? `active, ${c.cooldown_remaining_sec}s left (of ${c.cooldown_sec}s)` : `inactive (${c.cooldown_sec}s)`],
    ['changes this hour', `${c.changes_this_hour} of ${c.max_changes_per_hour}${c.hourly_limit_reached ? ' (limit reached)' : ''}`],
    ['invalid overrides', c.invalid_overrides.length === 0 ? 'none' : c.invalid_overrides.map((w) => w.message).join('\n' + ' '.repeat(19))],
  ];
  const members = c.members ?? [];
  if (members.length === 0) return formatKeyValues(pairs) + '\n';
  pairs.push(['primary', text(c.primary_member)], ['failovers', String(c.failovers ?? 0)]);
  return `${formatKeyValues(pairs)}\n\n${memberTable(members.map((m) => [c.cluster, m] as const))}`;
}
