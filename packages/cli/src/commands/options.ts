import { parseArgs } from 'node:util';
import { CliError, EXIT } from './client.js';

/** A control command's options: each a string (`--name value`, `--name=value`), a string that may be repeated (`strings`), or a boolean (`--name`). */
export type OptionTypes = Readonly<Record<string, 'string' | 'strings' | 'boolean'>>;

export interface CommandArgs<T extends OptionTypes> {
  positional: string[];
  values: { [K in keyof T]?: T[K] extends 'string' ? string : T[K] extends 'strings' ? string[] : true };
}

/**
 * The arguments of a control command, read by node:util's parseArgs. Its
 * lenient mode is used and the tokens checked here, so that every command
 * answers as it always has: an option not listed (also a boolean given a
 * value, `--json=x`) is `unknown option`, a string option without a value
 * (`--limit`, `--limit=`) `needs a value`, and a value that looks like an
 * option (`--limit -5`) is still the value, for the range check to name.
 */
export function parseCommandArgs<const T extends OptionTypes>(argv: readonly string[], options: T): CommandArgs<T> {
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(options).map(([name, type]) => [name, type === 'strings' ? { type: 'string', multiple: true } : { type }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positional: string[] = [];
  const values: Record<string, string | string[] | true> = {};
  for (const t of tokens) {
    if (t.kind === 'positional') positional.push(t.value);
    if (t.kind !== 'option') continue;
    const type = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (type === undefined || (type === 'boolean' && t.value !== undefined)) {
      throw new CliError(EXIT.usage, `unknown option ${argv[t.index] ?? t.rawName}`);
    }
    if (type === 'boolean') {
      values[t.name] = true;
    } else {
      if (t.value === undefined || t.value === '') throw new CliError(EXIT.usage, `--${t.name} needs a value`);
      if (type === 'strings') {
        const list = values[t.name];
        values[t.name] = [...(Array.isArray(list) ? list : []), t.value];
      } else {
        values[t.name] = t.value;
      }
    }
  }
  return { positional, values: values as CommandArgs<T>['values'] };
}

/** A whole number option within min .. max; undefined when not given. */
export function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(EXIT.usage, `--${name} must be a whole number ${min} .. ${max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

const CLUSTER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function clusterArg(command: string, value: string | undefined, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw new CliError(EXIT.usage, `which cluster? (usage: walrus ${command} <cluster>)`);
    return undefined;
  }
  if (!CLUSTER_ID.test(value)) {
    throw new CliError(EXIT.usage, `invalid cluster id ${JSON.stringify(value)} (allowed 1 to 64 characters of [A-Za-z0-9_-])`);
  }
  return value;
}

export function noMorePositional(positional: readonly string[], max: number): void {
  if (positional.length > max) throw new CliError(EXIT.usage, `unexpected argument ${JSON.stringify(positional[max])}`);
}
