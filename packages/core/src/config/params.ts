import { SCALAR_PARAMS, type ParamSpec } from './param-specs.js';
import type { Policy } from './policy.js';
import { PROFILES_PARAM } from './profiles.js';

/**
 * Every `walrus.*` parameter, keyed by its Policy field: the mapped type
 * makes the compiler refuse a Policy field without a parameter.
 */
export const PARAMS: { readonly [K in keyof Policy]: ParamSpec<K> } = { ...SCALAR_PARAMS, profiles: PROFILES_PARAM };

/** The parameters in the order of ARCHITECTURE §3. */
export const PARAM_LIST: readonly ParamSpec[] = Object.values(PARAMS);

/** The names the collector reads on each cluster with current_setting(name, true). */
export const WALRUS_PARAM_NAMES: readonly string[] = PARAM_LIST.map((p) => p.name);

const BY_NAME = new Map<string, ParamSpec>(PARAM_LIST.map((p) => [p.name, p]));

export function findParam(name: string): ParamSpec | undefined {
  return BY_NAME.get(name);
}

/** A parameter's default as its own parser reads it: the default is written once, as an operator would write it. */
function defaultOf<K extends keyof Policy>(spec: ParamSpec<K>): Policy[K] {
  const r = spec.parse(spec.defaultText);
  // A default that does not parse is a mistake in this package, caught by its first test run.
  if (!r.ok) throw new Error(`${spec.name}: the default ${JSON.stringify(spec.defaultText)} does not parse: ${r.error}`);
  return r.value;
}

export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze(
  // Object.fromEntries loses the key-to-value pairing of the types; PARAMS has one entry per Policy field.
  Object.fromEntries(PARAM_LIST.map((spec) => [spec.key, defaultOf(spec)])) as unknown as Policy,
);
