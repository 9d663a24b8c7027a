/**
 * Sorts PostgreSQL and socket errors: transient ones (the server is away,
 * restarting, out of connections) are worth retrying; anything else the
 * server said is an answer. Decided by SQLSTATE or the socket's error code,
 * also when the error is the cause of another (a failed migration wraps the
 * server's error). node-postgres gives a few connection failures no code and
 * no class of their own, plain Errors: for those alone its fixed texts are
 * matched.
 */
export function isTransientPgError(err: unknown): boolean {
  const code = codeOf(err) ?? '';
  if (/^(08|57P0[1-3]|53[0-9]{3})/.test(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  return causes(err).some((e) => typeof e.message === 'string' && NODE_POSTGRES_CONNECTION_FAILURE.test(e.message));
}

/** node-postgres's own texts for a connection that failed or broke (pg's client.js, pg-pool's index.js). */
const NODE_POSTGRES_CONNECTION_FAILURE = /Connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error/i;

/** The SQLSTATE of a PostgreSQL error (or of the error it wraps), or null for anything else. */
export function sqlState(err: unknown): string | null {
  const code = codeOf(err);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** The first string `code` along the error and its causes. */
function codeOf(err: unknown): string | undefined {
  for (const e of causes(err)) if (typeof e.code === 'string') return e.code;
  return undefined;
}

/** The error and the causes it wraps, outermost first (a few levels: enough for any wrapper of ours). */
function causes(err: unknown): Array<{ code?: unknown; message?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown; cause?: unknown }> = [];
  for (let e: unknown = err; typeof e === 'object' && e !== null && out.length < 5; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}
