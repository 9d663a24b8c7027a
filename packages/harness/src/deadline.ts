/**
 * How long a wait goes on before it gives up, unless the caller says
 * otherwise (a walrus process's waitForLog; the tests' waitFor). Not how
 * long things should take: on a busy 2-core machine starting a walrus
 * process (node loading the TypeScript sources) takes from 2 s to over
 * 20 s, and a server's reaction is as slow as its share of the CPU. Just
 * under the tests' timeout (120 s), so that a failure still names what it
 * waited for.
 */
export const WAIT_DEFAULT_MS = 90_000;
