import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { envBool, envInt, envPort } from './env.js';
import { LOG_LEVELS } from './logger.js';
import type { NatsOptions } from './nats.js';

/** Environment shared by every walrus process (ARCHITECTURE §6). */
export const commonEnvSchema = z.object({
  /** One or more NATS server URLs, comma-separated (a JetStream cluster lists each node). */
  NATS_URL: z
    .string()
    .default('nats://127.0.0.1:4222')
    .transform((s) => s.split(',').map((u) => u.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(nats|tls|wss?):\/\/[^\s]+$/, 'must be nats://host:port URLs')).min(1, 'must list at least one URL'))
    .describe('comma-separated nats://host:port URLs'),
  NATS_USER: z.string().optional().describe('a NATS user name'),
  NATS_PASSWORD: z.string().optional().describe('the NATS user password'),
  NATS_TOKEN: z.string().optional().describe('a NATS authentication token'),
  /** An nkey user seed (SU…); the server's authorization lists only its public key. */
  NATS_NKEY_SEED: z.string().regex(/^\s*SU[A-Z2-7]{56}\s*$/, 'is not an nkey user seed').optional().describe('an nkey user seed (SU…)'),
  NATS_CREDS_FILE: z.string().optional().describe('a path to a .creds file'),
  NATS_TLS_CA: z.string().optional().describe('a path to a PEM CA file'),
  NATS_TLS_CERT: z.string().optional().describe('a path to a PEM client certificate'),
  NATS_TLS_KEY: z.string().optional().describe('a path to a PEM client key'),
  /** Reply subjects start with this (`walrus nats-config` gives each user `_INBOX_<user>`). */
  NATS_INBOX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be subject tokens without wildcards')
    .optional()
    .describe('a subject prefix such as _INBOX_applier'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: 'is not a log level' }).default('info').describe(LOG_LEVELS.join(', ')),
  /** Port of /metrics, /healthz, /readyz; each service has its own default so several run on one host. */
  METRICS_PORT: envPort().optional(),
  METRICS_HOST: z.string().default('0.0.0.0').describe('an address to listen on'),
  /** Replicas of the streams and KV bucket this process creates (3 on a three-node JetStream cluster). */
  WALRUS_JS_REPLICAS: envInt(1, 5).default(1),
  /** Create streams, consumers and KV buckets at start-up; turn off where an administrator provisions them. */
  WALRUS_PROVISION: envBool().default(true),
  /** Seconds a graceful shutdown may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_SEC: envInt(1, 600).default(15),
});
export type CommonConfig = z.infer<typeof commonEnvSchema>;

/**
 * `NAME_FILE` variables (Docker and Kubernetes secrets) fill `NAME` from a
 * file, trailing newline removed. Returns a copy; problems are listed.
 */
export function resolveFileVariables(
  env: Record<string, string | undefined>,
  names: readonly string[],
): { env: Record<string, string | undefined>; problems: string[] } {
  const out = { ...env };
  const problems: string[] = [];
  for (const name of names) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (env[name] !== undefined && env[name] !== '') {
      problems.push(`${name}_FILE: set together with ${name} (got both, allowed one of them)`);
      continue;
    }
    try {
      out[name] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${JSON.stringify(file)} (${(err as Error).message})`);
    }
  }
  return { env: out, problems };
}

/** The NATS connection options of the common environment, for services and the CLI alike. */
export function natsOptionsFromConfig(cfg: CommonConfig, name: string): NatsOptions {
  return {
    servers: cfg.NATS_URL,
    name,
    ...(cfg.NATS_USER ? { user: cfg.NATS_USER } : {}),
    ...(cfg.NATS_PASSWORD ? { pass: cfg.NATS_PASSWORD } : {}),
    ...(cfg.NATS_TOKEN ? { token: cfg.NATS_TOKEN } : {}),
    ...(cfg.NATS_NKEY_SEED ? { nkeySeed: cfg.NATS_NKEY_SEED } : {}),
    ...(cfg.NATS_CREDS_FILE ? { credsFile: cfg.NATS_CREDS_FILE } : {}),
    tls: { caFile: cfg.NATS_TLS_CA, certFile: cfg.NATS_TLS_CERT, keyFile: cfg.NATS_TLS_KEY },
    ...(cfg.NATS_INBOX_PREFIX ? { inboxPrefix: cfg.NATS_INBOX_PREFIX } : {}),
  };
}
