import { describe, expect, it } from 'vitest';
import { grantsSql, quoteIdent } from './grants.js';

describe('grants - the printed SQL', () => {
  it('grants - names the role safely, quoted only when needed', () => {
    expect(quoteIdent('walrus')).toBe('walrus');
    expect(quoteIdent('Walrus App')).toBe('"Walrus App"');
    expect(grantsSql('o"k')).toContain(`CREATE ROLE "o""k" LOGIN`);
    expect(grantsSql("o'k")).toContain(`rolname = 'o''k'`);
  });

  it('grants - gives exactly monitoring, ALTER SYSTEM on max_wal_size and the reload', () => {
    const grants = grantsSql('walrus').split('\n').filter((l) => l.startsWith('GRANT'));
    expect(grants).toEqual([
      'GRANT pg_monitor TO walrus;',
      'GRANT ALTER SYSTEM ON PARAMETER max_wal_size TO walrus;',
      'GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO walrus;',
    ]);
  });

  it('grants - --bound-slots adds ALTER SYSTEM on max_slot_wal_keep_size, and only that', () => {
    const grants = grantsSql('walrus', { boundSlots: true }).split('\n').filter((l) => l.startsWith('GRANT'));
    expect(grants.slice(3)).toEqual(['GRANT ALTER SYSTEM ON PARAMETER max_slot_wal_keep_size TO walrus;']);
  });
});
