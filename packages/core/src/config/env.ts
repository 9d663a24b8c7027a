import { isUnsetValue } from './overlay.js';
import { DEFAULT_POLICY, PARAM_LIST } from './params.js';
import type { Policy } from './policy.js';

/**
 * The service-level defaults (ARCHITECTURE §3, layer 1): each `walrus.x`
 * parameter as the environment variable `WALRUS_X`. Other WALRUS_* variables
 * (WALRUS_CLUSTERS, WALRUS_SAMPLE_INTERVAL, …) belong to the services and are
 * left alone here.
 */
export interface PolicyEnvVar {
  /** e.g. WALRUS_MAX */
  name: string;
  /** e.g. walrus.max */
  parameter: string;
  default: string;
  allowed: string;
  description: string;
}

export function envVarName(parameter: string): string {
  return parameter.replace(/^walrus\./, 'WALRUS_').toUpperCase();
}

export const POLICY_ENV_VARS: readonly PolicyEnvVar[] = PARAM_LIST.map((p) => ({
  name: envVarName(p.name),
  parameter: p.name,
  default: p.defaultText,
  allowed: p.allowed,
  description: p.description,
}));

export type PolicyFromEnvResult = { ok: true; policy: Policy } | { ok: false; errors: string[] };

/**
 * Unlike a per-cluster value, an invalid service default is an error: the
 * service must not start on a configuration its operator did not mean. Every
 * problem is listed, each as `NAME: what is wrong (got X, allowed Y)`.
 * An empty variable counts as unset (except WALRUS_NOTIFY_CHANNEL, where
 * empty means off).
 */
export function policyFromEnv(env: Record<string, string | undefined>): PolicyFromEnvResult {
  const policy: Policy = { ...DEFAULT_POLICY };
  const errors: string[] = [];
  for (const spec of PARAM_LIST) {
    const name = envVarName(spec.name);
    const text = env[name];
    if (text === undefined || isUnsetValue(spec, text)) continue;
    const parsed = spec.parse(text);
    if (parsed.ok) {
      // PARAMS pairs each spec with its own key, so the value fits the field.
      (policy as unknown as Record<string, unknown>)[spec.key] = parsed.value;
    } else {
      errors.push(`${name}: ${parsed.error} (got ${JSON.stringify(text)}, allowed ${spec.allowed})`);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, policy };
}
