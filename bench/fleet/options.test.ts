import { describe, expect, it } from 'vitest';
import { parseFleetOptions } from './options.js';

describe('bench:fleet - options', () => {
  it('bench:fleet - defaults, and what pnpm passes on after --', () => {
    expect(parseFleetOptions([])).toMatchObject({ clusters: 10_000, rounds: 3, collectorEntries: 1000, skipCollector: false, profileDir: null });
    expect(parseFleetOptions(['--', '--clusters', '100', '--skip-collector', '--profile', '/tmp/p'])).toMatchObject({
      clusters: 100,
      skipCollector: true,
      profileDir: '/tmp/p',
    });
    expect(parseFleetOptions(['--collector-entries=5']).collectorEntries).toBe(5);
    expect(parseFleetOptions([])).toMatchObject({ registryClusters: 10_000, registryCollectors: 3, registryIntervalSec: 60, skipRegistry: false });
    expect(parseFleetOptions(['--registry-clusters', '300', '--registry-interval', '5', '--skip-registry'])).toMatchObject({ registryClusters: 300, registryIntervalSec: 5, skipRegistry: true });
  });

  it('bench:fleet - a count that is not a positive integer, or an unknown option, is refused by name', () => {
    expect(() => parseFleetOptions(['--rate', '0'])).toThrow('--rate: a positive integer is required (got 0)');
    expect(() => parseFleetOptions(['--rate', '1.5'])).toThrow('--rate: a positive integer is required (got 1.5)');
    expect(() => parseFleetOptions(['--verbose'])).toThrow(/'--verbose'.*\(allowed: --clusters /s);
  });
});
