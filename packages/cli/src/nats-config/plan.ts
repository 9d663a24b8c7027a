/**
 * The NATS users of a walrus deployment and what each may publish and
 * subscribe to: pure data, rendered by render.ts. The subjects follow what
 * each service really sends (nats.js 3 over nats-server 2.9): JetStream API
 * requests, acks (`$JS.ACK.<stream>.<consumer>.>`), JetStream publishes and
 * replies on the user's own inbox prefix.
 */

export interface NatsPlanOptions {
  /** The static cluster list split among collectors and appliers, or null: they serve the registry together. */
  clusters: readonly string[] | null;
  collectors: number;
  appliers: number;
  deciders: number;
  historians: number;
  alertUsers: number;
  /** Control services (`walrus control`: walrus.api.*, live page; asks deciders for analyze --apply and reset). */
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
/** The cluster registry's bucket: written by the control service alone (ARCHITECTURE §8). */
const REGISTRY_STREAM = 'KV_walrus_clusters';
const COLLECTORS_STREAM = 'KV_walrus_collectors';
const APPLIED_STREAM = 'KV_walrus_applied';

/**
 * Only the control service writes the registry: every other user (the
 * all-powerful walrus-admin aside) is denied its KV subject and the
 * requests that would change its stream, so that a collector or an applier
 * (which read it) can never register, change or remove a cluster.
 */
export const CONTROL_ONLY = [
  '$KV.walrus_clusters.>',
  `$JS.API.STREAM.PURGE.${REGISTRY_STREAM}`,
  `$JS.API.STREAM.MSG.DELETE.${REGISTRY_STREAM}`,
  `$JS.API.STREAM.UPDATE.${REGISTRY_STREAM}`,
  `$JS.API.STREAM.DELETE.${REGISTRY_STREAM}`,
] as const;

/**
 * Only deciders publish decisions and alerts and write walrus_state
 * (ARCHITECTURE §7). Every other user (the all-powerful walrus-admin aside,
 * which runs `walrus all`) is denied these explicitly, so that no allow rule
 * added later can open them: a decision, an alert, a KV write, and the
 * JetStream requests that would change the bucket's stream or the decisions'
 * stream from outside.
 */
export const DECIDER_ONLY = [
  'walrus.decision.>',
  '$KV.walrus_state.>',
  `$JS.API.STREAM.PURGE.${KV_STREAM}`,
  `$JS.API.STREAM.MSG.DELETE.${KV_STREAM}`,
  `$JS.API.STREAM.UPDATE.${KV_STREAM}`,
  `$JS.API.STREAM.DELETE.${KV_STREAM}`,
  'walrus.alert.>',
  'walrus.effect.>',
  '$JS.API.STREAM.UPDATE.WALRUS_DECISIONS',
] as const;

/** The requests deciders serve for the control service (analyze --apply, reset), in their queue group. */
const DECIDER_REQUESTS = ['walrus.decider.analyze', 'walrus.decider.reset'] as const;
const DECIDER_QUEUE = 'walrus-decider';

export const applierConsumer = (cluster: string): string => `walrus-applier-${cluster}`;
/** The consumer every applier of the registry shares (core's SHARED_APPLIER_CONSUMER). */
const SHARED_APPLIER_CONSUMER = 'walrus-applier';
const HISTORIAN_CONSUMER = 'walrus-historian';

/**
 * Following a KV bucket (a watch: an ordered push consumer delivering to
 * the user's inbox, with flow control), reading its entries and, with
 * provisioning, creating it. Nothing that writes it.
 */
function followBucket(stream: string, provision: boolean): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    `$JS.FC.${stream}.>`,
    ...(provision ? [`$JS.API.STREAM.CREATE.${stream}`] : []),
  ];
}

