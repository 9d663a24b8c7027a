import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePgpass, passwordCallback, pgpassLookup } from './passwords.js';

describe('passwords - password file and libpq passfile', () => {
  it('reads a passfile as libpq does: first match wins, * matches anything, \\: and \\\\ escape', () => {
    const lines = parsePgpass('# comment\n\ndb1:5432:postgres:walrus:p\\:w\\\\1\n*:*:*:walrus:fallback\nshort:line\n');
    expect(lines).toHaveLength(2);
    expect(pgpassLookup(lines, { host: 'db1', port: 5432, database: 'postgres', user: 'walrus' })).toBe('p:w\\1');
    expect(pgpassLookup(lines, { host: 'db2', port: 5433, database: 'x', user: 'walrus' })).toBe('fallback');
    expect(pgpassLookup(lines, { host: 'db2', port: 5433, database: 'x', user: 'other' })).toBeNull();
  });

  it("gives node-postgres a callback reading the file at each connection, matched by the member's host, port, database and user", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'walrus-pw-'));
    const file = join(dir, 'pw');
    const passfile = join(dir, 'pgpass');
    writeFileSync(file, 's3cret\n');
    writeFileSync(passfile, 'h2:5433:app:walrus:from-passfile\n');
    const member = { name: 'h2:5433', host: 'h2', port: 5433, url: 'postgres://walrus@h2:5433/app' };
    expect(await passwordCallback({ kind: 'file', path: file }, member)()).toBe('s3cret');
    expect(await passwordCallback({ kind: 'passfile', path: passfile }, member)()).toBe('from-passfile');
    // Rotated: read again at the next connection.
    writeFileSync(file, 'rotated');
    expect(await passwordCallback({ kind: 'file', path: file }, member)()).toBe('rotated');
    await expect(passwordCallback({ kind: 'passfile', path: passfile }, { ...member, port: 5432 })()).rejects.toThrow(/no line for h2:5432:app:walrus/);
    await expect(passwordCallback({ kind: 'file', path: join(dir, 'missing') }, member)()).rejects.toThrow(/cannot read the cluster's password file/);
  });
});
