import { jetStreamErrCode, jetStreamStatus } from './jetstream-errors.js';
import { redactUrl } from './redact.js';

/** One class per kind of failure; each keeps its cause (STYLE.md, habit 6). */

/** Invalid service configuration: every problem, one line each. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One short line for a log or /readyz: the message and, for JetStream refusals, their codes; never a password. */
export function describeFailure(err: unknown): string {
  return redactUrl(describe(err));
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = jetStreamErrCode(err);
  const codes = code === undefined ? '' : ` (status ${jetStreamStatus(err) ?? '?'}, err_code ${code})`;
  const cause = err.cause instanceof Error && err.cause.message !== err.message ? `: ${err.cause.message}` : '';
  return `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}${codes}${cause}`;
}
