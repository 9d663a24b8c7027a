import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nkeys } from '@nats-io/transport-node';
import { loadClusterSource } from '@walrus/runtime';
import { planNatsUsers } from './plan.js';
import { renderAuthorization, renderEnv, type Credentials, type Secret } from './render.js';

export const NATS_CONFIG_USAGE = `Usage: walrus nats-config [options]

Prints (or writes with --out) the nats-server authorization block for a walrus
deployment, one user per service process. With a cluster list in
WALRUS_CLUSTERS or WALRUS_CLUSTERS_FILE (only the cluster ids are used) the
clusters are split among collectors and appliers; without one, collectors and
appliers serve the registry together (walrus_clusters, written by the control
service alone).

  --collectors N         collector processes; a static list is split round-robin (default 1)
  --appliers N           applier processes; a static list is split round-robin (default 1)
  --deciders N           decider users (default 1)
  --historians N         historian users (default 1)
  --controls N           control services (walrus control; default 1)
  --cli-users N          users of walrus status/analyze/watch/... (default 1)
  --alert-users N        read-only users for walrus.decision.>, walrus.applied.> and walrus.alert.> (default 1)
  --decider-consumer X   the decider's durable consumer (WALRUS_DECIDER_CONSUMER, default walrus-decider)
  --no-provision         do not let services create streams and consumers (run them with
                         WALRUS_PROVISION=off and provision as walrus-admin)
  --admin                add a walrus-admin user with every permission
  --nkeys                nkey pairs instead of passwords: the server configuration
                         then holds only public keys (services get NATS_NKEY_SEED)
  --out DIR              write DIR/nats-auth.conf and DIR/<user>.env (mode 0600)
`;

const count = (name: string, v: string | undefined, dflt: number, min: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > 1000) throw new UsageError(`--${name}: not a count (got ${JSON.stringify(v)}, allowed ${min}..1000)`);
  return n;
};

class UsageError extends Error {
  override name = 'UsageError';
}

/** Random, URL- and config-safe: 24 bytes of entropy; or an nkey user pair. */
function newSecret(useNkeys: boolean): Secret {
  if (!useNkeys) return { kind: 'password', password: randomBytes(24).toString('base64url') };
  const kp = nkeys.createUser();
  return { kind: 'nkey', publicKey: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
}

export function natsConfigCommand(args: string[], rawEnv: Record<string, string | undefined>): number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        collectors: { type: 'string' },
        appliers: { type: 'string' },
        deciders: { type: 'string' },
        historians: { type: 'string' },
        'alert-users': { type: 'string' },
        controls: { type: 'string' },
        'cli-users': { type: 'string' },
        'decider-consumer': { type: 'string' },
        'no-provision': { type: 'boolean' },
        admin: { type: 'boolean' },
        nkeys: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    process.stderr.write(`walrus nats-config: ${(err as Error).message}\n\n${NATS_CONFIG_USAGE}`);
    return 64;
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(NATS_CONFIG_USAGE);
    return 0;
  }
  const loaded = loadClusterSource(rawEnv);
  const problems = [...loaded.problems];
  const clusters = loaded.source?.kind === 'static' ? loaded.source.entries.map((c) => c.id) : null;
  let users;
  try {
    const consumer = v['decider-consumer'] ?? rawEnv['WALRUS_DECIDER_CONSUMER'] ?? 'walrus-decider';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(consumer)) throw new UsageError(`--decider-consumer: invalid name (got ${JSON.stringify(consumer)}, allowed [A-Za-z0-9_-])`);
    const opts = {
      clusters,
      collectors: count('collectors', v.collectors, 1, 1),
      appliers: count('appliers', v.appliers, 1, 1),
      deciders: count('deciders', v.deciders, 1, 1),
      historians: count('historians', v.historians, 1, 0),
      alertUsers: count('alert-users', v['alert-users'], 1, 0),
      controls: count('controls', v.controls, 1, 0),
      cliUsers: count('cli-users', v['cli-users'], 1, 0),
      provision: !v['no-provision'],
      deciderConsumer: consumer,
      admin: v.admin ?? false,
    };
    if (problems.length === 0 && clusters !== null && (opts.appliers > clusters.length || opts.collectors > clusters.length)) {
      throw new UsageError(`--appliers/--collectors: more processes than clusters (got ${Math.max(opts.appliers, opts.collectors)}, allowed up to ${clusters.length})`);
    }
    users = planNatsUsers(opts);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    problems.push(err.message);
  }
  if (problems.length > 0 || !users) {
    process.stderr.write(`walrus nats-config: invalid configuration\n${problems.map((p) => `  ${p}\n`).join('')}`);
    return 2;
  }
  const creds: Credentials[] = users.map((user) => ({ user, secret: newSecret(v.nkeys ?? false) }));
  const what = clusters === null ? 'the cluster registry' : `${clusters.length} cluster(s)`;
  const header = v.nkeys
    ? `# Generated by walrus nats-config for ${what}: public nkeys only; the seeds are in the env files.\n`
    : `# Generated by walrus nats-config for ${what}. Keep it secret: it holds passwords.\n`;
  const conf = renderAuthorization(creds, header);
  const outDir = v.out;
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    const write = (name: string, text: string) => {
      const file = join(outDir, name);
      writeFileSync(file, text, { mode: 0o600 });
      chmodSync(file, 0o600);
    };
    write('nats-auth.conf', conf);
    for (const c of creds) write(`${c.user.user}.env`, renderEnv(c));
    process.stdout.write(`wrote ${join(outDir, 'nats-auth.conf')} and ${creds.length} env files (${creds.map((c) => c.user.user).join(', ')})\n`);
  } else {
    process.stdout.write(conf);
    process.stdout.write('\n# Per-service environment (one block per process):\n');
    for (const c of creds) process.stdout.write(`\n${renderEnv(c).replace(/^(?!#)(.+)$/gm, '# $1')}`);
  }
  return 0;
}
