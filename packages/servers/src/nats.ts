import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { describeExit, killProcess, killTree, logTail, registerServerCleanup, spawnLogged, stopProcess, type Spawned } from './process.js';
import { makeTempDir } from './temp.js';
import { waitFor } from './wait.js';

export const NATS_SERVER_BIN = '/usr/sbin/nats-server';

export interface NatsOptions {
  /**
   * Extra nats-server configuration file text (authorization, accounts,
   * cluster routes, ...). Client port, monitor port, host, JetStream and its
   * store directory are given on the command line and win over the file.
   * Cluster tests should put fixed route ports (from `freePort()`) in
   * `cluster { listen: 127.0.0.1:<port>, routes: [...] }` so that a
   * restarted node is found again.
   */
  config?: string;
  /** Extra command-line arguments. */
  args?: readonly string[];
  /** `server_name` (required for clustered JetStream). */
  name?: string;
  /** Default true: `-js -sd <dir>/js`. */
  jetstream?: boolean;
  /** Fixed client port; default: a `freePort()`, kept for restarts. */
  port?: number;
  /** Fixed HTTP monitor port; default: a `freePort()`, kept for restarts. */
  monitorPort?: number;
  /**
   * When start() / restart() resolve: `healthz` (default) once the monitor's
   * /healthz answers 200 (for JetStream: JetStream is up; in a cluster: a meta
   * leader exists, so start cluster nodes with `listening` and wait yourself);
   * `listening` once the client port is bound.
   */
  ready?: 'healthz' | 'listening';
  /** Start timeout, default 30 s. */
  timeoutMs?: number;
}

export interface NatsServer {
  /** nats://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  /** http://127.0.0.1:MONITOR_PORT */
  readonly monitorUrl: string;
  /** Cluster / leafnode ports etc. as the server reported them at its last start. */
  readonly reportedPorts: Readonly<Record<string, readonly string[]>>;
  /** The server's own directory (config, log, ports file, JetStream store). */
  readonly dir: string;
  /** The JetStream store directory (`-sd`), kept across restarts. */
  readonly storeDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Graceful stop (SIGTERM); resolves when the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL: no shutdown work at all; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Starts again (stopping first if running): same ports, same store directory. */
  restart(): Promise<void>;
  /** Stops (SIGKILL) and removes its directory. Idempotent. */
  cleanup(): Promise<void>;
  /** The server log so far. */
  log(): Promise<string>;
}

interface PortsFile {
  nats?: string[];
  monitoring?: string[];
  [kind: string]: string[] | undefined;
}

function portOf(urls: readonly string[] | undefined, what: string): number {
  const first = urls?.[0];
  const port = first ? Number(new URL(first).port) : NaN;
  if (!Number.isInteger(port) || port <= 0) throw new Error(`nats-server ports file has no ${what} port (${JSON.stringify(urls)})`);
  return port;
}

export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const dir = makeTempDir('nats-');
  const storeDir = join(dir, 'js');
  const logFile = join(dir, 'nats.log');
  const configFile = join(dir, 'nats.conf');
  if (options.config !== undefined) await writeFile(configFile, options.config);
  const timeoutMs = options.timeoutMs ?? 30_000;

  // Ports from freePort(), not the server's own choice (-p -1): those come
  // from the kernel's ephemeral range, where anyone may take them while the
  // server is stopped for a restart.
  const ownPorts = options.port === undefined && options.monitorPort === undefined;
  let port = options.port ?? (await freePort());
  let monitorPort = options.monitorPort ?? (await freePort());
  let reportedPorts: Record<string, readonly string[]> = {};
  let proc: Spawned | undefined;
  let removed = false;

  const argsFor = (): string[] => [
    '-a', '127.0.0.1',
    '-p', String(port),
    '-m', String(monitorPort),
    '--ports_file_dir', dir,
    '-l', logFile,
    ...(options.name !== undefined ? ['-n', options.name] : []),
    ...(options.jetstream === false ? [] : ['-js', '-sd', storeDir]),
    ...(options.config !== undefined ? ['-c', configFile] : []),
    ...(options.args ?? []),
  ];

  const launch = async (): Promise<void> => {
    for (const name of await readdir(dir)) {
      if (name.endsWith('.ports')) await rm(join(dir, name), { force: true });
    }
    const spawned = spawnLogged(NATS_SERVER_BIN, argsFor(), { logFile });
    proc = spawned;
    const died = new AbortController();
    void spawned.exited.then((exit) => died.abort(new Error(`nats-server ${describeExit(exit)}`)));
    try {
      // nats-server writes nats-server_<pid>.ports once its listeners are bound:
      // the sign that it listens, and where (cluster ports included).
      const portsFile = join(dir, `nats-server_${spawned.pid}.ports`);
      const ports = await waitFor(
        async () => JSON.parse(await readFile(portsFile, 'utf8')) as PortsFile,
        { what: `nats-server ports file ${portsFile}`, timeoutMs, intervalMs: 25, signal: died.signal },
      );
      reportedPorts = Object.fromEntries(Object.entries(ports).filter((e): e is [string, string[]] => Array.isArray(e[1])));
      port = portOf(ports.nats, 'client');
      monitorPort = portOf(ports.monitoring, 'monitoring');
      if (options.ready !== 'listening') {
        const healthz = `http://127.0.0.1:${monitorPort}/healthz`;
        await waitFor(async () => (await fetch(healthz)).ok, { what: `nats-server ${healthz}`, timeoutMs, intervalMs: 50, signal: died.signal });
      }
    } catch (err) {
      await killTree(spawned.pid).catch(() => undefined);
      throw new Error(`nats-server did not start: ${err instanceof Error ? err.message : String(err)}\n${await logTail(logFile)}`, { cause: err });
    }
  };

  const running = (): boolean => proc !== undefined && proc.exit === undefined;

  const stop = (): Promise<void> => stopProcess(proc, 'SIGTERM', 30_000);
  const kill = (): Promise<void> => killProcess(proc);

  const unregister = registerServerCleanup(`nats-server in ${dir}`, dir, () => proc, () => cleanup());

  const cleanup = async (): Promise<void> => {
    unregister();
    if (removed) return;
    removed = true;
    await kill();
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };

  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      // A program outside freePort()'s leases bound one of the ports first: take others.
      if (ownPorts && attempt < 3 && err instanceof Error && /address already in use/.test(err.message)) {
        port = await freePort();
        monitorPort = await freePort();
        continue;
      }
      await cleanup();
      throw err;
    }
  }

  const handle: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get monitorPort() {
      return monitorPort;
    },
    get monitorUrl() {
      return `http://127.0.0.1:${monitorPort}`;
    },
    get reportedPorts() {
      return reportedPorts;
    },
    dir,
    storeDir,
    logFile,
    get pid() {
      return running() ? proc?.pid : undefined;
    },
    get running() {
      return running();
    },
    stop,
    kill,
    restart: async () => {
      if (removed) throw new Error('nats-server: restart() after cleanup()');
      await stop();
      await launch();
    },
    cleanup,
    log: () => readFile(logFile, 'utf8'),
  };
  return handle;
}
