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
});
