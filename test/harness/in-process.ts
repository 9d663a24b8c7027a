import { Writable } from 'node:stream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import {
  createLogger,
  createRegistry,
  DEFAULT_STREAM_OPTIONS,
  ensureStreams,
  type Registry,
  type ServiceDefinition,
  type ServiceHandle,
  StartupWaits,
} from '@walrus/runtime';
import { registerLogSource } from './logs.js';
import type { LogLine } from './walrus-process.js';

export interface InProcessService {
  handle: ServiceHandle;
  nc: NatsConnection;
  registry: Registry;
  lines: LogLine[];
  /** Stops the service and closes its connection; idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs one service inside the test process (faster than a child process, and
 * its registry can be read directly), against real NATS and PostgreSQL.
 */
export async function startInProcess<C>(
  def: ServiceDefinition<C>,
  env: Record<string, string>,
  natsUrl: string,
  now: () => Date = () => new Date(),
): Promise<InProcessService> {
  const loaded = def.loadConfig(env);
  if (!loaded.config) throw new Error(`invalid test configuration: ${loaded.problems.join('; ')}`);
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const log = createLogger({ level: 'debug', name: `test-${def.name}`, destination });
  let stopped = false;
  let stopping: Promise<void> | undefined;
  registerLogSource({ name: `${def.name} (in-process)`, lines: () => lines.map((l) => JSON.stringify(l)), running: () => !stopped });
  const nc = await connect({ servers: natsUrl, name: `test-${def.name}` });
  await ensureStreams(nc, DEFAULT_STREAM_OPTIONS, log);
  const registry = createRegistry(def.name);
  const handle = await def.start({ config: loaded.config, nc, log, registry, now, provision: true, replicas: 1, startup: new StartupWaits(log) });
  return {
    handle,
    nc,
    registry,
    lines,
    // Once: a test may stop a service itself before the file's afterEach does (per-test.ts).
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        await handle.stop();
        await nc.close();
      })()),
  };
}

/** Publishes a payload into JetStream as a producer would (msgID optional). */
export async function publishJs(nc: NatsConnection, subject: string, payload: unknown, msgID?: string): Promise<void> {
  const data = payload instanceof Uint8Array ? payload : typeof payload === 'string' ? payload : JSON.stringify(payload);
  await jetstream(nc).publish(subject, data, msgID ? { msgID } : undefined);
}
