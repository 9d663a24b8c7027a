import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { control } from '@walrus/control';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { commonEnvSchema, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { specFromRegistry } from '@walrus/cluster';
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
  services: Record<
    string,
    {
      command?: string[];
      environment?: Record<string, string>;
      depends_on?: Record<string, unknown>;
      volumes?: string[];
      healthcheck?: { test: string[] };
      build?: string;
      profiles?: string[];
      deploy?: { replicas?: number };
    }
  >;
};
const definitions: Record<string, ServiceDefinition<unknown>> = { collector, decider, applier, historian, control };

describe('docker compose - correct by construction', () => {
  // The walrus services (the image's processes), and the one-shot that registers the bundled PostgreSQL.
  const walrusServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined && s.command?.[0] !== 'clusters');

  it('runs the five walrus services, two collectors and two appliers on the registry, and Prometheus scrapes every process', () => {
    expect(walrusServices.map(([, s]) => s.command?.[0]).sort()).toEqual(['applier', 'collector', 'control', 'decider', 'historian']);
    const scrape = parse(readFileSync(`${root}/deploy/prometheus/prometheus.yml`, 'utf8')) as {
      scrape_configs: Array<{ static_configs?: Array<{ targets: string[] }>; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const job = defined(scrape.scrape_configs[0]);
    for (const [name, svc] of walrusServices) {
      const replicas = svc.deploy?.replicas ?? 1;
      if (name === 'collector' || name === 'applier') {
        expect(replicas, name).toBe(2);
        // On the registry: no static list.
        expect(svc.environment?.WALRUS_CLUSTERS, name).toBeUndefined();
        expect(svc.environment?.WALRUS_CLUSTERS_FILE, name).toBeUndefined();
      }
      // A replicated service is found by its DNS name (every replica); the others are listed.
      const scraped =
        replicas > 1
          ? (job.dns_sd_configs ?? []).some((d) => d.names.includes(name) && String(d.port) === svc.environment?.METRICS_PORT)
          : (job.static_configs ?? []).some((c) => c.targets.includes(`${name}:${svc.environment?.METRICS_PORT}`));
      expect(scraped, name).toBe(true);
    }
  });

  it('registers the bundled PostgreSQL at start, through the control service, as the CLI user', () => {
    const register = defined(Object.values(compose.services).find((s) => s.command?.[0] === 'clusters'));
    const [, sub, id, url, ...flags] = register.command ?? [];
    expect([sub, id, flags]).toEqual(['add', 'bundled', ['--replace']]);
    const spec = specFromRegistry(defined(id), { v: 1, url: defined(url) });
    expect(spec.ok).toBe(true);
    expect(Object.keys(register.depends_on ?? {})).toEqual(['control']);
    expect(register.environment?.NATS_USER).toBe('walrus-cli');
    expect(loadEnvConfig(commonEnvSchema, register.environment ?? {}).problems).toEqual([]);
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
  // Every process of the image: the five services and the one-shot that registers the bundled PostgreSQL (the CLI user).
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
    expect(users.size).toBe(6);
  });

  it('deploy/nats/auth.conf is what walrus nats-config --admin generates for the registry, passwords aside', () => {
    const generated = execFileSync(process.execPath, [WALRUS_BIN, 'nats-config', '--admin'], {
      env: { PATH: process.env.PATH ?? '' },
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
    expect(refused.sort()).toEqual(['walrus-applier', 'walrus-cli', 'walrus-collector', 'walrus-control', 'walrus-historian']);
  });
});
