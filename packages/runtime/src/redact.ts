/**
 * Connection strings carry passwords; nothing that reaches a log, a metric or
 * a message may show them. `redactUrl` keeps the parts a DBA needs to know
 * which server is meant (user, host, port, database) and hides the secret.
 */
export function redactUrl(url: string): string {
  if (!/:\/\//.test(url)) return url.replace(/(password\s*=\s*)(\S+)/gi, '$1***');
  try {
    const u = new URL(url);
    let changed = false;
    if (u.password) {
      u.password = '***';
      changed = true;
    }
    for (const key of [...u.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) {
        u.searchParams.set(key, '***');
        changed = true;
      }
    }
    // Unchanged text stays exactly as given (URL would normalise it).
    return changed ? u.toString() : url;
  } catch {
    // Not a URL (a keyword/value string, say): hide anything that looks like a password.
    return url.replace(/(password\s*=\s*)(\S+)/gi, '$1***').replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  }
}

/** Variables whose whole value is a secret: an error message never echoes them. */
export function isSecretVariable(name: string): boolean {
  return /PASSWORD|TOKEN|SEED|SECRET/.test(name);
}

/** pino `redact` paths: any field of these names, at the top or one level down. */
export const REDACT_PATHS = [
  'password',
  'url',
  'connectionString',
  'databaseUrl',
  '*.password',
  '*.url',
  '*.connectionString',
  '*.databaseUrl',
  // NATS and HTTP credentials (nats.js options, Patroni's basic auth).
  'pass',
  'token',
  'nkeySeed',
  'authorization',
  '*.pass',
  '*.token',
  '*.nkeySeed',
  '*.authorization',
];
