import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import type { HealthSource } from './http.js';
import type { Logger } from './logger.js';
import type { OncePerProcess } from './once.js';
import type { StartupWaits } from './startup.js';

/** What every running service gives back to the process that started it. */
export interface ServiceHandle extends HealthSource {
  readonly name: string;
  /** Stops consuming and finishes in-flight work; connections it was given stay open. */
  stop(): Promise<void>;
}

/** Dependencies handed to a service (STYLE.md, habit 2): no module-level singletons. */
export interface ServiceDeps<C> {
  config: C;
  nc: NatsConnection;
  log: Logger;
  registry: Registry;
  /** The clock; tests and replays pass their own. */
  now: () => Date;
  /** Create the streams, consumers and KV buckets the service uses (WALRUS_PROVISION). */
  provision: boolean;
  /** Replicas of what it creates (WALRUS_JS_REPLICAS). */
  replicas: number;
  /** The connection's reply-subject prefix (NATS_INBOX_PREFIX), for services that make their own requests. */
  inboxPrefix?: string;
  /**
   * Runs each start-up step that needs a dependency (a consumer, a KV
   * bucket, a database) until it answers, reporting what it waits for
   * ("Start-up waits" in docs/ARCHITECTURE.md): `start` never fails because
   * JetStream or a database is not there yet, only on configuration errors.
   */
  startup: StartupWaits;
  /** Shared by the services of one process (`walrus all`): what each would warn about once is warned about once. Absent: the service's own. */
  once?: OncePerProcess;
}

/** How the `walrus` command knows a service: its configuration and how to start it. */
export interface ServiceDefinition<C> {
  readonly name: string;
  /** Default of METRICS_PORT when the service runs alone. */
  readonly defaultMetricsPort: number;
  /** Validates the service's own environment; every problem as `NAME: what is wrong (got X, allowed Y)`. */
  loadConfig(env: Record<string, string | undefined>): { config: C; problems: [] } | { config: null; problems: string[] };
  start(deps: ServiceDeps<C>): Promise<ServiceHandle>;
}
