/** The control commands, for embedding and tests: each returns the exit code `walrus` would exit with. */
export { runControlCommand, CONTROL_COMMANDS, CONTROL_USAGE, EXIT } from './commands/mod.js';
export type { Output } from './commands/output.js';
/** `walrus simulate`, for embedding and tests. */
export { runSimulate, replay, SIMULATE_USAGE, type Simulation, type SimulatedStep, type ReplayOptions } from './simulate/mod.js';
export { readSamplesFile, readSamplesStream } from './simulate/read-samples.js';
/** The services `walrus <service>` runs, and the METRICS_PORT default of `walrus all` (for tests of docs/CONFIGURATION.md's tables). */
export { SERVICES, ALL_SERVICES, ALL_DEFAULT_METRICS_PORT } from './services.js';
