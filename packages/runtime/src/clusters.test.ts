import { describe, expect, it } from 'vitest';
import { parseClusterList } from './clusters.js';
import { redactUrl } from './redact.js';

describe('clusters - parsing WALRUS_CLUSTERS', () => {
  it('reads pairs separated by commas and keeps multi-host URLs whole', () => {
    const { clusters, problems } = parseClusterList(
      'a=postgres://u@h1:5432/db,b-2=postgresql://u:pw@h1,h2:5433/db?target_session_attrs=read-write',
      'WALRUS_CLUSTERS',
    );
    expect(problems).toEqual([]);
    expect(clusters).toEqual([
      { id: 'a', url: 'postgres://u@h1:5432/db' },
      { id: 'b-2', url: 'postgresql://u:pw@h1,h2:5433/db?target_session_attrs=read-write' },
    ]);
  });

  it('reads one pair per line and skips comments', () => {
    const { clusters } = parseClusterList('# prod\nx=postgres://h/db\n\ny=postgres://h2/db\n', 'F');
    expect(clusters.map((c) => c.id)).toEqual(['x', 'y']);
  });

  it('names every bad entry without showing a password', () => {
    const { problems } = parseClusterList('bad.id=postgres://h/db,ok=mysql://h,ok2=postgres://u:secret@h/db,ok2=postgres://h/db', 'WALRUS_CLUSTERS');
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain('"bad.id" is invalid');
    expect(problems[1]).toContain('cluster ok has no postgres://');
    expect(problems[2]).toContain('cluster ok2 is listed twice');
    expect(problems.join('\n')).not.toContain('secret');
  });
});

describe('redact - connection strings', () => {
  it('hides the password and keeps user, host and database', () => {
    expect(redactUrl('postgres://walrus:s3cret@db.example:5432/app')).toBe('postgres://walrus:***@db.example:5432/app');
  });
  it('hides password query parameters', () => {
    expect(redactUrl('postgres://h/db?password=s3cret&sslmode=require')).not.toContain('s3cret');
  });
});
