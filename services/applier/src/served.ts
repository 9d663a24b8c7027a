import { MemberList, MemberPools, type ClusterSpec, type MemberEndpoint, type SuperuserCheck } from '@walrus/cluster';
import type { Decision } from '@walrus/core';
import { errorMessage, sleep, type Logger } from '@walrus/runtime';
import type pg from 'pg';
import { attemptApply, type Attempt } from './apply-decision.js';
import { attemptOnMembers } from './apply-members.js';
import { strategyFor } from './strategies/select.js';
import type { ApplyStrategy } from './strategies/types.js';

/**
 * One cluster as the applier reaches it: its members (from the URL, or
 * Patroni), one pool per member, how a size is put in force. A cluster of
 * one member is a cluster of several with one: the same attempt serves both.
 */
export class ServedCluster {
  readonly members: MemberList;
  readonly pools: MemberPools;
  readonly strategy: ApplyStrategy;
  /** performance.now() of the last use: pools of a cluster idle for long are closed. */
  lastUsed = performance.now();

  constructor(
    readonly spec: ClusterSpec,
    private readonly o: { connectTimeoutSec: number; verifyTimeoutSec: number; log: Logger; superusers: SuperuserCheck },
  ) {
    this.members = new MemberList(spec.topology, o.connectTimeoutSec * 1000);
    this.pools = new MemberPools(
      { max: 1, connectionTimeoutMillis: o.connectTimeoutSec * 1000, application_name: 'walrus-applier', idleTimeoutMillis: 60_000 },
      (member, err) => o.log.warn({ err, cluster: spec.id, member }, 'idle connection to cluster member lost'),
      spec.password,
    );
    this.strategy = strategyFor(spec.topology, o.connectTimeoutSec * 1000);
  }

  get id(): string {
    return this.spec.id;
  }

  /** The first member: a single-member cluster's only one; the start-up role check uses it for any (the role replicates). */
  get firstMember(): MemberEndpoint {
    const [first] = this.members.current;
    if (!first) throw new Error(`cluster ${this.id} has no members`);
    return first;
  }

  /** One attempt at a decision: on the one member of a single-host entry, or through the primary (and standbys) of several. */
  async attempt(d: Decision): Promise<Attempt> {
    this.lastUsed = performance.now();
    const { log, superusers } = this.o;
    const verify = { verifyTimeoutMs: this.o.verifyTimeoutSec * 1000, sleep: (ms: number) => sleep(ms), monotonicMs: () => performance.now(), strategy: this.strategy };
    if (this.spec.topology.multiMember) {
      if (this.members.dynamic) {
        const r = await this.members.refresh();
        if (r.error) log.warn({ cluster: this.id, error: r.error }, 'could not read the member list from Patroni; using the last one');
        else await this.pools.retain(r.members.map((m) => m.name));
      }
      return attemptOnMembers({
        decision: d,
        members: this.members.current,
        connect: async (m) => {
          const client = await this.pools.pool(m).connect();
          // Once per cluster and process, on whichever member comes first (the role is the same on all).
          await superusers.check(client, this.id).catch(() => undefined);
          return client;
        },
        ...verify,
      });
    }
    let client: pg.PoolClient;
    try {
      client = await this.pools.pool(this.firstMember).connect();
    } catch (err) {
      return { kind: 'transient', error: errorMessage(err) };
    }
    let broken = false;
    try {
      // Once per cluster and process: here too, for a cluster that was down when the applier started.
      await superusers.check(client, this.id);
      const a = await attemptApply({ client, decision: d, ...verify });
      broken = a.kind === 'transient';
      return a;
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pools.end();
  }
}
