import { describe, expect, it } from 'vitest';
import { planNatsUsers, splitClusters, type NatsPlanOptions } from './plan.js';
import { renderAuthorization } from './render.js';

const opts = (over: Partial<NatsPlanOptions> = {}): NatsPlanOptions => ({
  clusters: ['a', 'b', 'c'],
  collectors: 1,
  appliers: 2,
  deciders: 1,
  historians: 1,
  alertUsers: 1,
  controls: 1,
  cliUsers: 1,
  provision: true,
  deciderConsumer: 'walrus-decider',
  admin: false,
  ...over,
});

describe('nats-config - plan', () => {
  it('nats-config - splits clusters round-robin in the order listed', () => {
    expect(splitClusters(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'c', 'e'], ['b', 'd']]);
  });

  it('nats-config - only deciders and control may publish decisions', () => {
    const publishers = planNatsUsers(opts())
      .filter((u) => u.publish.allow?.some((s) => s === 'walrus.decision.>' || s.startsWith('walrus.decision.')))
      .map((u) => u.role);
    expect(publishers.sort()).toEqual(['control', 'decider']);
  });

  it('nats-config - an applier may consume and answer only its clusters, with its own filter', () => {
    const a2 = planNatsUsers(opts()).find((u) => u.user === 'walrus-applier-2')!;
    expect(a2.clusters).toEqual(['b']);
    const pub = a2.publish.allow!;
    expect(pub).toContain('$JS.API.CONSUMER.CREATE.WALRUS_DECISIONS.walrus-applier-b.walrus.decision.b');
    expect(pub).toContain('$JS.API.CONSUMER.MSG.NEXT.WALRUS_DECISIONS.walrus-applier-b');
    expect(pub).toContain('$JS.ACK.WALRUS_DECISIONS.walrus-applier-b.>');
    expect(pub).toContain('walrus.applied.b');
    expect(pub.filter((s) => /[.-][ac](\.|$)/.test(s) && !s.startsWith('$JS.API.STREAM'))).toEqual([]);
    expect(a2.subscribe.allow).toEqual(['_INBOX_walrus-applier-2.>']);
  });

  it('nats-config - without provisioning nobody may create streams or consumers', () => {
    const all = planNatsUsers(opts({ provision: false })).filter((u) => u.role !== 'control');
    expect(all.flatMap((u) => u.publish.allow ?? []).filter((s) => /\.CREATE\./.test(s))).toEqual([]);
  });

  it('nats-config - renders quoted subjects (an unquoted $JS would be a variable)', () => {
    const text = renderAuthorization(planNatsUsers(opts()).map((user) => ({ user, secret: { kind: 'password' as const, password: 'pw' } })), '');
    expect(text).toMatch(/^authorization \{\n {2}users = \[/);
    expect(text).toContain('"$JS.API.INFO"');
    expect(text).not.toMatch(/[^"]\$JS/);
    expect(text).toContain('allow_responses: true');
  });
});
