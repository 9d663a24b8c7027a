import { describe, expect, it } from 'vitest';
import { ClusterLock } from './cluster-lock.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('decider - cluster lock', () => {
  it('runs one holder per cluster at a time, in arrival order, and clusters independently', async () => {
    const lock = new ClusterLock();
    const events: string[] = [];
    let openA!: () => void;
    const first = lock.run('a', async () => {
      events.push('a1 start');
      await new Promise<void>((r) => (openA = r));
      events.push('a1 end');
    });
    const second = lock.run('a', async () => {
      events.push('a2');
      return 2;
    });
    const other = lock.run('b', async () => {
      events.push('b1');
    });
    await other;
    await tick();
    expect(events).toEqual(['a1 start', 'b1']);
    openA();
    await first;
    expect(await second).toBe(2);
    expect(events).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it('lets the next holder in after a failure', async () => {
    const lock = new ClusterLock();
    await expect(lock.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('a', async () => 'next')).toBe('next');
  });
});
