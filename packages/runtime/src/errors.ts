/** One class per kind of failure; each keeps its cause (STYLE.md, habit 6). */

/** Invalid service configuration: every problem, one line each. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

/** A dependency (PostgreSQL, NATS) could not be reached or refused the request. */
export class DependencyError extends Error {
  override name = 'DependencyError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
