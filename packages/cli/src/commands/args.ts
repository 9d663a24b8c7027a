import { CliError, EXIT } from './client.js';

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

/**
 * `--name value`, `--name=value` and boolean `--name`; anything not listed
 * in `valued` or `booleans` is a usage error, as is a missing value.
 */
export function parseArgs(command: string, argv: readonly string[], valued: readonly string[], booleans: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (booleans.includes(name) && eq < 0) {
      flags.set(name, true);
    } else if (valued.includes(name)) {
      const value = eq < 0 ? argv[++i] : a.slice(eq + 1);
      if (value === undefined || value === '') throw new CliError(EXIT.usage, `walrus ${command}: --${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new CliError(EXIT.usage, `walrus ${command}: unknown option ${a}`);
    }
  }
  return { positional, flags };
}

export function intFlag(command: string, args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(EXIT.usage, `walrus ${command}: --${name} must be a whole number ${min} .. ${max} (got ${JSON.stringify(v)})`);
  }
  return n;
}

const CLUSTER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function clusterArg(command: string, value: string | undefined, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw new CliError(EXIT.usage, `walrus ${command}: which cluster? (usage: walrus ${command} <cluster>)`);
    return undefined;
  }
  if (!CLUSTER_ID.test(value)) {
    throw new CliError(EXIT.usage, `walrus ${command}: invalid cluster id ${JSON.stringify(value)} (allowed 1 to 64 characters of [A-Za-z0-9_-])`);
  }
  return value;
}

export function noMorePositional(command: string, args: ParsedArgs, max: number): void {
  if (args.positional.length > max) {
    throw new CliError(EXIT.usage, `walrus ${command}: unexpected argument ${JSON.stringify(args.positional[max])}`);
  }
}
