export * from './cluster-id.js';
export * from './schemas.js';
export * from './subjects.js';
