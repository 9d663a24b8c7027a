import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from './options.js';

describe('demo options - parseDemoArgs', () => {
  it('demo options - defaults: PostgreSQL 17, until Ctrl-C', () => {
    expect(parseDemoArgs([])).toEqual({ ok: true, options: { durationSec: null, version: 17, port: 9105, help: false } });
  });

  it('demo options - --duration, --version and --port, also as --name=value', () => {
    expect(parseDemoArgs(['--duration', '60', '--version=15', '--port=0'])).toEqual({ ok: true, options: { durationSec: 60, version: 15, port: 0, help: false } });
  });

  it('demo options - every invalid value is listed at once', () => {
    expect(parseDemoArgs(['--duration', '1.5', '--version', '14', '--port', '65536'])).toEqual({
      ok: false,
      problems: [
        '--duration: not a whole number of seconds (got "1.5", allowed 1 .. 604800)',
        '--version: not a supported PostgreSQL version (got "14", allowed 15, 16, 17, 18)',
        '--port: not a port number (got "65536", allowed 0 .. 65535, 0 = any free port)',
      ],
    });
  });

  it('demo options - unknown options and positionals are refused', () => {
    expect(parseDemoArgs(['--json']).ok).toBe(false);
    expect(parseDemoArgs(['now']).ok).toBe(false);
  });
});
