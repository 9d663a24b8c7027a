import type { AlgorithmName } from '../../config/policy.js';
import { adaptive } from './adaptive.js';
import { additive } from './additive.js';
import { multiplicative } from './multiplicative.js';
import { percentile } from './percentile.js';
import type { SizingAlgorithm } from './types.js';

/**
 * The algorithm of each name walrus.algorithm may take. Adding one: its name
 * in config/policy.ts's ALGORITHM_NAMES, `algorithms/<name>.ts` exporting a
 * SizingAlgorithm, and an entry here (the Record type makes the compiler
 * refuse a name without an implementation).
 */
const ALGORITHMS: Readonly<Record<AlgorithmName, SizingAlgorithm>> = {
  multiplicative,
  additive,
  adaptive,
  percentile,
};

export function getAlgorithm(name: AlgorithmName): SizingAlgorithm {
  return ALGORITHMS[name];
}
