import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { applier } from '@walrus/applier';
import { collector } from '@walrus/collector';
import { decider } from '@walrus/decider';
import { historian } from '@walrus/historian';
import { commonEnvSchema, loadEnvConfig, type ServiceDefinition } from '@walrus/runtime';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs here, so docker-compose.yml and the Dockerfile are
// checked by construction: every walrus service's environment passes the
// same validation the service runs at start-up, and every file they name exists.
const root = fileURLToPath(new URL('..', import.meta.url));
const compose = parse(readFileSync(`${root}/docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; depends_on?: Record<string, unknown>; volumes?: string[]; healthcheck?: { test: string[] }; build?: string }>;
};
const definitions: Record<string, ServiceDefinition<unknown>> = { collector, decider, applier, historian };

describe('docker compose - correct by construction', () => {
  const walrusServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

  it('runs each of the four walrus services once', () => {
    expect(walrusServices.map(([, s]) => s.command?.[0]).sort()).toEqual(['applier', 'collector', 'decider', 'historian']);
  });

  it.each(['collector', 'decider', 'applier', 'historian'])('%s: its environment passes start-up validation', (name) => {
    const [, svc] = walrusServices.find(([, s]) => s.command?.[0] === name)!;
    const env = svc.environment ?? {};
    expect(loadEnvConfig(commonEnvSchema, env).problems).toEqual([]);
    expect(definitions[name]!.loadConfig(env).problems).toEqual([]);
    // The healthcheck asks the port the service listens on.
    expect(svc.healthcheck?.test.join(' ')).toContain(`:${env.METRICS_PORT}/readyz`);
    for (const dep of Object.keys(svc.depends_on ?? {})) expect(compose.services).toHaveProperty(dep);
  });

  it('mounts only files that exist, and never sets max_wal_size on the command line', () => {
    for (const svc of Object.values(compose.services)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('./')) expect(existsSync(`${root}/${src}`), src).toBe(true);
      }
      // A -c max_wal_size would win over ALTER SYSTEM and make every apply fail.
      expect((svc.command ?? []).join(' ')).not.toMatch(/max_wal_size/);
    }
  });

  it('the Dockerfile copies only paths that exist', () => {
    const dockerfile = readFileSync(`${root}/Dockerfile`, 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY\s+(.+)\s+\S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources.length).toBeGreaterThan(5);
    for (const src of sources) expect(existsSync(`${root}/${src}`), src).toBe(true);
  });
});
