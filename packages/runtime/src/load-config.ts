import type { z } from 'zod';
import { formatIssues } from './env.js';

/** Runs a zod env schema and returns problems instead of throwing, for ServiceDefinition.loadConfig. */
export function loadEnvConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
): { config: z.infer<S>; problems: [] } | { config: null; problems: string[] } {
  const result = schema.safeParse(env, { reportInput: true });
  if (result.success) return { config: result.data, problems: [] };
  return { config: null, problems: formatIssues(schema, env, result.error.issues) };
}
