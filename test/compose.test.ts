import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { commonEnvSchema, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { execFileSync } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { WALRUS_BIN } from '@walrus/cli/launch';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cleanupAll, NATS_SERVER_BIN, startNats } from './harness/mod.js';
import { defined } from './harness/defined.js';

// No Docker engine runs here, so docker-compose.yml and the Dockerfile are
// checked by construction: every walrus service's environment passes the
// same validation the service runs at start-up, and every file they name exists.
const root = fileURLToPath(new URL('..', import.meta.url));
// `${NAME:-default}` as docker compose interpolates it with NAME unset.
const composeText = readFileSync(`${root}/docker-compose.yml`, 'utf8').replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
const compose = parse(composeText, { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown>; volumes?: string[]; healthcheck?: { test: string[] }; build?: string; profiles?: string[] }>;
};
const definitions: Record<string, ServiceDefinition<unknown>> = { collector, decider, applier, historian, control };

describe('docker compose - correct by construction', () => {
  const walrusServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

  it('runs each of the five walrus services once, and Prometheus scrapes each', () => {
    expect(walrusServices.map(([, s]) => s.command?.[0]).sort()).toEqual(['applier', 'collector', 'control', 'decider', 'historian']);
    const scrape = readFileSync(`${root}/deploy/prometheus/prometheus.yml`, 'utf8');
    for (const [name, svc] of walrusServices) expect(scrape).toContain(`"${name}:${svc.environment?.METRICS_PORT}"`);
  });

  it.each(['collector', 'decider', 'applier', 'historian', 'control'])('%s: its environment passes start-up validation', (name) => {
    const [, svc] = defined(walrusServices.find(([, s]) => s.command?.[0] === name));
    const env = svc.environment ?? {};
    expect(loadEnvConfig(commonEnvSchema, env).problems).toEqual([]);
    expect(defined(definitions[name]).loadConfig(env).problems).toEqual([]);
    // The healthcheck asks the port the service listens on.
    expect(svc.healthcheck?.test.join(' ')).toContain(`:${env.METRICS_PORT}/readyz`);
    for (const dep of Object.keys(svc.depends_on ?? {})) expect(compose.services).toHaveProperty(dep);
  });

  it('mounts only files that exist, and never sets max_wal_size on the command line', () => {
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = defined(v.split(':')[0]);
        if (src.startsWith('./')) expect(existsSync(`${root}/${src}`), src).toBe(true);
      }
      // A -c max_wal_size would win over ALTER SYSTEM and make every apply fail.
      expect((svc.command ?? []).join(' ')).not.toMatch(/max_wal_size/);
    }
  });

  it('profile cluster runs three JetStream nodes with routes to each other, on a valid configuration', () => {
    const nodes = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('cluster'));
    expect(nodes.map(([name]) => name).sort()).toEqual(['nats-1', 'nats-2', 'nats-3']);
    const conf = readFileSync(`${root}/deploy/nats/cluster.conf`, 'utf8');
    for (const [name, svc] of nodes) {
      expect(svc.environment?.NATS_SERVER_NAME).toBe(name);
      expect(svc.command?.join(' ')).toContain('/etc/nats/cluster.conf');
      expect(conf).toContain(`nats-route://${name}:6222`);
      execFileSync(NATS_SERVER_BIN, ['-c', `${root}/deploy/nats/cluster.conf`, '-t'], { stdio: 'pipe', env: { NATS_SERVER_NAME: name } });
    }
  });

  it('the Dockerfile copies only paths that exist', () => {
    const dockerfile = readFileSync(`${root}/Dockerfile`, 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY\s+(.+)\s+\S+$/gm)].flatMap((m) => defined(m[1]).split(/\s+/));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) expect(existsSync(`${root}/${src}`), src).toBe(true);
  });
});

describe('docker compose - NATS runs with walrus authorization by default', () => {
  afterAll(cleanupAll);
  const walrusServices = Object.values(compose.services).filter((s) => s.build !== undefined);

  it('nats-server accepts deploy/nats/nats.conf, and only the users of auth.conf may connect', async () => {
    execFileSync(NATS_SERVER_BIN, ['-c', `${root}/deploy/nats/nats.conf`, '-t'], { stdio: 'pipe' });
    expect(compose.services.nats?.command?.join(' ')).toContain('/etc/nats/nats.conf');
    const nats = await startNats({ config: readFileSync(`${root}/deploy/nats/auth.conf`, 'utf8') });
    await expect(connect({ servers: nats.url, timeout: 3000 })).rejects.toThrow(/Authorization/i);
    const users = new Set<string>();
    for (const svc of walrusServices) {
      const env = svc.environment ?? {};
      expect(env.NATS_INBOX_PREFIX).toBe(`_INBOX_${env.NATS_USER}`);
      const nc = await connect({ servers: nats.url, user: defined(env.NATS_USER), pass: defined(env.NATS_PASSWORD), timeout: 3000 });
      await nc.close();
      users.add(defined(env.NATS_USER));
    }
    expect(users.size).toBe(5);
  });

  it('deploy/nats/auth.conf is what walrus nats-config --admin generates for the bundled cluster, passwords aside', () => {
    const generated = execFileSync(process.execPath, [WALRUS_BIN, 'nats-config', '--admin'], {
      env: { PATH: process.env.PATH ?? '', WALRUS_CLUSTERS: 'bundled=postgres://walrus@postgres:5432/postgres' },
      encoding: 'utf8',
    });
    const block = (text: string) => text.slice(text.indexOf('authorization {'), text.indexOf('\n  ]\n}\n') + 6).replace(/password: "[^"]*"/g, 'password: "…"');
    expect(block(readFileSync(`${root}/deploy/nats/auth.conf`, 'utf8'))).toBe(block(generated));
  });

  it('with it, the server refuses a decision published by any service but the decider (control included)', async () => {
    const nats = await startNats({ config: readFileSync(`${root}/deploy/nats/auth.conf`, 'utf8') });
    for (const svc of walrusServices) {
      const env = svc.environment ?? {};
      const nc = await connect({ servers: nats.url, user: defined(env.NATS_USER), pass: defined(env.NATS_PASSWORD), timeout: 3000 });
      nc.publish('walrus.decision.bundled', '{}');
      await nc.flush();
      await nc.close();
    }
    const refused = [...(await nats.log()).matchAll(/Publish Violation - User "([^"]+)", Subject "walrus\.decision\.bundled"/g)].map((m) => m[1]);
    expect(refused.sort()).toEqual(['walrus-applier', 'walrus-collector', 'walrus-control', 'walrus-historian']);
  });
});
