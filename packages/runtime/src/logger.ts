import { pino, type Logger, type LevelWithSilent } from 'pino';
import { REDACT_PATHS } from './redact.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * One JSON line per event, object first and message second
 * (`log.info({ cluster, sizeMb }, 'resized')`); secrets are censored by
 * `redact` whatever a caller passes in.
 */
export function createLogger(opts: { level: LevelWithSilent; name: string; destination?: pino.DestinationStream }): Logger {
  const options: pino.LoggerOptions = {
    name: opts.name,
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '***' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
