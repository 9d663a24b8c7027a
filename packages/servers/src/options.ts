/**
 * Process-wide choices of whoever uses this package (the test harness, `walrus
 * demo`). They are set once, before the first server starts: the temporary
 * root and the cleanup hooks are per process, not per server.
 */
export interface ServersOptions {
  /**
   * Name prefix of this process's temporary root, e.g. `walrus-test-` or
   * `walrus-demo-`, so that `pgrep -af <prefix>` finds what an interrupted
   * run left behind.
   */
  tempPrefix: string;
  /** Where the temporary root goes; default /dev/shm when it has room, else the OS temp directory. */
  tempBase: string | undefined;
  /**
   * On SIGINT / SIGTERM / SIGHUP, kill everything registered at once and
   * re-raise the signal (tests: vitest may end the worker any moment). Off
   * for a program that stops its servers in order itself (the demo).
   */
  cleanupOnSignals: boolean;
  /**
   * Start the servers in their own process group. A terminal's Ctrl-C then
   * reaches only this process, which stops them in order (the demo); when
   * false, the Ctrl-C reaches the servers too, one more way for them to go
   * away with the tests.
   */
  ownProcessGroup: boolean;
  /**
   * As root only: where the copies of PostgreSQL's binaries go that the
   * `postgres` OS user runs (see pgNativeDir), one per package version, kept
   * for later runs. Default /var/cache/walrus/postgres.
   */
  postgresCacheDir: string;
}

const current: ServersOptions = {
  tempPrefix: 'walrus-',
  tempBase: undefined,
  cleanupOnSignals: true,
  ownProcessGroup: false,
  postgresCacheDir: '/var/cache/walrus/postgres',
};

const listeners = new Set<(options: Readonly<ServersOptions>) => void>();

/** Changes some options; call it before the first server or temporary directory is created. */
export function configureServers(options: Partial<ServersOptions>): void {
  if (options.tempPrefix !== undefined && !/^[A-Za-z0-9_.-]+$/.test(options.tempPrefix)) {
    throw new TypeError(`configureServers: tempPrefix must be a plain file name prefix (got ${JSON.stringify(options.tempPrefix)})`);
  }
  for (const [key, value] of Object.entries(options) as Array<[keyof ServersOptions, unknown]>) {
    if (value !== undefined || key === 'tempBase') (current as unknown as Record<string, unknown>)[key] = value;
  }
  for (const listener of listeners) listener(current);
}

export function serversOptions(): Readonly<ServersOptions> {
  return current;
}

/** For modules that must react to a change (the cleanup registry's signal hooks). */
export function onServersOptions(listener: (options: Readonly<ServersOptions>) => void): void {
  listeners.add(listener);
}
