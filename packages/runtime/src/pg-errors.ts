/**
 * Sorts PostgreSQL and socket errors: transient ones (the server is away,
 * restarting, out of connections) are worth retrying; anything else the
 * server said is an answer. node-postgres gives a few connection failures
 * no code at all, hence the messages at the end.
 */
export function isTransientPgError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P0[1-3]|53[0-9]{3})/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error/i.test(message);
}

/** The SQLSTATE of a PostgreSQL error, or null for anything else. */
export function sqlState(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}
