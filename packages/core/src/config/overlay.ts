import type { ParamSpec } from './param-specs.js';
import { findParam, PARAM_LIST, WALRUS_PARAM_NAMES } from './params.js';
import type { Policy } from './policy.js';

/** One per-cluster setting that was not used (ARCHITECTURE §3: log, metric, status). */
export interface ConfigWarning {
  /** The `walrus.*` name as set on the cluster. */
  parameter: string;
  /** The raw text that was set. */
  value: string;
  /** What would have been accepted. */
  allowed: string;
  /** One line naming the parameter, the value and what is allowed. */
  message: string;
}

export interface ResolvedPolicy {
  policy: Policy;
  warnings: ConfigWarning[];
}

/**
 * An empty value means "not set", not "invalid": after `ALTER SYSTEM RESET
 * walrus.x` and a reload, a placeholder PostgreSQL already created keeps
 * reporting '' rather than NULL, and an empty environment variable is how
 * compose files leave one unset. Only a string parameter (notify_channel)
 * gives "" a meaning of its own (off).
 */
export function isUnsetValue(spec: ParamSpec, text: string): boolean {
  return spec.kind !== 'string' && text.trim() === '';
}

/**
 * Overlays a cluster's own `walrus.*` settings on the service defaults. An
 * invalid value never stops anything: that parameter keeps its default and a
 * warning says why. Names outside `walrus.` are not ours and are ignored.
 * Warnings come in parameter order, then unknown names sorted, so the same
 * settings always give the same warnings.
 */
export function resolvePolicy(defaults: Policy, settings: Record<string, string>): ResolvedPolicy {
  const policy: Policy = { ...defaults };
  const warnings: ConfigWarning[] = [];

  for (const spec of PARAM_LIST) {
    const text = settings[spec.name];
    if (text === undefined || isUnsetValue(spec, text)) continue;
    const parsed = spec.parse(text);
    if (parsed.ok) {
      // PARAMS pairs each spec with its own key, so the value fits the field.
      (policy as unknown as Record<string, unknown>)[spec.key] = parsed.value;
    } else {
      warnings.push({
        parameter: spec.name,
        value: text,
        allowed: spec.allowed,
        message: `${spec.name} = ${JSON.stringify(text)} is invalid (${parsed.error}); allowed: ${spec.allowed}; using ${spec.format(defaults[spec.key])} instead`,
      });
    }
  }

  const unknown = Object.keys(settings)
    .filter((name) => name.startsWith('walrus.') && findParam(name) === undefined)
    .sort();
  for (const name of unknown) {
    const value = settings[name] ?? '';
    const guess = closestParam(name);
    warnings.push({
      parameter: name,
      value,
      allowed: `one of ${WALRUS_PARAM_NAMES.join(', ')}`,
      message: `${name} = ${JSON.stringify(value)} is not a walrus parameter and is ignored${guess ? ` (did you mean ${guess}?)` : ''}`,
    });
  }

  return { policy, warnings };
}

/** The known name within 3 edits of a misspelt one, if any: most unknown names are typos. */
function closestParam(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of WALRUS_PARAM_NAMES) {
    const d = editDistance(name, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
