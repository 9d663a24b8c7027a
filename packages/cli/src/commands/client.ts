import { connect, errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import { apiSubject, type ApiReply, type Endpoint } from '@walrus/core';
import { commonEnvSchema, errorMessage, loadEnvConfig, natsAuthOptions, natsOptionsFromConfig, resolveFileVariables } from '@walrus/runtime';

/** Exit codes of the control commands: scripts can tell these apart. */
export const EXIT = {
  ok: 0,
  /** Not found, or the operation failed. */
  failed: 1,
  /** Bad arguments or configuration (ours, or the control service's). */
  usage: 2,
  /** NATS cannot be reached, or no control service (or no decider, for analyze --apply and reset) answers. */
  unreachable: 3,
} as const;

/** A failure that ends the command with `code` after printing `message` to stderr. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface CliConnection {
  nc: NatsConnection;
  servers: string[];
}

/**
 * Connects once, briefly: a command line tool must say quickly that NATS is
 * not there rather than wait for it like a service does.
 */
export async function connectCli(env: Record<string, string | undefined>, timeoutMs = 3000): Promise<CliConnection> {
  const files = resolveFileVariables(env, ['NATS_PASSWORD', 'NATS_TOKEN', 'NATS_NKEY_SEED']);
  const common = loadEnvConfig(commonEnvSchema, files.env);
  const problems = [...files.problems, ...common.problems];
  if (!common.config || problems.length > 0) throw new CliError(EXIT.usage, `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const cfg = common.config;
  try {
    const nc = await connect({
      servers: cfg.NATS_URL,
      name: 'walrus-cli',
      timeout: timeoutMs,
      reconnect: false,
      maxReconnectAttempts: 0,
      // The same credentials, TLS and inbox prefix as the services take.
      ...natsAuthOptions(natsOptionsFromConfig(cfg, 'walrus-cli')),
    });
    return { nc, servers: cfg.NATS_URL };
  } catch (err) {
    throw new CliError(EXIT.unreachable, `cannot reach NATS at ${cfg.NATS_URL.join(', ')} (NATS_URL): ${errorMessage(err)}`);
  }
}

/** The control service's error codes as exit codes; anything else (not_found, failed, a code from a newer walrus) is 1. */
const EXIT_OF: ReadonlyMap<string, number> = new Map([
  ['bad_request', EXIT.usage],
  ['not_configured', EXIT.usage],
  // A service the request needs does not answer (a decider, the historian's schema): like no control service.
  ['unavailable', EXIT.unreachable],
]);

/** One request to the control service; its error codes become exit codes. */
export async function callApi<T>(conn: CliConnection, endpoint: Endpoint, body: unknown, timeoutMs = 3000): Promise<T> {
  const subject = apiSubject(endpoint);
  let text: string;
  try {
    const m = await conn.nc.request(subject, JSON.stringify(body), { timeout: timeoutMs });
    text = m.string();
  } catch (err) {
    // nats.js reports no responders as a RequestError caused by a NoRespondersError.
    if (err instanceof natsErrors.NoRespondersError || (err instanceof natsErrors.RequestError && err.isNoResponders())) {
      throw new CliError(EXIT.unreachable, `no walrus control service answers on ${subject}: start \`walrus control\` or \`walrus all\``);
    }
    if (err instanceof natsErrors.TimeoutError) {
      throw new CliError(EXIT.unreachable, `the walrus control service did not answer on ${subject} within ${timeoutMs / 1000} s`);
    }
    throw new CliError(EXIT.unreachable, `request on ${subject} failed: ${errorMessage(err)}`);
  }
  let reply: ApiReply<T>;
  try {
    reply = JSON.parse(text) as ApiReply<T>;
  } catch {
    throw new CliError(EXIT.failed, `the answer on ${subject} is not JSON: ${text.slice(0, 200)}`);
  }
  if (reply.ok) return reply.result;
  // A Map: a code like "constructor" (a newer or a forged answer) must not pick up an inherited property.
  const code = EXIT_OF.get(reply.error.code) ?? EXIT.failed;
  throw new CliError(code, reply.error.message);
}
