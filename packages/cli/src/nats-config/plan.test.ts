import { assert, describe, expect, it } from 'vitest';
import { CONTROL_ONLY, DECIDER_ONLY, planNatsUsers, splitClusters, type NatsPlanOptions } from './plan.js';
import { renderAuthorization } from './render.js';

/** The first user of a role; the test fails naming the role when there is none. */
function withRole<U extends { role: string }>(users: readonly U[], role: string): U {
  const user = users.find((u) => u.role === role);
  assert(user, `no ${role} user`);
  return user;
}

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

  it('nats-config - only deciders may publish decisions or write walrus_state; every other user is denied both', () => {
    const users = planNatsUsers(opts({ deciders: 2, controls: 2, admin: true }));
    const writes = (s: string) => s === '>' || s.startsWith('walrus.decision') || s.startsWith('$KV.walrus_state') || s === '$JS.API.>' || /^\$JS\.API\.STREAM\.(PURGE|MSG\.DELETE|UPDATE|DELETE)\.KV_walrus_state/.test(s);
    const writers = users.filter((u) => u.publish.allow?.some(writes)).map((u) => u.user);
    expect(writers.sort()).toEqual(['walrus-admin', 'walrus-decider-1', 'walrus-decider-2']);
    for (const u of users.filter((x) => x.role !== 'decider' && x.role !== 'admin')) {
      expect(u.publish.deny, u.user).toEqual(expect.arrayContaining(['walrus.decision.>', '$KV.walrus_state.>', ...DECIDER_ONLY]));
    }
  });

  it('nats-config - the control service asks the deciders, who alone take those requests (queue group) and answer', () => {
    const users = planNatsUsers(opts());
    const control = withRole(users, 'control');
    const decider = withRole(users, 'decider');
    expect(control.publish.allow).toEqual(expect.arrayContaining(['walrus.decider.analyze', 'walrus.decider.reset']));
    expect(control.subscribe.deny).toEqual(['walrus.decider.>']);
    // Not the JetStream API wholesale: no stream changes, no consumers on the DLQ it once wrote to, no DLQ publish.
    expect(control.publish.allow).not.toContain('$JS.API.>');
    expect((control.publish.allow ?? []).filter((s) => /STREAM\.(CREATE|UPDATE|DELETE|PURGE)|WALRUS_DLQ|^walrus\.dlq/.test(s))).toEqual([
      '$JS.API.STREAM.CREATE.KV_walrus_state',
      '$JS.API.STREAM.CREATE.KV_walrus_clusters',
    ]);
    expect(decider.subscribe.allow).toEqual(['_INBOX_walrus-decider.>', 'walrus.decider.analyze walrus-decider', 'walrus.decider.reset walrus-decider']);
    expect(decider.allowResponses).toBe(true);
    for (const u of users.filter((x) => x.role !== 'control' && x.role !== 'admin')) {
      expect(u.publish.allow?.filter((s) => s.startsWith('walrus.decider')) ?? [], u.user).toEqual([]);
    }
  });

  it('nats-config - only deciders publish alerts (and may add their subject to an older stream); alert and CLI users subscribe to them', () => {
    const users = planNatsUsers(opts());
    expect(users.filter((u) => u.publish.allow?.includes('walrus.alert.>')).map((u) => u.role)).toEqual(['decider']);
    expect(users.filter((u) => u.publish.allow?.some((s) => s.startsWith('$JS.API.STREAM.UPDATE.'))).map((u) => u.role)).toEqual(['decider']);
    expect(withRole(users, 'decider').publish.allow).toContain('$JS.API.STREAM.UPDATE.WALRUS_DECISIONS');
    expect(withRole(planNatsUsers(opts({ provision: false })), 'decider').publish.allow).not.toContain('$JS.API.STREAM.UPDATE.WALRUS_DECISIONS');
    for (const role of ['alerts', 'cli'] as const) expect(withRole(users, role).subscribe.allow).toContain('walrus.alert.>');
  });

  it('nats-config - an applier may consume and answer only its clusters, with its own filter', () => {
    const a2 = planNatsUsers(opts()).find((u) => u.user === 'walrus-applier-2');
    assert(a2);
    expect(a2.clusters).toEqual(['b']);
    const pub = a2.publish.allow;
    assert(pub);
    expect(pub).toContain('$JS.API.CONSUMER.CREATE.WALRUS_DECISIONS.walrus-applier-b.walrus.decision.b');
    expect(pub).toContain('$JS.API.CONSUMER.MSG.NEXT.WALRUS_DECISIONS.walrus-applier-b');
    expect(pub).toContain('$JS.ACK.WALRUS_DECISIONS.walrus-applier-b.>');
    expect(pub).toContain('walrus.applied.b');
    expect(pub.filter((s) => /[.-][ac](\.|$)/.test(s) && !s.startsWith('$JS.API.STREAM'))).toEqual([]);
    expect(a2.subscribe.allow).toEqual(['_INBOX_walrus-applier-2.>']);
  });

  it('nats-config - without provisioning nobody may create streams or durable consumers (ordered ones aside: following a bucket, the deciders reading the last samples)', () => {
    for (const clusters of [['a', 'b', 'c'], null]) {
      const all = planNatsUsers(opts({ provision: false, clusters })).filter((u) => u.role !== 'control');
      const ordered = /CONSUMER\.CREATE\.(KV_walrus_(clusters|collectors|applied)|WALRUS_SAMPLES$|WALRUS_SAMPLES\.>$)/;
      expect(all.flatMap((u) => u.publish.allow ?? []).filter((s) => /\.CREATE\./.test(s) && !ordered.test(s))).toEqual([]);
      // Only deciders read the samples stream through an ordered consumer: they never write samples.
      expect(all.filter((u) => u.publish.allow?.includes('$JS.API.CONSUMER.CREATE.WALRUS_SAMPLES')).map((u) => u.role)).toEqual(['decider']);
    }
  });

  it('nats-config - serving the registry: only the control service writes it; collectors and appliers read it and serve any cluster', () => {
    const users = planNatsUsers(opts({ clusters: null, collectors: 3, appliers: 2, admin: true }));
    const registryWriters = users.filter((u) => u.publish.allow?.some((s) => s === '>' || s.startsWith('$KV.walrus_clusters'))).map((u) => u.user);
    expect(registryWriters.sort()).toEqual(['walrus-admin', 'walrus-control']);
    for (const u of users.filter((x) => x.role !== 'control' && x.role !== 'admin')) expect(u.publish.deny, u.user).toEqual(expect.arrayContaining([...CONTROL_ONLY]));
    const collector = withRole(users, 'collector');
    expect(collector.publish.allow).toEqual(expect.arrayContaining(['walrus.sample.>', '$KV.walrus_collectors.>', '$JS.API.CONSUMER.CREATE.KV_walrus_clusters.>', '$JS.FC.KV_walrus_clusters.>']));
    const applier = withRole(users, 'applier');
    expect(applier.publish.allow).toEqual(
      expect.arrayContaining(['$JS.API.CONSUMER.CREATE.WALRUS_DECISIONS.walrus-applier.walrus.decision.>', 'walrus.applied.>', '$KV.walrus_applied.>', '$JS.API.STREAM.MSG.GET.WALRUS_DECISIONS']),
    );
    // No per-cluster consumer: their number no longer grows with the clusters.
    expect((applier.publish.allow ?? []).filter((s) => /walrus-applier-/.test(s))).toEqual([]);
  });

  it('nats-config - renders quoted subjects (an unquoted $JS would be a variable)', () => {
    const text = renderAuthorization(planNatsUsers(opts()).map((user) => ({ user, secret: { kind: 'password' as const, password: 'pw' } })), '');
    expect(text).toMatch(/^authorization \{\n {2}users = \[/);
    expect(text).toContain('"$JS.API.INFO"');
    expect(text).not.toMatch(/[^"]\$JS/);
    expect(text).toContain('allow_responses: true');
  });

  it('nats-config - renders the deny lists: each user but the deciders is denied decisions and the KV bucket', () => {
    const text = renderAuthorization(planNatsUsers(opts()).map((user) => ({ user, secret: { kind: 'password' as const, password: 'pw' } })), '');
    const blocks = text.split(/\n {4}# /).slice(1);
    expect(blocks).toHaveLength(8);
    for (const block of blocks) {
      const publish = /publish: (.*)/.exec(block)?.[1];
      assert(publish !== undefined, block);
      if (block.startsWith('walrus-decider ')) expect(publish).not.toContain('"walrus.decision.>", "$KV.walrus_state.>"');
      else expect(publish, block.split('\n')[0]).toMatch(/deny: \[[^\]]*"walrus\.decision\.>", "\$KV\.walrus_state\.>"/);
    }
    expect(text).toContain('subscribe: { allow: ["_INBOX_walrus-decider.>", "walrus.decider.analyze walrus-decider", "walrus.decider.reset walrus-decider"] }');
  });
});
