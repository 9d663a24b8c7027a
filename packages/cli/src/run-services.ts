import {
  commonEnvSchema,
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
  type ServiceDefinition,
  type ServiceHandle,
} from '@walrus/runtime';

/** Variables that may come from files (`NAME_FILE`), for secrets. */
// WALRUS_CLUSTERS_FILE is not one of them: it names a file of cluster lines (loadClusters).
const FILE_VARIABLES = ['NATS_PASSWORD', 'HISTORY_DATABASE_URL'] as const;

/**
 * Runs one or more services in this process, in the shape every walrus main
 * has: configuration → connections → consumers → HTTP → one "started" line;
 * stopped in reverse order on SIGTERM/SIGINT.
 */
export async function runServices(
  processName: string,
  defs: ServiceDefinition<unknown>[],
  defaultMetricsPort: number,
  rawEnv: Record<string, string | undefined>,
): Promise<void> {
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
  if (problems.length > 0 || !common.config) {
    process.stderr.write(`walrus ${processName}: invalid configuration\n${[...new Set(problems)].map((p) => `  ${p}\n`).join('')}`);
    process.exitCode = 2;
    return;
  }
  const cfg = common.config;
  const log = createLogger({ level: cfg.LOG_LEVEL, name: `walrus-${processName}` });
  const registry = createRegistry(processName);

  await runUntilSignal({
    log,
    timeoutSec: cfg.SHUTDOWN_TIMEOUT_SEC,
    start: async () => {
      const nc = await connectNats(
        {
          servers: cfg.NATS_URL,
          name: `walrus-${processName}`,
          ...(cfg.NATS_USER ? { user: cfg.NATS_USER } : {}),
          ...(cfg.NATS_PASSWORD ? { pass: cfg.NATS_PASSWORD } : {}),
        },
        log,
      );
      if (cfg.WALRUS_PROVISION) {
        await ensureStreams(nc, { ...DEFAULT_STREAM_OPTIONS, replicas: cfg.WALRUS_JS_REPLICAS }, log);
      }
      const handles: ServiceHandle[] = [];
      try {
        for (const [i, def] of defs.entries()) {
          handles.push(
            await def.start({
              config: configs[i],
              nc,
              log: log.child({ module: def.name }),
              registry,
              now: () => new Date(),
              provision: cfg.WALRUS_PROVISION,
              replicas: cfg.WALRUS_JS_REPLICAS,
            }),
          );
        }
      } catch (err) {
        await stopAll(log, [...handles].reverse().map((h) => [h.name, () => h.stop()] as [string, () => Promise<void>]));
        await nc.close();
        throw err;
      }
      const http = await startHttpServer({
        port: cfg.METRICS_PORT ?? defaultMetricsPort,
        host: cfg.METRICS_HOST,
        registry,
        sources: handles,
        log,
      });
      log.info({ services: defs.map((d) => d.name), metricsPort: http.port }, 'started');
      return () =>
        stopAll(log, [
          ...[...handles].reverse().map((h) => [`stop ${h.name}`, () => h.stop()] as [string, () => Promise<void>]),
          ['drain NATS', () => nc.drain()],
          ['close HTTP', () => http.close()],
        ]);
    },
  });
}