/** Splits clusters among n services round-robin, in the order listed (stable as the list grows at its end). */
export function splitClusters(clusters: readonly string[], n: number): string[][] {
  return Array.from({ length: n }, (_, k) => clusters.filter((_, i) => i % n === k));
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
      publish: { allow: pub, deny: [...DECIDER_ONLY, ...CONTROL_ONLY] },
      subscribe: { allow: [`${inbox(user)}.>`, ...sub] },
    });

  if (o.clusters === null) {
    // The registry: every collector may sample any registered cluster, and heartbeats its own entry among the collectors.
    for (let i = 0; i < o.collectors; i++) {
      add(numbered('walrus-collector', o.collectors, i), 'collector', [], [
        ...jsBase(o.provision),
        'walrus.sample.>',
        // The last sample of a cluster taken over from another collector.
        '$JS.API.STREAM.MSG.GET.WALRUS_SAMPLES',
        ...followBucket(REGISTRY_STREAM, o.provision),
        ...followBucket(COLLECTORS_STREAM, o.provision),
        '$KV.walrus_collectors.>',
      ]);
    }
  } else {
    splitClusters(o.clusters, o.collectors).forEach((clusters, i) => {
      add(numbered('walrus-collector', o.collectors, i), 'collector', clusters, [
        ...jsBase(o.provision),
        ...clusters.map((c) => `walrus.sample.${c}`),
      ]);
    });
  }
  for (let i = 0; i < o.deciders; i++) {
    const user = numbered('walrus-decider', o.deciders, i);
    users.push({
      user,
      role: 'decider',
      clusters: [],
      inboxPrefix: inbox(user),
      publish: {
        allow: [
          ...jsBase(o.provision, [KV_STREAM]),
          ...durableConsumer('WALRUS_SAMPLES', o.deciderConsumer, null, o.provision),
          // The decider re-reads earlier samples of a cluster (sample-log.ts) and its KV entries.
          '$JS.API.STREAM.MSG.GET.WALRUS_SAMPLES',
          `$JS.API.STREAM.MSG.GET.${KV_STREAM}`,
          `$JS.API.DIRECT.GET.${KV_STREAM}`,
          `$JS.API.DIRECT.GET.${KV_STREAM}.>`,
          '$KV.walrus_state.>',
          'walrus.decision.>',
          // Alerts (docs/DISK-SAFETY.md); a WALRUS_DECISIONS made by an older walrus gets their subject at start-up.
          'walrus.alert.>',
          // What each change did (docs/ALGORITHMS.md); added to an older WALRUS_DECISIONS likewise.
          'walrus.effect.>',
          ...(o.provision ? ['$JS.API.STREAM.UPDATE.WALRUS_DECISIONS'] : []),
          'walrus.dlq.decider',
          // no_samples: the last sample of every cluster (an ordered consumer, headers only; samples are written by the collectors, not by deciders), and the registry.
          '$JS.API.CONSUMER.CREATE.WALRUS_SAMPLES',
          '$JS.API.CONSUMER.CREATE.WALRUS_SAMPLES.>',
          '$JS.API.CONSUMER.MSG.NEXT.WALRUS_SAMPLES.*',
          '$JS.API.CONSUMER.DELETE.WALRUS_SAMPLES.*',
          ...followBucket(REGISTRY_STREAM, o.provision),
        ],
        deny: [...CONTROL_ONLY],
      },
      // The control service's requests, only as a member of the deciders' queue group ("subject queue").
      subscribe: { allow: [`${inbox(user)}.>`, ...DECIDER_REQUESTS.map((s) => `${s} ${DECIDER_QUEUE}`)] },
      allowResponses: true,
    });
  }
  if (o.clusters === null) {
    // The registry: one consumer shared by every applier; each cluster's decisions kept in order through walrus_applied.
    for (let i = 0; i < o.appliers; i++) {
      add(numbered('walrus-applier', o.appliers, i), 'applier', [], [
        ...jsBase(o.provision),
        ...durableConsumer('WALRUS_DECISIONS', SHARED_APPLIER_CONSUMER, 'walrus.decision.>', o.provision),
        // Earlier decisions of a cluster another applier did not finish.
        '$JS.API.STREAM.MSG.GET.WALRUS_DECISIONS',
        'walrus.applied.>',
        ...followBucket(REGISTRY_STREAM, o.provision),
        ...followBucket(APPLIED_STREAM, o.provision),
        '$KV.walrus_applied.>',
        'walrus.dlq.applier',
      ]);
    }
  } else {
    splitClusters(o.clusters, o.appliers).forEach((clusters, i) => {
      add(numbered('walrus-applier', o.appliers, i), 'applier', clusters, [
        ...jsBase(o.provision),
        ...clusters.flatMap((c) => durableConsumer('WALRUS_DECISIONS', applierConsumer(c), `walrus.decision.${c}`, o.provision)),
        ...clusters.map((c) => `walrus.applied.${c}`),
        'walrus.dlq.applier',
      ]);
    });
  }
  for (let i = 0; i < o.historians; i++) {
    add(numbered('walrus-historian', o.historians, i), 'historian', [], [
      ...jsBase(o.provision),
      ...durableConsumer('WALRUS_DECISIONS', HISTORIAN_CONSUMER, null, o.provision),
      'walrus.dlq.historian',
    ]);
  }
  for (let i = 0; i < o.controls; i++) {
    const user = numbered('walrus-control', o.controls, i);
    // The control service reads everything (status, the streams' history for
    // the page, consumer lists, the KV bucket) and asks a decider for the
    // changes (analyze with apply, reset). It writes to no stream, and may
    // create consumers only on streams whose every message was written by
    // another service: a push consumer delivers where its creator says,
    // without the creator's publish permissions, so a consumer on a stream it
    // could write to (the DLQ) would let it place a forged decision.
    users.push({
      user,
      role: 'control',
      clusters: [],
      inboxPrefix: inbox(user),
      publish: {
        allow: [
          '$JS.API.INFO',
          '$JS.API.STREAM.NAMES',
          '$JS.API.STREAM.LIST',
          '$JS.API.STREAM.INFO.*',
          '$JS.API.STREAM.MSG.GET.*',
          '$JS.API.DIRECT.GET.>',
          '$JS.API.CONSUMER.NAMES.*',
          '$JS.API.CONSUMER.LIST.*',
          '$JS.API.CONSUMER.INFO.*.*',
          // Ordered consumers for the page's charts (samples, decisions) and the bucket's key listing.
          ...(['WALRUS_SAMPLES', 'WALRUS_DECISIONS', KV_STREAM] as const).flatMap((stream) => [
            `$JS.API.CONSUMER.CREATE.${stream}`,
            `$JS.API.CONSUMER.CREATE.${stream}.>`,
            `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
            `$JS.API.CONSUMER.DELETE.${stream}.*`,
            `$JS.FC.${stream}.>`,
          ]),
          // The bucket, empty, when the control service starts before any decider.
          ...(o.provision ? [`$JS.API.STREAM.CREATE.${KV_STREAM}`] : []),
          ...DECIDER_REQUESTS,
          // The registry: the control service alone writes it (walrus clusters add|remove).
          ...followBucket(REGISTRY_STREAM, o.provision),
          '$KV.walrus_clusters.>',
        ],
        deny: [...DECIDER_ONLY],
      },
      // walrus.> : the live page follows samples, decisions and outcomes; walrus.api.> are its requests.
      // Not walrus.decider.>: it must not take the deciders' requests in their place.
      subscribe: { allow: [`${inbox(user)}.>`, 'walrus.>'], deny: ['walrus.decider.>'] },
      allowResponses: true,
    });
  }
  for (let i = 0; i < o.cliUsers; i++) {
    add(numbered('walrus-cli', o.cliUsers, i), 'cli', [], ['walrus.api.>'], ['walrus.decision.>', 'walrus.applied.>', 'walrus.alert.>', 'walrus.effect.>']);
  }
  for (let i = 0; i < o.alertUsers; i++) {
    const user = numbered('walrus-alerts', o.alertUsers, i);
    users.push({
      user,
      role: 'alerts',
      clusters: [],
      inboxPrefix: inbox(user),
      publish: { deny: ['>', ...DECIDER_ONLY, ...CONTROL_ONLY] },
      subscribe: { allow: [`${inbox(user)}.>`, 'walrus.decision.>', 'walrus.applied.>', 'walrus.alert.>', 'walrus.effect.>'] },
    });
  }
  if (o.admin) {
    // Every permission, decisions and the state included: it provisions, operates, and runs `walrus all`.
    users.push({ user: 'walrus-admin', role: 'admin', clusters: [], inboxPrefix: inbox('walrus-admin'), publish: { allow: ['>'] }, subscribe: { allow: ['>'] } });
  }
  return users;
}
