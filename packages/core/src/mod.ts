export * from './cluster-id.js';
export * from './schemas.js';
export * from './subjects.js';

export * from './config/units.js';
export * from './config/params.js';
export * from './config/overlay.js';
export * from './config/env.js';

export * from './engine/state.js';
export * from './engine/decision-id.js';
export * from './engine/rate-limit.js';
export * from './engine/shrink.js';
export * from './engine/evaluate.js';
export * from './engine/algorithms/types.js';
export * from './engine/algorithms/registry.js';
export { saturatingMultiplyMb } from './engine/algorithms/saturating.js';
export { multiplicative } from './engine/algorithms/multiplicative.js';
