import { fileURLToPath } from 'node:url';

/**
 * How to start `walrus` as a process of its own, for launchers outside this
 * package (the test harness, the benchmarks): `node ...WALRUS_NODE_ARGS
 * WALRUS_BIN <command>`. Exported as `@walrus/cli/launch`, so that nobody
 * needs to know where the command lives in the repository.
 */
export { WALRUS_NODE_ARGS } from './node-args.js';

/** The `walrus` executable script (bin/walrus.mjs): TypeScript sources loaded through tsx. */
export const WALRUS_BIN: string = fileURLToPath(new URL('../bin/walrus.mjs', import.meta.url));
