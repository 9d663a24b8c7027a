import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from './client.js';
import { clusterArg, intOption, noMorePositional, parseCommandArgs } from './options.js';

const usageError = (f: () => unknown): { code: number; message: string } | undefined => {
  try {
    f();
  } catch (err) {
    if (err instanceof CliError) return { code: err.code, message: err.message };
    throw err;
  }
  return undefined;
};

describe('cli - control command arguments', () => {
  const options = { cluster: 'string', limit: 'string', json: 'boolean' } as const;

  it('cli - values, booleans and positionals, in any order', () => {
    expect(parseCommandArgs(['db1', '--limit', '5', '--json'], options)).toEqual({ positional: ['db1'], values: { limit: '5', json: true } });
    expect(parseCommandArgs(['--cluster=db2', 'x'], options)).toEqual({ positional: ['x'], values: { cluster: 'db2' } });
    // After --, everything is positional.
    expect(parseCommandArgs(['--', '--json'], options)).toEqual({ positional: ['--json'], values: {} });
  });

  it('cli - an unknown option, a value for a boolean, or a missing value is a usage error that names it', () => {
    expect(usageError(() => parseCommandArgs(['--verbose'], options))).toEqual({ code: EXIT.usage, message: 'unknown option --verbose' });
    expect(usageError(() => parseCommandArgs(['-v'], options))).toEqual({ code: EXIT.usage, message: 'unknown option -v' });
    expect(usageError(() => parseCommandArgs(['--json=yes'], options))).toEqual({ code: EXIT.usage, message: 'unknown option --json=yes' });
    expect(usageError(() => parseCommandArgs(['--limit'], options))).toEqual({ code: EXIT.usage, message: '--limit needs a value' });
    expect(usageError(() => parseCommandArgs(['--limit='], options))).toEqual({ code: EXIT.usage, message: '--limit needs a value' });
  });

  it('cli - a value that looks like an option is still the value, for its own check to name', () => {
    const args = parseCommandArgs(['--limit', '-5'], options);
    expect(args.values.limit).toBe('-5');
    expect(usageError(() => intOption('limit', args.values.limit, 1, 10_000))).toEqual({
      code: EXIT.usage,
      message: '--limit must be a whole number 1 .. 10000 (got "-5")',
    });
    expect(intOption('limit', '20', 1, 10_000)).toBe(20);
    expect(intOption('limit', undefined, 1, 10_000)).toBeUndefined();
  });

  it('cli - cluster ids and extra arguments', () => {
    expect(clusterArg('reset', 'db-1', true)).toBe('db-1');
    expect(clusterArg('status', undefined, false)).toBeUndefined();
    expect(usageError(() => clusterArg('reset', undefined, true))?.message).toBe('which cluster? (usage: walrus reset <cluster>)');
    expect(usageError(() => clusterArg('reset', 'a.b', true))?.message).toContain('invalid cluster id "a.b"');
    expect(usageError(() => noMorePositional(['a', 'b'], 1))?.message).toBe('unexpected argument "b"');
  });
});
