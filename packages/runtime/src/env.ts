import { z } from 'zod';
import { isSecretVariable, redactUrl } from './redact.js';

/**
 * Every problem of a configuration at once, as `NAME: what is wrong (got X,
 * allowed Y)` (STYLE.md, habit 3; loadEnvConfig's answer). Each schema
 * field's `.describe()` text is the "allowed" part.
 */
export function formatIssues(
  schema: z.ZodObject,
  env: Record<string, string | undefined>,
  issues: readonly z.core.$ZodIssue[],
): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const name = issue.path.length > 0 ? String(issue.path[0]) : '(configuration)';
    const allowed = describedText(schema.shape[name] as z.ZodType | undefined);
    const raw = env[name];
    // A rejected value may still be a connection string with a password in it.
    const got = raw === undefined ? 'nothing' : isSecretVariable(name) ? 'a value, hidden' : JSON.stringify(redactUrl(raw));
    lines.push(`${name}: ${issue.message} (got ${got}${allowed ? `, allowed ${allowed}` : ''})`);
  }
  return lines;
}

/** The `.describe()` text of a field, looking through `.optional()` and `.default()`. */
function describedText(field: z.ZodType | undefined): string | undefined {
  let f: unknown = field;
  for (let depth = 0; f && depth < 5; depth++) {
    const z4 = f as { description?: string; _zod?: { def?: { innerType?: unknown } } };
    if (z4.description) return z4.description;
    f = z4._zod?.def?.innerType;
  }
  return undefined;
}

/** Helpers for env fields: strings in, typed values out, with the allowed text attached. */
export const envInt = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .describe(`${min} .. ${max}`);

export const envPort = () => envInt(0, 65535).describe('0 .. 65535 (0 = any free port)');

export const envBool = () =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['on', 'off', 'true', 'false', 'yes', 'no', '1', '0'].includes(v), 'must be a boolean')
    .transform((v) => ['on', 'true', 'yes', '1'].includes(v))
    .describe('on/off, true/false, yes/no, 1/0');
