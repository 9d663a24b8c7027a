import { describe, expect, it } from 'vitest';
import { clusterSpecs, specFromRegistry, urlHasPassword } from './spec.js';

describe('cluster spec - parsed once', () => {
  it('parses a static list once, naming each problem', () => {
    const r = clusterSpecs([
      { id: 'a', url: 'postgres://u@h1:5432,h2:5433/db' },
      { id: 'b', url: 'postgres://u@h1/db?walrus_apply=bogus' },
    ]);
    expect(r.clusters.map((c) => [c.id, c.topology.members.map((m) => m.name)])).toEqual([['a', ['h1:5432', 'h2:5433']]]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/walrus_apply/);
  });

  it('reads a registry entry with its password source and parameters, and refuses contradictions', () => {
    const ok = specFromRegistry('a', { v: 1, url: 'postgres://walrus@db/postgres', password_file: '/run/pw', params: { max: '8GB' } });
    expect(ok.ok && ok.value.password).toEqual({ kind: 'file', path: '/run/pw' });
    expect(ok.ok && ok.value.settings).toEqual({ 'walrus.max': '8GB' });
    const both = specFromRegistry('a', { v: 1, url: 'postgres://walrus:pw@db/postgres', password_file: '/run/pw' });
    expect(both.ok).toBe(false);
    const bad = specFromRegistry('a', { v: 1, url: 'postgres://walrus@db/postgres', params: { threshold: 'x' } });
    expect(!bad.ok && bad.problem).toMatch(/^cluster a: parameter threshold/);
  });

  it('tells a URL with a password from one without', () => {
    expect(urlHasPassword('postgres://u:pw@h/db')).toBe(true);
    expect(urlHasPassword('postgres://u@h1,h2/db?password=x')).toBe(true);
    expect(urlHasPassword('postgres://u@h1:5432,h2:5433/db')).toBe(false);
    expect(urlHasPassword('postgresql://h/db')).toBe(false);
  });
});
