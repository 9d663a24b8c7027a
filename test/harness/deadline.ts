/**
 * How long a test's wait goes on before it gives up, unless the test says
 * otherwise (waitFor of mod.ts, a walrus process's waitForLog). Not how long
 * things should take: on a busy 2-core machine starting a walrus process
 * (node loading the TypeScript sources) takes from 2 s to over 20 s, and a
 * server's reaction is as slow as its share of the CPU. Just under the test
 * timeout (120 s), so that a failure still names what it waited for.
 */
export const WAIT_DEFAULT_MS = 90_000;
