import { adaptive } from './adaptive.js';
import { additive } from './additive.js';
import { multiplicative } from './multiplicative.js';
import { percentile } from './percentile.js';
import type { SizingAlgorithm } from './types.js';

/** The names `walrus.algorithm` may take (ARCHITECTURE §3), implemented or not. */
export const ALGORITHM_NAMES = ['multiplicative', 'additive', 'adaptive', 'percentile'] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/**
 * The implemented algorithms. Adding one: write `algorithms/<name>.ts`
 * exporting a SizingAlgorithm, and add it here. The configuration accepts a
 * name only once it is listed here; until then it is refused like any invalid
 * value (the parameter falls back, with a warning).
 */
const ALGORITHMS = {
  multiplicative,
  additive,
  adaptive,
  percentile,
} satisfies Partial<Record<AlgorithmName, SizingAlgorithm>>;

export type ImplementedAlgorithm = keyof typeof ALGORITHMS;

export const IMPLEMENTED_ALGORITHMS = Object.keys(ALGORITHMS) as readonly ImplementedAlgorithm[];

export function isImplementedAlgorithm(name: string): name is ImplementedAlgorithm {
  return Object.hasOwn(ALGORITHMS, name);
}

export function getAlgorithm(name: ImplementedAlgorithm): SizingAlgorithm {
  return ALGORITHMS[name];
}
