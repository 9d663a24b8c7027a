import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, registerCleanup } from './harness/mod.js';
import { startWalrus } from './harness/walrus-process.js';
import { defined } from './harness/defined.js';

afterAll(cleanupAll);

// Configuration is validated before anything is connected, so these need no
// servers: each case names a setting, the value given and what is allowed.
async function failsWith(args: string[], env: Record<string, string>): Promise<string> {
  const p = startWalrus(args, { NATS_URL: 'nats://127.0.0.1:1', ...env });
  const code = await p.exited;
  expect(code).toBe(2);
  return p.stderr();
}

describe('configuration - invalid values stop a service with a clear message', () => {
  it('decider lists every invalid walrus default at once', async () => {
    const err = await failsWith(['decider'], { WALRUS_MAX: 'lots', WALRUS_THRESHOLD: '0', WALRUS_SHRINK_ENABLE: 'maybe', WALRUS_MAX_CLOCK_SKEW_SEC: '0' });
    expect(err).toMatch(/WALRUS_MAX: .*"lots"/);
    expect(err).toMatch(/WALRUS_MAX: .*MB/);
    expect(err).toMatch(/WALRUS_THRESHOLD: .*"0".*1 \.\. 1000/);
    expect(err).toMatch(/WALRUS_SHRINK_ENABLE: .*"maybe".*on\/off/);
    expect(err).toMatch(/WALRUS_MAX_CLOCK_SKEW_SEC: .*"0".*1 \.\. 86400/);
  });

  it('collector needs a sane interval, and, serving the registry (no list given), a sane lease', async () => {
    const err = await failsWith(['collector'], { WALRUS_SAMPLE_INTERVAL: '0', WALRUS_LEASE_SEC: '1', WALRUS_COLLECTOR_ID: 'a.b' });
    expect(err).toMatch(/WALRUS_SAMPLE_INTERVAL: must be at least 1 \(got "0", allowed 1 \.\. 86400\)/);
    expect(err).toMatch(/WALRUS_LEASE_SEC: must be at least 3 \(got "1", allowed 3 \.\. 300\)/);
    expect(err).toMatch(/WALRUS_COLLECTOR_ID: must be 1 to 64 characters of \[A-Za-z0-9_-\] \(got "a\.b"/);
    // No list is not a mistake: the registry is served.
    expect(err).not.toMatch(/WALRUS_CLUSTERS/);
  });

  it('collector refuses an invalid pressure probe interval or budget, and invalid decision defaults (it resolves the algorithm as deciders do)', async () => {
    const err = await failsWith(['collector'], {
      WALRUS_CLUSTERS: 'a=postgres://127.0.0.1/db',
      WALRUS_PRESSURE_PROBE_SEC: 'often',
      WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR: '-1',
      WALRUS_ALGORITHM: 'fastest',
    });
    expect(err).toMatch(/WALRUS_PRESSURE_PROBE_SEC: must be a whole number \(got "often", allowed 0 \.\. 3600 \(0 = off\)\)/);
    expect(err).toMatch(/WALRUS_PRESSURE_MAX_SAMPLES_PER_HOUR: must be at least 0 \(got "-1", allowed 0 \.\. 3600\)/);
    expect(err).toMatch(/WALRUS_ALGORITHM: .*"fastest"/);
  });

  it('collector refuses a cluster id that is not a subject token', async () => {
    const err = await failsWith(['collector'], { WALRUS_CLUSTERS: 'prod.eu=postgres://127.0.0.1/db' });
    expect(err).toMatch(/WALRUS_CLUSTERS: cluster id "prod\.eu" is invalid/);
  });

  it('a multi-host URL that cannot be split into members is named, for the collector, the applier and control alike', async () => {
    const env = { WALRUS_CLUSTERS: 'ha=postgres://walrus:s3cret@db1:5432,,db3:99999/postgres' };
    for (const service of ['collector', 'applier', 'control']) {
      const err = await failsWith([service], env);
      expect(err).toMatch(/WALRUS_CLUSTERS: cluster ha: an empty host in the host list "db1:5432,,db3:99999"/);
      expect(err).not.toContain('s3cret');
    }
    const members = await failsWith(['collector'], { WALRUS_CLUSTERS: 'ha=postgres://db1,db2/postgres?walrus_members=patroni' });
    expect(members).toMatch(/WALRUS_CLUSTERS: cluster ha: walrus_members=patroni needs walrus_apply=patroni/);
  });

  it('a clusters file is read line by line, and a bad line is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'walrus-clusters-'));
    registerCleanup(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'c.txt'), '# fleet\nok=postgres://127.0.0.1/db\nbroken line\n');
    const err = await failsWith(['applier'], { WALRUS_CLUSTERS_FILE: join(dir, 'c.txt') });
    expect(err).toMatch(/WALRUS_CLUSTERS_FILE: entry "broken line" is not <cluster>=<postgres URL>/);
    const missing = await failsWith(['collector'], { WALRUS_CLUSTERS_FILE: join(dir, 'nope.txt') });
    expect(missing).toMatch(/WALRUS_CLUSTERS_FILE: cannot read ".*nope\.txt"/);
  });

  it('applier refuses a guard below the smallest max_wal_size', async () => {
    const err = await failsWith(['applier'], { WALRUS_CLUSTERS: 'a=postgres://127.0.0.1/db', WALRUS_APPLIER_MAX_MB: '1' });
    expect(err).toMatch(/WALRUS_APPLIER_MAX_MB: must be at least 2 \(got "1", allowed 2 \.\. 2147483647\)/);
  });

  it('historian needs its database URL and a valid retention', async () => {
    const err = await failsWith(['historian'], { WALRUS_HISTORY_RETENTION_DAYS: '-1' });
    expect(err).toMatch(/HISTORY_DATABASE_URL: .*got nothing/);
    expect(err).toMatch(/WALRUS_HISTORY_RETENTION_DAYS: .*"-1"/);
  });

  it('common settings are checked for every service, and passwords are not echoed', async () => {
    const err = await failsWith(['all'], {
      METRICS_PORT: '70000',
      LOG_LEVEL: 'loud',
      NATS_URL: 'http://nope',
      WALRUS_CLUSTERS: 'a=postgres://walrus:hunter2@127.0.0.1/db',
      HISTORY_DATABASE_URL: 'mysql://walrus:hunter2@127.0.0.1/history',
      WALRUS_THRESHOLD: '5000',
    });
    expect(err).toMatch(/METRICS_PORT: must be at most 65535 \(got "70000", allowed 0 \.\. 65535/);
    expect(err).toMatch(/LOG_LEVEL: .*"loud"/);
    expect(err).toMatch(/NATS_URL: .*"http:\/\/nope"/);
    expect(err).toMatch(/WALRUS_THRESHOLD: .*"5000"/);
    expect(err).toMatch(/HISTORY_DATABASE_URL: must be a postgres:\/\/ URL \(got "mysql:\/\/walrus:\*\*\*@127\.0\.0\.1\/history"/);
    expect(err).not.toContain('hunter2');
  });

  it('an unknown command exits with usage', async () => {
    const p = startWalrus(['frobnicate'], {});
    expect(await p.exited).toBe(64);
    expect(p.stderr()).toContain('unknown command "frobnicate"');
  });

  it('a name every object inherits is an unknown command too, not a crash', async () => {
    // The command tables are plain objects: `in` or a plain lookup would find these.
    const cases = [['toString'], ['constructor'], ['__proto__'], ['hasOwnProperty'], ['valueOf', 'x']];
    const runs = cases.map((args) => startWalrus(args, {}));
    const codes = await Promise.all(runs.map((p) => p.exited));
    cases.forEach(([name], i) => {
      const p = defined(runs[i]);
      expect([name, codes[i]]).toEqual([name, 64]);
      expect(p.stderr()).toContain(`walrus: unknown command "${name}"`);
      expect(p.stderr()).toContain('Usage: walrus <command>');
      expect(p.stderr()).not.toContain('fatal');
    });
  });
});
