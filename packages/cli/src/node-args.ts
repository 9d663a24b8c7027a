/**
 * Options every walrus process should give node itself. They cannot be set
 * from inside the process (V8 sizes its heap at start-up), so each launcher
 * repeats them: the `walrus` script in package.json, the bin's shebang, the
 * Dockerfile's ENTRYPOINT and the test harness (test/launch-flags.test.ts
 * checks that they agree).
 *
 * --max-semi-space-size=64: a decider allocates a little for every message
 * (decoded samples, states, decisions, replies), so with the default young
 * generation (16 MB semi-spaces) it spends ~11 % of its CPU in scavenges.
 * 64 MB semi-spaces made one decider process ~25 % faster in
 * `pnpm bench:fleet` for ~20 MB more resident memory (docs/SCALING.md).
 */
export const WALRUS_NODE_ARGS: readonly string[] = ['--max-semi-space-size=64'];
