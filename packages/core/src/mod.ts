export * from './cluster-id.js';
export * from './schemas.js';
export * from './subjects.js';
export * from './api.js';

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
export { additive } from './engine/algorithms/additive.js';
export { adaptive, ADAPTIVE_HEADROOM } from './engine/algorithms/adaptive.js';
export { percentile, percentileOf } from './engine/algorithms/percentile.js';
export { SHRINK_BAND, ONSET_MARGIN } from './engine/algorithms/formula.js';
export * from './engine/wal-rate.js';
export * from './engine/checkpoint-causes.js';
export * from './engine/profiles.js';
export * from './engine/sizing-status.js';
