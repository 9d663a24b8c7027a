import type { PlannedUser } from './plan.js';

/** A password (kept in the server's configuration), or an nkey pair (the server keeps only the public key). */
export type Secret = { kind: 'password'; password: string } | { kind: 'nkey'; publicKey: string; seed: string };

export interface Credentials {
  user: PlannedUser;
  secret: Secret;
}

const q = (s: string): string => JSON.stringify(s);
const list = (xs: readonly string[]): string => `[${xs.map(q).join(', ')}]`;

function rule(r: { allow?: string[]; deny?: string[] }): string {
  const parts: string[] = [];
  if (r.allow) parts.push(`allow: ${list(r.allow)}`);
  if (r.deny) parts.push(`deny: ${list(r.deny)}`);
  return `{ ${parts.join(', ')} }`;
}

/**
 * The `authorization { users = [...] }` block for nats-server (2.9 syntax).
 * Subjects are quoted: an unquoted `$JS…` would be read as a variable.
 */
export function renderAuthorization(creds: readonly Credentials[], header: string): string {
  const users = creds.map(({ user: u, secret }) =>
    [
      `    # ${u.user} (${u.role})${u.clusters.length > 0 ? `: ${u.clusters.join(', ')}` : ''}`,
      '    {',
      ...(secret.kind === 'password' ? [`      user: ${q(u.user)}`, `      password: ${q(secret.password)}`] : [`      nkey: ${q(secret.publicKey)}`]),
      '      permissions: {',
      `        publish: ${rule(u.publish)}`,
      `        subscribe: ${rule(u.subscribe)}`,
      ...(u.allowResponses ? ['        allow_responses: true'] : []),
      '      }',
      '    }',
    ].join('\n'),
  );
  return `${header}authorization {\n  users = [\n${users.join('\n')}\n  ]\n}\n`;
}

/** The environment a service runs with (an env file for docker compose or systemd). */
export function renderEnv(c: Credentials): string {
  return [
    `# walrus ${c.user.role}${c.user.clusters.length > 0 ? ` for clusters: ${c.user.clusters.join(', ')}` : ''}`,
    ...(c.secret.kind === 'password' ? [`NATS_USER=${c.user.user}`, `NATS_PASSWORD=${c.secret.password}`] : [`NATS_NKEY_SEED=${c.secret.seed}`]),
    `NATS_INBOX_PREFIX=${c.user.inboxPrefix}`,
    '',
  ].join('\n');
}
