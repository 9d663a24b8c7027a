import { z } from 'zod';
import { findParam } from '../config/params.js';
import { isUnsetValue } from '../config/overlay.js';

/*
 * The cluster registry (ARCHITECTURE §8): one JetStream KV entry per cluster
 * in the bucket `walrus_clusters`, key = cluster id. Collectors and appliers
 * started without a static list serve what it holds; only the control
 * service writes it (`walrus clusters add|remove`).
 */

export const KV_CLUSTERS_BUCKET = 'walrus_clusters';

/**
 * A registry value. `url` is any form a WALRUS_CLUSTERS entry accepts
 * (several hosts, `walrus_*` parameters). A password may come from the URL
 * (accepted, never shown), from `password_file` (a file on the host of each
 * collector and applier holding just the password, read at every connect)
 * or from `passfile` (a libpq password file on those hosts, matched by host,
 * port, database and user). `params` are decision parameters by their
 * `walrus.*` name without the prefix (`max`, `threshold`, …): policy set by
 * a platform team; the monitored server's own `walrus.*` settings win.
 * Unknown fields are kept out (a newer walrus may add some) rather than refused.
 */
export const RegistryEntryV1 = z.object({
  v: z.literal(1),
  url: z.string().regex(/^postgres(ql)?:\/\//, 'url must be a postgres:// or postgresql:// URL'),
  password_file: z.string().min(1).max(4096).optional(),
  passfile: z.string().min(1).max(4096).optional(),
  params: z.record(z.string().regex(/^[a-z_]{1,64}$/), z.string().max(1000)).optional(),
  labels: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(256)).optional(),
});
export type RegistryEntry = z.infer<typeof RegistryEntryV1>;

/** The `walrus.*` settings a registry entry's `params` stand for (`max` → `walrus.max`). */
export function registrySettings(entry: Pick<RegistryEntry, 'params'>): Record<string, string> {
  return Object.fromEntries(Object.entries(entry.params ?? {}).map(([k, v]) => [`walrus.${k}`, v]));
}

/**
 * The settings a sample carries: the registry's parameters under the
 * server's own `walrus.*` settings, which win (README, "Decision
 * parameters"). A server setting that is set but empty (after `ALTER SYSTEM
 * RESET`) does not hide the registry's value.
 */
export function overlaySettings(registry: Record<string, string>, server: Record<string, string>): Record<string, string> {
  const out = { ...registry };
  for (const [name, value] of Object.entries(server)) {
    const spec = findParam(name);
    if (spec && isUnsetValue(spec, value) && name in registry) continue;
    out[name] = value;
  }
  return out;
}

/** Every problem with an entry's parameters, each naming it: unknown names and values the parameter refuses. */
export function registryParamProblems(params: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const spec = findParam(`walrus.${key}`);
    if (!spec) {
      problems.push(`parameter ${key}: unknown (allowed the walrus.* names without the prefix, e.g. max, threshold, algorithm)`);
      continue;
    }
    const parsed = spec.parse(value);
    if (!parsed.ok) problems.push(`parameter ${key}: ${JSON.stringify(value)} is invalid (${parsed.error}; allowed ${spec.allowed})`);
  }
  return problems;
}
