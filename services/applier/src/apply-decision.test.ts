import { describe, expect, it } from 'vitest';
import { classifyAlterError } from './apply-decision.js';
import { ManagerError } from './strategies/types.js';

/** What node-postgres gives for an error the server sent: its message and SQLSTATE. */
const serverError = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('applier - a failed change, by SQLSTATE', () => {
  it('applier - permission denied although the grants were held: the read-only postgresql.auto.conf', () => {
    const err = serverError('could not open file "postgresql.auto.conf": Permission denied', '42501');
    expect(classifyAlterError(err, { grantsHeld: true })).toMatchObject({ kind: 'done', status: 'failed', error: expect.stringMatching(/^cannot write postgresql\.auto\.conf .*CloudNativePG/) });
    // The same code without the grants seen: the grants are what to give.
    expect(classifyAlterError(serverError('permission denied for parameter max_wal_size', '42501'))).toMatchObject({
      error: expect.stringMatching(/^permission denied .*GRANT ALTER SYSTEM ON PARAMETER max_wal_size/),
    });
  });

  it('applier - ALTER SYSTEM disabled, the server away, a manager refusing', () => {
    expect(classifyAlterError(serverError('ALTER SYSTEM is not allowed in this environment', '0A000'), { grantsHeld: true })).toMatchObject({
      error: expect.stringContaining('allow_alter_system = off'),
    });
    expect(classifyAlterError(serverError('terminating connection due to administrator command', '57P01'))).toMatchObject({ kind: 'transient' });
    expect(classifyAlterError(new ManagerError('Patroni answered 503', true))).toEqual({ kind: 'transient', error: 'Patroni answered 503' });
    expect(classifyAlterError(serverError('syntax error', '42601'))).toMatchObject({ error: 'ALTER SYSTEM failed: syntax error (SQLSTATE 42601)' });
  });
});
