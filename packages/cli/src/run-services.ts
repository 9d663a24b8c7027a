import {
  ConfigError,
  describeFailure,
  isAbortError,
  isNatsRefusal,
  isTransientJetStreamError,
  OncePerProcess,
  StartupWaits,
  streamConfigs,
  type NatsConnection,
  commonEnvSchema,
  natsOptionsFromConfig,
  connectNats,
  createLogger,
  createRegistry,
  ensureStreams,
  DEFAULT_STREAM_OPTIONS,
  loadEnvConfig,
  resolveFileVariables,
  runUntilSignal,
  startHttpServer,
  stopAll,
  type Logger,
  type ServiceDefinition,
  type ServiceHandle,
} from '@walrus/runtime';

/** Variables that may come from files (`NAME_FILE`), for secrets. */
// WALRUS_CLUSTERS_FILE is not one of them: it names a file of cluster lines (loadClusters).
const FILE_VARIABLES = ['NATS_PASSWORD', 'NATS_TOKEN', 'NATS_NKEY_SEED', 'HISTORY_DATABASE_URL'] as const;

/** Services configured and ready to start. */
export interface PreparedServices {
  log: Logger;
  /** SHUTDOWN_TIMEOUT_SEC */
  timeoutSec: number;
  /** Resolves once everything runs; `signal` (a stop asked for meanwhile) ends its waits and rejects it. */
  start(signal?: AbortSignal): Promise<RunningServices>;
}

export interface RunningServices {
  /** The port of /metrics, /healthz, /readyz (and the control service's live page): METRICS_PORT, or the one chosen for 0. */
  httpPort: number;
  /** Stops them in reverse order of starting. */
  stop(): Promise<void>;
}

export interface PrepareOptions {
  /** Where the JSON log lines go; default stdout. */
  logDestination?: NonNullable<Parameters<typeof createLogger>[0]['destination']>;
}

/**
 * Validates the configuration of one or more services for this process
 * (every problem at once) and returns how to start them, in the shape every
 * walrus main has: configuration → connections → consumers → HTTP → one
 * "started" line; the returned stop function goes in reverse order.
 */
export function prepareServices(
  processName: string,
  defs: ServiceDefinition<unknown>[],
  defaultMetricsPort: number,
  rawEnv: Record<string, string | undefined>,
  options: PrepareOptions = {},
): { ok: true; services: PreparedServices } | { ok: false; problems: string[] } {
  const files = resolveFileVariables(rawEnv, FILE_VARIABLES);
  const env = files.env;
  const problems = [...files.problems];
  const common = loadEnvConfig(commonEnvSchema, env);
  problems.push(...common.problems);
  const configs = defs.map((d) => {
    const r = d.loadConfig(env);
    problems.push(...r.problems);
    return r.config;
  });
  if (problems.length > 0 || !common.config) return { ok: false, problems: [...new Set(problems)] };
  const cfg = common.config;
  const log = createLogger({
    level: cfg.LOG_LEVEL,
    name: `walrus-${processName}`,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const registry = createRegistry(processName);

  const start = async (signal?: AbortSignal): Promise<RunningServices> => {
    const startup = new StartupWaits(log, signal ? { signal } : {});
    // One for the process: the services of `walrus all` warn about the same cluster once.
    const once = new OncePerProcess();
    // Health and metrics first: while NATS, JetStream or a database is not
    // there yet, /readyz says what the process waits for.
    const handles: ServiceHandle[] = [];
    const http = await startHttpServer({
      port: cfg.METRICS_PORT ?? defaultMetricsPort,
      host: cfg.METRICS_HOST,
      registry,
      sources: handles,
      startup,
      log,
    });
    log.info({ metricsPort: http.port }, 'serving /healthz, /readyz and /metrics');
    let nc: NatsConnection | null = null;
    try {
      nc = await connectNats(natsOptionsFromConfig(cfg, `walrus-${processName}`), log, startup);
      const conn = nc;
      if (cfg.WALRUS_PROVISION) {
        const streams = { ...DEFAULT_STREAM_OPTIONS, replicas: cfg.WALRUS_JS_REPLICAS };
        await startup.wait(`JetStream streams ${streamConfigs(streams).map((c) => c.name).join(', ')}`, () => ensureStreams(conn, streams, log), {
          transient: isTransientJetStreamError,
        });
      }
      for (const [i, def] of defs.entries()) {
        handles.push(
          await def.start({
            config: configs[i],
            nc: conn,
            log: log.child({ module: def.name }),
            registry,
            now: () => new Date(),
            provision: cfg.WALRUS_PROVISION,
            replicas: cfg.WALRUS_JS_REPLICAS,
            startup,
            once,
            ...(cfg.NATS_INBOX_PREFIX ? { inboxPrefix: cfg.NATS_INBOX_PREFIX } : {}),
          }),
        );
      }
    } catch (err) {
      await stopAll(log, [
        ...[...handles].reverse().map((h) => [h.name, () => h.stop()] as [string, () => Promise<void>]),
        ['close NATS', () => nc?.close()],
        ['close HTTP', () => http.close()],
      ]);
      throw asStartupError(err);
    }
    const conn = nc;
    startup.markComplete();
    // "started" still means what it always meant: everything is running.
    log.info({ services: defs.map((d) => d.name), metricsPort: http.port }, 'started');
    return {
      httpPort: http.port,
      stop: () =>
        stopAll(log, [
          ...[...handles].reverse().map((h) => [`stop ${h.name}`, () => h.stop()] as [string, () => Promise<void>]),
          // Draining needs the server; when NATS is away, close instead so
          // that no reconnect attempt keeps the process alive.
          ['drain NATS', () => conn.drain().catch(() => conn.close())],
          ['close HTTP', () => http.close()],
        ]),
    };
  };
  return { ok: true, services: { log, timeoutSec: cfg.SHUTDOWN_TIMEOUT_SEC, start } };
}

/**
 * Runs one or more services in this process until SIGTERM/SIGINT, then stops
 * them in reverse order (a second signal or the timeout forces the exit).
 */
export async function runServices(
  processName: string,
  defs: ServiceDefinition<unknown>[],
  defaultMetricsPort: number,
  rawEnv: Record<string, string | undefined>,
): Promise<void> {
  const prepared = prepareServices(processName, defs, defaultMetricsPort, rawEnv);
  if (!prepared.ok) {
    process.stderr.write(`walrus ${processName}: invalid configuration\n${prepared.problems.map((p) => `  ${p}\n`).join('')}`);
    process.exitCode = 2;
    return;
  }
  const { log, timeoutSec, start } = prepared.services;
  try {
    await runUntilSignal({ log, timeoutSec, start: async (signal) => (await start(signal)).stop });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Found only once a server answered (a JetStream setting, a permission,
    // credentials the history database refuses): a configuration error all the same.
    log.error({ problems: err.problems }, 'invalid configuration');
    process.stderr.write(`walrus ${processName}: invalid configuration\n${err.problems.map((p) => `  ${p}\n`).join('')}`);
    process.exit(2);
  }
}

/** A NATS refusal of what the configuration asks for becomes a ConfigError (exit 2); anything else stays as it is. */
function asStartupError(err: unknown): unknown {
  if (err instanceof ConfigError || isAbortError(err) || !isNatsRefusal(err)) return err;
  return new ConfigError([`NATS refused the walrus set-up (check WALRUS_JS_REPLICAS, WALRUS_PROVISION and the NATS user's permissions): ${describeFailure(err)}`]);
}
