import { afterEach, describe, expect, it } from 'vitest';
import { configureServers, serversOptions } from './options.js';

describe('servers options - configureServers', () => {
  const before = { ...serversOptions() };
  afterEach(() => configureServers(before));

  it('servers options - changes only what it is given', () => {
    configureServers({ tempPrefix: 'walrus-demo-', ownProcessGroup: true });
    expect(serversOptions()).toEqual({ ...before, tempPrefix: 'walrus-demo-', ownProcessGroup: true });
  });

  it('servers options - refuses a prefix that is not a plain file name', () => {
    expect(() => configureServers({ tempPrefix: '../x' })).toThrow(/tempPrefix must be a plain file name prefix/);
    expect(serversOptions().tempPrefix).toBe(before.tempPrefix);
  });
});
