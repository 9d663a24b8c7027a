import { describe, expect, it } from 'vitest';
import { parseClusterUrl, type ClusterTopology } from './cluster-url.js';
import { memberName } from './member-list.js';
import { choosePrimary } from './primary.js';

function ok(url: string, id = 'prod'): ClusterTopology {
  const r = parseClusterUrl(id, url);
  if (!r.ok) throw new Error(r.problem);
  return r.value;
}
const problem = (url: string): string => {
  const r = parseClusterUrl('prod', url);
  if (r.ok) throw new Error(`accepted ${url}`);
  return r.problem;
};
const members = (url: string) => ok(url).members.map(({ name, url: u }) => ({ name, url: u }));

describe('cluster url - members', () => {
  it('cluster url - one host is one member, the URL as given minus walrus parameters', () => {
    const t = ok('postgres://walrus:pw@db1:5433/postgres?sslmode=require');
    expect(t).toMatchObject({ multiMember: false, membersFrom: 'url', apply: 'alter_system', patroni: null });
    expect(members('postgres://walrus:pw@db1:5433/postgres?sslmode=require')).toEqual([
      { name: 'db1:5433', url: 'postgres://walrus:pw@db1:5433/postgres?sslmode=require' },
    ]);
    expect(members('postgresql://db1/postgres')).toEqual([{ name: 'db1:5432', url: 'postgresql://db1/postgres' }]);
    // A socket URL keeps working as before; its name falls back to the host parameter.
    expect(members('postgres:///postgres?host=/var/run/postgresql')).toEqual([
      { name: '/var/run/postgresql:5432', url: 'postgres:///postgres?host=/var/run/postgresql' },
    ]);
  });

  it('cluster url - several hosts are several members, each a single-host URL with the same credentials, database and parameters', () => {
    expect(members('postgres://walrus:p%40ss@h1:5432,h2:5433/db?sslmode=require&application_name=x')).toEqual([
      { name: 'h1:5432', url: 'postgres://walrus:p%40ss@h1:5432/db?sslmode=require&application_name=x' },
      { name: 'h2:5433', url: 'postgres://walrus:p%40ss@h2:5433/db?sslmode=require&application_name=x' },
    ]);
    expect(ok('postgres://h1,h2/db').multiMember).toBe(true);
  });

  it('cluster url - a host without a port takes the last port given, none given: 5432', () => {
    expect(members('postgres://h1,h2,h3:6000/db').map((m) => m.name)).toEqual(['h1:6000', 'h2:6000', 'h3:6000']);
    expect(members('postgres://h1:5000,h2,h3:6000/db').map((m) => m.name)).toEqual(['h1:5000', 'h2:6000', 'h3:6000']);
    expect(members('postgres://h1:5433,h2/db').map((m) => m.name)).toEqual(['h1:5433', 'h2:5433']);
    expect(members('postgres://u@h1,h2/db').map((m) => m.name)).toEqual(['h1:5432', 'h2:5432']);
    expect(members('postgres://h1,h2').map((m) => m.url)).toEqual(['postgres://h1:5432', 'postgres://h2:5432']);
  });

  it('cluster url - IPv6 addresses in brackets', () => {
    expect(members('postgres://u:pw@[::1]:5432,[fd00::2]/db')).toEqual([
      { name: '[::1]:5432', url: 'postgres://u:pw@[::1]:5432/db' },
      { name: '[fd00::2]:5432', url: 'postgres://u:pw@[fd00::2]:5432/db' },
    ]);
    expect(ok('postgres://[::1]:5433/db').members[0]).toMatchObject({ name: '[::1]:5433', host: '::1', port: 5433 });
  });

  it('cluster url - parameters that choose among hosts are left out of each member URL', () => {
    expect(members('postgres://h1,h2/db?target_session_attrs=read-write&sslmode=disable').map((m) => m.url)).toEqual([
      'postgres://h1:5432/db?sslmode=disable',
      'postgres://h2:5432/db?sslmode=disable',
    ]);
  });

  it('cluster url - names what is wrong', () => {
    expect(problem('mysql://h/db')).toBe('WALRUS_CLUSTERS: cluster prod has no postgres:// or postgresql:// URL');
    expect(problem('postgres://h1,,h2/db')).toMatch(/an empty host in the host list "h1,,h2"/);
    expect(problem('postgres://h1:99999,h2/db')).toMatch(/port "99999" of host "h1" is not a port \(allowed 1..65535\)/);
    expect(problem('postgres://h1:x/db')).toMatch(/port "x"/);
    expect(problem('postgres://[::1/db')).toMatch(/does not close it/);
    expect(problem('postgres://::1:5432,h2/db')).toMatch(/write an IPv6 address in brackets/);
    expect(problem('postgres://h1,h1:5432/db')).toMatch(/member h1:5432 is listed twice/);
    expect(problem('postgres://h1,h2/db?port=5433')).toMatch(/list the hosts and ports in the URL's host part/);
    expect(problem('postgres://h/db?walrus_aply=patroni')).toMatch(/unknown URL parameter walrus_aply/);
    // The password never appears in a problem.
    expect(problem('postgres://u:secret@h1,,h2/db')).not.toContain('secret');
  });
});

describe('cluster url - walrus parameters', () => {
  it('cluster url - patroni parameters select the strategy and are removed; libpq parameters stay', () => {
    const t = ok('postgres://u@h/db?sslmode=require&walrus_apply=patroni&walrus_patroni_url=http%3A%2F%2Fh%3A8008&walrus_patroni_password=x');
    expect(t).toMatchObject({ apply: 'patroni', patroni: { urls: ['http://h:8008'], password: 'x' }, membersFrom: 'url' });
    expect(t.members[0]?.url).toBe('postgres://u@h/db?sslmode=require');
  });

  it('cluster url - several Patroni REST API URLs, and the member list from Patroni', () => {
    const t = ok('postgres://u:pw@h1,h2/db?walrus_apply=patroni&walrus_patroni_url=http://h1:8008,http://h2:8008&walrus_patroni_user=p&walrus_members=patroni');
    expect(t).toMatchObject({ membersFrom: 'patroni', multiMember: true, patroni: { urls: ['http://h1:8008', 'http://h2:8008'], user: 'p' } });
    expect(t.memberUrl('10.0.0.7', 5433)).toBe('postgres://u:pw@10.0.0.7:5433/db');
    expect(t.memberUrl('fd00::9', 5432)).toBe('postgres://u:pw@[fd00::9]:5432/db');
    expect(memberName('fd00::9', 5432)).toBe('[fd00::9]:5432');
    // One host, members from Patroni: still named by member, as several would be.
    expect(ok('postgres://h/db?walrus_apply=patroni&walrus_patroni_url=http://h:8008&walrus_members=patroni').multiMember).toBe(true);
  });

  it('cluster url - names what is wrong with them', () => {
    expect(problem('postgres://h/db?walrus_apply=patroni')).toMatch(/walrus_apply=patroni needs walrus_patroni_url/);
    expect(problem('postgres://h/db?walrus_patroni_url=http://x')).toMatch(/walrus_apply is not patroni/);
    expect(problem('postgres://h/db?walrus_apply=kubectl')).toMatch(/walrus_apply is invalid \(got "kubectl", allowed alter_system, patroni\)/);
    expect(problem('postgres://h/db?walrus_members=patroni')).toMatch(/walrus_members=patroni needs walrus_apply=patroni/);
    expect(problem('postgres://h/db?walrus_members=dns')).toMatch(/walrus_members is invalid/);
    expect(problem('postgres://h/db?walrus_apply=patroni&walrus_patroni_url=http://a:1,ftp://b')).toMatch(/needs walrus_patroni_url/);
    expect(ok('postgres://h/db?walrus_apply=alter_system').members[0]?.url).toBe('postgres://h/db');
  });
});

describe('cluster url - the primary among members', () => {
  it('cluster url - the member out of recovery, of several the one on the highest timeline', () => {
    const r = (member: string, inRecovery: boolean | null, timeline: number | null) => ({ member, inRecovery, timeline, error: null });
    expect(choosePrimary([r('a:1', true, 2), r('b:1', false, 2)])).toMatchObject({ primary: 'b:1', contenders: ['b:1'] });
    expect(choosePrimary([r('a:1', false, 1), r('b:1', false, 2)])).toMatchObject({ primary: 'b:1', contenders: ['a:1', 'b:1'] });
    expect(choosePrimary([r('a:1', null, null), r('b:1', true, 2)]).primary).toBeNull();
  });
});
