import { describe, expect, it } from 'vitest';
import { isTransientPgError, sqlState } from './pg-errors.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('pg errors - by SQLSTATE and socket code', () => {
  it('pg errors - the server away, restarting or full is transient; an answer is not', () => {
    expect(isTransientPgError(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'))).toBe(true);
    expect(isTransientPgError(withCode('the database system is starting up', '57P03'))).toBe(true);
    expect(isTransientPgError(withCode('sorry, too many clients already', '53300'))).toBe(true);
    expect(isTransientPgError(withCode('password authentication failed for user "walrus"', '28P01'))).toBe(false);
    expect(isTransientPgError(new Error('something else'))).toBe(false);
  });

  it('pg errors - node-postgres connection failures without a code', () => {
    expect(isTransientPgError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransientPgError(new Error('timeout exceeded when trying to connect'))).toBe(true);
  });

  it('pg errors - a wrapper is judged by the error it wraps', () => {
    const wrapped = new Error('migration 002_x.sql failed: permission denied for schema walrus', { cause: withCode('permission denied for schema walrus', '42501') });
    expect(sqlState(wrapped)).toBe('42501');
    expect(isTransientPgError(wrapped)).toBe(false);
    expect(isTransientPgError(new Error('migration 001 failed', { cause: withCode('read ECONNRESET', 'ECONNRESET') }))).toBe(true);
    expect(sqlState(withCode('x', 'ECONNRESET'))).toBeNull();
    expect(sqlState('not an error')).toBeNull();
  });
});
