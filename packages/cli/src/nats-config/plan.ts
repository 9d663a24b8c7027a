/**
 * The NATS users of a walrus deployment and what each may publish and
 * subscribe to: pure data, rendered by render.ts. The subjects follow what
 * each service really sends (nats.js 3 over nats-server 2.9): JetStream API
 * requests, acks (`$JS.ACK.<stream>.<consumer>.>`), JetStream publishes and
 * replies on the user's own inbox prefix.
 */

export interface NatsPlanOptions {
  clusters: readonly string[];
  collectors: number;
  appliers: number;
  deciders: number;
  historians: number;
  alertUsers: number;
  /** Control services (`walrus control`: walrus.api.*, live page, manual analyze). */
  controls: number;
  /** Users of the control commands (`walrus status`, `analyze`, `watch`, …). */
  cliUsers: number;
  /** Let services create streams/consumers/the KV bucket (WALRUS_PROVISION=on). */
  provision: boolean;
  /** The decider's durable consumer (WALRUS_DECIDER_CONSUMER). */
  deciderConsumer: string;
  /** Add a `walrus-admin` user with every permission (provisioning, operations). */
  admin: boolean;
}

export type Role = 'collector' | 'decider' | 'applier' | 'historian' | 'control' | 'cli' | 'alerts' | 'admin';

export interface PlannedUser {
  user: string;
  role: Role;
  /** Clusters served (collectors and appliers). */
  clusters: string[];
  inboxPrefix: string;
  publish: { allow?: string[]; deny?: string[] };
  subscribe: { allow?: string[]; deny?: string[] };
  /** May answer requests on their reply subjects (the control service). */
  allowResponses?: boolean;
}

const STREAMS = ['WALRUS_SAMPLES', 'WALRUS_DECISIONS', 'WALRUS_DLQ'] as const;
const KV_STREAM = 'KV_walrus_state';

export const applierConsumer = (cluster: string): string => `walrus-applier-${cluster}`;
const HISTORIAN_CONSUMER = 'walrus-historian';

/** Splits clusters among n services round-robin, in the order listed (stable as the list grows at its end). */
export function splitClusters(clusters: readonly string[], n: number): string[][] {
  const out: string[][] = Array.from({ length: n }, () => []);
  clusters.forEach((c, i) => out[i % n]!.push(c));
  return out;
}

/** Subjects every JetStream user needs: the API probe and, when provisioning, the streams walrus creates. */
function jsBase(provision: boolean, extraStreams: readonly string[] = []): string[] {
  const streams = [...STREAMS, ...extraStreams];
  return [
    '$JS.API.INFO',
    ...streams.map((s) => `$JS.API.STREAM.INFO.${s}`),
    ...(provision ? streams.map((s) => `$JS.API.STREAM.CREATE.${s}`) : []),
  ];
}

/** A pull consumer's API: info, create (only with its own filter subject), next, acks. */
function durableConsumer(stream: string, name: string, filter: string | null, provision: boolean): string[] {
  return [
    `$JS.API.CONSUMER.INFO.${stream}.${name}`,
    ...(provision
      ? filter
        ? // The filter is part of the subject, so the server refuses any other filter under this name.
          [`$JS.API.CONSUMER.CREATE.${stream}.${name}.${filter}`]
        : [`$JS.API.CONSUMER.CREATE.${stream}.${name}`, `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${name}`]
      : []),
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`,
    `$JS.ACK.${stream}.${name}.>`,
  ];
}

const inbox = (user: string): string => `_INBOX_${user}`;

function numbered(prefix: string, n: number, i: number): string {
  return n === 1 ? prefix : `${prefix}-${i + 1}`;
}

export function planNatsUsers(o: NatsPlanOptions): PlannedUser[] {
  const users: PlannedUser[] = [];
  const add = (user: string, role: Role, clusters: string[], pub: string[], sub: string[] = []) =>
    users.push({
      user,
      role,
      clusters,
      inboxPrefix: inbox(user),
      publish: { allow: pub },
      subscribe: { allow: [`${inbox(user)}.>`, ...sub] },
    });

  splitClusters(o.clusters, o.collectors).forEach((clusters, i) => {
    add(numbered('walrus-collector', o.collectors, i), 'collector', clusters, [
      ...jsBase(o.provision),
      ...clusters.map((c) => `walrus.sample.${c}`),
    ]);
  });
  for (let i = 0; i < o.deciders; i++) {
    add(numbered('walrus-decider', o.deciders, i), 'decider', [], [
      ...jsBase(o.provision, [KV_STREAM]),
      ...durableConsumer('WALRUS_SAMPLES', o.deciderConsumer, null, o.provision),
      // The decider re-reads earlier samples of a cluster (sample-log.ts) and its KV entries.
      '$JS.API.STREAM.MSG.GET.WALRUS_SAMPLES',
      `$JS.API.STREAM.MSG.GET.${KV_STREAM}`,
      `$JS.API.DIRECT.GET.${KV_STREAM}`,
      `$JS.API.DIRECT.GET.${KV_STREAM}.>`,
      '$KV.walrus_state.>',
      'walrus.decision.>',
      'walrus.dlq.decider',
    ]);
  }
  splitClusters(o.clusters, o.appliers).forEach((clusters, i) => {
    add(numbered('walrus-applier', o.appliers, i), 'applier', clusters, [
      ...jsBase(o.provision),
      ...clusters.flatMap((c) => durableConsumer('WALRUS_DECISIONS', applierConsumer(c), `walrus.decision.${c}`, o.provision)),
      ...clusters.map((c) => `walrus.applied.${c}`),
      'walrus.dlq.applier',
    ]);
  });
  for (let i = 0; i < o.historians; i++) {
    add(numbered('walrus-historian', o.historians, i), 'historian', [], [
      ...jsBase(o.provision),
      ...durableConsumer('WALRUS_DECISIONS', HISTORIAN_CONSUMER, null, o.provision),
      'walrus.dlq.historian',
    ]);
  }
  for (let i = 0; i < o.controls; i++) {
    const user = numbered('walrus-control', o.controls, i);
    // The control service reads everything (status, history of the streams,
    // consumer lists, the KV bucket) and publishes manual decisions (analyze
    // with apply, bounded by the applier like any other): decider-level trust.
    users.push({
      user,
      role: 'control',
      clusters: [],
      inboxPrefix: inbox(user),
      publish: { allow: ['$JS.API.>', '$KV.walrus_state.>', 'walrus.decision.>', 'walrus.dlq.control'] },
      // walrus.> : the live page follows samples, decisions and outcomes; walrus.api.> are its requests.
      subscribe: { allow: [`${inbox(user)}.>`, 'walrus.>'] },
      allowResponses: true,
    });
  }
  for (let i = 0; i < o.cliUsers; i++) {
    add(numbered('walrus-cli', o.cliUsers, i), 'cli', [], ['walrus.api.>'], ['walrus.decision.>', 'walrus.applied.>']);
  }
  for (let i = 0; i < o.alertUsers; i++) {
    const user = numbered('walrus-alerts', o.alertUsers, i);
    users.push({
      user,
      role: 'alerts',
      clusters: [],
      inboxPrefix: inbox(user),
      publish: { deny: ['>'] },
      subscribe: { allow: [`${inbox(user)}.>`, 'walrus.decision.>', 'walrus.applied.>'] },
    });
  }
  if (o.admin) {
    users.push({ user: 'walrus-admin', role: 'admin', clusters: [], inboxPrefix: inbox('walrus-admin'), publish: { allow: ['>'] }, subscribe: { allow: ['>'] } });
  }
  return users;
}
