import type { ClustersListResult, ClustersRemoveResult, RegisteredCluster } from '@walrus/core';
import { formatKeyValues, formatTable } from '@walrus/runtime';
import { CliError, EXIT, callApi, type CliConnection } from './client.js';
import { clusterArg, noMorePositional, parseCommandArgs } from './options.js';
import { printJson, type Output } from './output.js';

export const CLUSTERS_USAGE = `Usage: walrus clusters <add|remove|list|show> ...
  add <cluster> <url> [--password-file PATH | --passfile PATH]
      [--param NAME=VALUE]... [--label NAME=VALUE]... [--replace]
                 register a cluster (any URL a WALRUS_CLUSTERS entry takes);
                 --password-file: a file holding the password, --passfile: a
                 libpq password file, both read on the collector and applier
                 hosts; --param: a decision parameter without its walrus.
                 prefix (max=8GB), the server's own walrus.* settings win
  remove <cluster>       stop serving a cluster
  list                   every registered cluster
  show <cluster>         one registered cluster
  Passwords are never shown: a URL's password is printed as ***.
`;

/** NAME=VALUE pairs of a repeated option, each checked. */
function pairs(option: string, list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(EXIT.usage, `--${option} takes NAME=VALUE (got ${JSON.stringify(item)})`);
    out[item.slice(0, eq).trim().replace(/^walrus\./, '')] = item.slice(eq + 1);
  }
  return out;
}

function shown(c: RegisteredCluster): string {
  const pw = c.password === 'password_file' ? `password file ${c.password_file ?? ''}` : c.password === 'passfile' ? `passfile ${c.passfile ?? ''}` : c.password === 'url' ? 'in the URL (hidden)' : 'none';
  return (
    formatKeyValues([
      ['cluster', c.cluster],
      ['url', c.url],
      ['password', pw],
      ['parameters', Object.entries(c.params).map(([k, v]) => `walrus.${k}=${v}`).join(', ') || '-'],
      ['labels', Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '-'],
      ['registered', c.registered_at],
    ]) + '\n'
  );
}

/** `walrus clusters add|remove|list|show`: the registry, through the control service (its only writer). */
export async function clustersCommand(argv: string[], conn: () => Promise<CliConnection>, o: Output): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'add': {
      const args = parseCommandArgs(rest, { 'password-file': 'string', passfile: 'string', param: 'strings', label: 'strings', replace: 'boolean', json: 'boolean' });
      noMorePositional(args.positional, 2);
      const cluster = clusterArg('clusters add', args.positional[0], true);
      const url = args.positional[1];
      if (url === undefined) throw new CliError(EXIT.usage, 'which URL? (usage: walrus clusters add <cluster> <url>)');
      const r = await callApi<RegisteredCluster>(await conn(), 'clusters_add', {
        cluster,
        url,
        ...(args.values['password-file'] !== undefined ? { password_file: args.values['password-file'] } : {}),
        ...(args.values.passfile !== undefined ? { passfile: args.values.passfile } : {}),
        params: pairs('param', args.values.param),
        labels: pairs('label', args.values.label),
        replace: args.values.replace === true,
      });
      if (args.values.json) printJson(o, r);
      else o.out(`registered ${r.cluster}: ${r.url}\n`);
      return EXIT.ok;
    }
    case 'remove': {
      const args = parseCommandArgs(rest, { json: 'boolean' });
      noMorePositional(args.positional, 1);
      const cluster = clusterArg('clusters remove', args.positional[0], true);
      const r = await callApi<ClustersRemoveResult>(await conn(), 'clusters_remove', { cluster });
      if (args.values.json) printJson(o, r);
      else o.out(r.removed ? `removed ${r.cluster} from the registry\n` : `${r.cluster} was not registered; nothing removed\n`);
      return r.removed ? EXIT.ok : EXIT.failed;
    }
    case 'list': {
      const args = parseCommandArgs(rest, { json: 'boolean' });
      noMorePositional(args.positional, 0);
      const r = await callApi<ClustersListResult>(await conn(), 'clusters_list', {}, 15_000);
      if (args.values.json) printJson(o, r);
      else if (r.clusters.length === 0) o.out('no cluster registered (walrus clusters add <cluster> <url>)\n');
      else
        o.out(
          formatTable(
            ['CLUSTER', 'URL', 'PASSWORD', 'PARAMETERS'],
            r.clusters.map((c) => [c.cluster, c.url, c.password, Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(',') || '-']),
          ) + '\n',
        );
      return EXIT.ok;
    }
    case 'show': {
      const args = parseCommandArgs(rest, { json: 'boolean' });
      noMorePositional(args.positional, 1);
      const cluster = clusterArg('clusters show', args.positional[0], true);
      const r = await callApi<RegisteredCluster>(await conn(), 'clusters_show', { cluster });
      if (args.values.json) printJson(o, r);
      else o.out(shown(r));
      return EXIT.ok;
    }
    default:
      throw new CliError(EXIT.usage, `${sub === undefined ? 'which subcommand?' : `unknown subcommand ${JSON.stringify(sub)}`}\n\n${CLUSTERS_USAGE}`);
  }
}
