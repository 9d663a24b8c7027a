import { describe, expect, it } from 'vitest';
import { liveMembers, nextExpiry, sameView, ServerClock, viewAgreed, type SeenMember } from './membership.js';

const seen = (id: string, atMs: number, view: string[]): SeenMember => ({ id, atMs, view });

describe('membership - liveness and agreement', () => {
  it('counts a member live while its last heartbeat is at most a lease old, by the server clock', () => {
    const members = [seen('a', 1000, []), seen('b', 5000, []), seen('c', 11_000, [])];
    expect(liveMembers(members, 11_000, 10_000)).toEqual(['a', 'b', 'c']);
    expect(liveMembers(members, 11_001, 10_000)).toEqual(['b', 'c']);
    expect(nextExpiry(members, 11_001, 10_000)).toBe(15_000);
    expect(nextExpiry([], 0, 10_000)).toBeNull();
  });

  it('agrees only when every other member of the view has announced that same view', () => {
    const view = ['a', 'b', 'c'];
    const others = new Map([
      ['b', seen('b', 0, ['a', 'b', 'c'])],
      ['c', seen('c', 0, ['a', 'b'])],
    ]);
    expect(viewAgreed('a', view, others)).toBe(false);
    others.set('c', seen('c', 0, ['a', 'b', 'c']));
    expect(viewAgreed('a', view, others)).toBe(true);
    // A member of the view not seen at all: not agreed.
    expect(viewAgreed('a', ['a', 'b', 'c', 'd'], others)).toBe(false);
    expect(viewAgreed('a', ['a'], new Map())).toBe(true);
    expect(sameView(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameView(['a', 'b'], ['a'])).toBe(false);
  });

  it('estimates the server clock from the newest server time seen, advanced by the local monotonic clock', () => {
    const clock = new ServerClock();
    expect(clock.now(0)).toBeNull();
    clock.observe(1_000_000, 50);
    expect(clock.now(150)).toBe(1_000_100);
    // An older server time (an old heartbeat delivered late) does not pull the estimate back.
    clock.observe(900_000, 200);
    expect(clock.now(250)).toBe(1_000_200);
    clock.observe(2_000_000, 300);
    expect(clock.now(300)).toBe(2_000_000);
  });
});
