import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter.js';

describe('collector limiter', () => {
  it('lets at most `limit` holders in and hands slots over in arrival order', async () => {
    const l = new Limiter(2);
    const a = await l.acquire();
    const b = await l.acquire();
    const order: string[] = [];
    const c = l.acquire().then((r) => (order.push('c'), r));
    const d = l.acquire().then((r) => (order.push('d'), r));
    await Promise.resolve();
    expect([l.inUse, l.queued, order]).toEqual([2, 2, []]);
    a();
    a(); // a second release of the same slot changes nothing
    const rc = await c;
    expect([l.inUse, l.queued, order]).toEqual([2, 1, ['c']]);
    b();
    const rd = await d;
    rc();
    rd();
    expect([l.inUse, l.queued, order]).toEqual([0, 0, ['c', 'd']]);
  });

  it('tryAcquire takes a free slot, and none while the slots are taken or anyone waits', async () => {
    const l = new Limiter(1);
    const a = l.tryAcquire();
    expect(a).not.toBeNull();
    expect(l.tryAcquire()).toBeNull();
    const b = l.acquire();
    a?.();
    const rb = await b;
    expect(l.tryAcquire()).toBeNull();
    rb();
    const c = l.tryAcquire();
    expect([c === null, l.inUse]).toEqual([false, 1]);
    c?.();
    expect(l.inUse).toBe(0);
  });
});
