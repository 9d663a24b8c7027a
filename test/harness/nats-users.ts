import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { defined } from './defined.js';

/** The env files `walrus nats-config --out DIR` writes, by user: each one's NATS_* variables. */
export function readUserEnvFiles(dir: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.env'))) {
    const vars: Record<string, string> = {};
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line);
      if (m) vars[defined(m[1])] = defined(m[2]);
    }
    out[f.slice(0, -'.env'.length)] = vars;
  }
  return out;
}

/** A connection as one of those users (its password and inbox prefix); the caller closes it. */
export function connectAs(url: string, creds: Record<string, Record<string, string>>, user: string): Promise<NatsConnection> {
  const c = defined(creds[user], `credentials of ${user}`);
  return connect({ servers: url, user: defined(c.NATS_USER), pass: defined(c.NATS_PASSWORD), inboxPrefix: defined(c.NATS_INBOX_PREFIX), timeout: 5000 });
}
