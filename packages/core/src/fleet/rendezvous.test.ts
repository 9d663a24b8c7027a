import { describe, expect, it } from 'vitest';
import { ownedBy, ownerOf } from './rendezvous.js';

const clusters = Array.from({ length: 3000 }, (_, i) => `c${i}`);

describe('rendezvous - which collector owns a cluster', () => {
  it('gives every cluster exactly one owner among the members, the same whatever order the members are listed in', () => {
    const members = ['a', 'b', 'c'];
    for (const c of clusters.slice(0, 200)) {
      const owner = ownerOf(c, members);
      expect(members).toContain(owner);
      expect(ownerOf(c, ['c', 'a', 'b'])).toBe(owner);
    }
    expect(ownerOf('c1', [])).toBeNull();
  });

  it('spreads clusters evenly: each of three members owns a third, within 5 %', () => {
    const members = ['collector-1', 'collector-2', 'collector-3'];
    for (const m of members) {
      const share = ownedBy(m, clusters, members).length / clusters.length;
      expect(Math.abs(share - 1 / 3)).toBeLessThan(0.05);
    }
  });

  it('moves only the leaving member clusters when one leaves, and only what the new one gains when one joins', () => {
    const before = ['a', 'b', 'c'];
    const after = ['a', 'b'];
    let moved = 0;
    for (const c of clusters) {
      const o1 = ownerOf(c, before);
      const o2 = ownerOf(c, after);
      if (o1 !== 'c') expect(o2).toBe(o1);
      else moved++;
    }
    expect(moved).toBe(ownedBy('c', clusters, before).length);
    const joined = ['a', 'b', 'c', 'd'];
    for (const c of clusters) {
      const o2 = ownerOf(c, joined);
      if (o2 !== 'd') expect(o2).toBe(ownerOf(c, before));
    }
  });
});
