import type { NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstreamManager, type ConsumerConfig } from '@nats-io/jetstream';
import { runConsumer, type RunConsumerOptions, type RunningConsumer } from './consumer.js';
import { isNotFound, isTransientJetStreamError } from './jetstream-errors.js';
import type { Logger } from './logger.js';
import type { StartupWaits } from './startup.js';

// Durable consumers created where missing (WALRUS_PROVISION) and started through the start-up waits.

/** Creates the durable consumer when missing; an existing one is used as it is. */
export async function ensureConsumer(
  nc: NatsConnection,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
  provision: boolean,
  log: Logger,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch (err) {
    if (!isNotFound(err) || !provision) throw err;
    await jsm.consumers.add(stream, {
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...config,
    });
    log.info({ stream, consumer: config.durable_name }, 'created consumer');
  }
}

/**
 * Creates the durable consumer when missing (with `provision`) and runs it,
 * waiting through `startup` while JetStream cannot answer yet (a leader being
 * elected, no responders, timeouts). Without `provision`, a missing stream or
 * consumer is waited for too: an administrator creates them, in any order.
 */
export function startDurableConsumer(
  startup: StartupWaits,
  provision: boolean,
  config: Partial<ConsumerConfig> & { durable_name: string },
  run: Omit<RunConsumerOptions, 'durable'>,
): Promise<RunningConsumer> {
  const what = `JetStream consumer ${config.durable_name} on ${run.stream}${provision ? '' : ' (WALRUS_PROVISION=false: created by an administrator)'}`;
  return startup.wait(
    what,
    async () => {
      await ensureConsumer(run.nc, run.stream, config, provision, run.log);
      return runConsumer({ ...run, durable: config.durable_name });
    },
    { transient: (err) => isTransientJetStreamError(err) || (!provision && isNotFound(err)) },
  );
}
