// The harness's choices (temporary directories named walrus-test-*, cleanup on signals) before anything starts.
import './mod.js';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeExit,
  freePort,
  killProcess,
  killTree,
  logTail,
  makeTempDir,
  registerServerCleanup,
  spawnLogged,
  stopProcess,
  waitFor,
  type Spawned,
} from '@walrus/servers';
import { registerLogFile, snapshotLogFiles } from './logs.js';

/** Debian's `etcd-server` package (3.4). */
export const ETCD_BIN = '/usr/bin/etcd';

export interface Etcd {
  /** 127.0.0.1:PORT, as Patroni's `etcd3.hosts` takes it. */
  readonly host: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dir: string;
  readonly logFile: string;
  readonly running: boolean;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** Stops and removes its directory. Idempotent. */
  cleanup(): Promise<void>;
  log(): Promise<string>;
}

export interface EtcdOptions {
  /** Start timeout, default 30 s. */
  timeoutMs?: number;
}

function isPortInUse(log: string): boolean {
  return /address already in use/i.test(log);
}

/**
 * A one-node etcd 3.4 on free 127.0.0.1 client and peer ports, its data in
 * the harness's temporary root, killed with this process (also on SIGKILL,
 * through the parent-death signal) and removed by the cleanup registry.
 * Resolves once `/health` says true (the node has elected itself).
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<Etcd> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = makeTempDir('etcd-');
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'etcd.log');
  let proc: Spawned | undefined;
  let clientPort = 0;
  let peerPort = 0;
  let removed = false;

  const unregister = registerServerCleanup(`etcd in ${dir}`, dir, () => proc, () => cleanup());

  const stop = (): Promise<void> => stopProcess(proc, 'SIGTERM', 10_000);

  const cleanup = async (): Promise<void> => {
    unregister();
    if (removed) return;
    removed = true;
    // Its log stays readable for a failure report (logs.ts) once the directory is gone.
    snapshotLogFiles();
    await killProcess(proc);
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };

  const launch = async (): Promise<void> => {
    [clientPort, peerPort] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    // Everything explicit: etcd's defaults are the machine's standard ports
    // 2379/2380 and a data directory in the working directory.
    const args = [
      '--name', 'walrus-test',
      '--data-dir', dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `walrus-test=${peer}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `walrus-test-${process.pid}-${clientPort}`,
      '--logger', 'zap',
      '--log-outputs', 'stderr',
    ];
    const spawned = spawnLogged(ETCD_BIN, args, { logFile, cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
    proc = spawned;
    const died = new AbortController();
    void spawned.exited.then((exit) => died.abort(new Error(`etcd ${describeExit(exit)}`)));
    try {
      await waitFor(
        async () => {
          const res = await fetch(`${client}/health`);
          return res.ok && ((await res.json()) as { health?: string }).health === 'true';
        },
        { what: `etcd ${client}/health`, timeoutMs, intervalMs: 50, signal: died.signal },
      );
    } catch (err) {
      if (!spawned.exit) await killTree(spawned.pid).catch(() => undefined);
      throw err;
    }
  };

  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        break;
      } catch (err) {
        const log = await logTail(logFile, 40);
        // Someone took a port between freePort() and bind(): take others.
        if (attempt < 3 && isPortInUse(log)) {
          await rm(dataDir, { recursive: true, force: true });
          continue;
        }
        throw new Error(`etcd did not start: ${err instanceof Error ? err.message : String(err)}\n${log}`, { cause: err });
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }

  registerLogFile(`etcd ${dir}`, logFile, () => proc !== undefined && proc.exit === undefined);
  return {
    get host() {
      return `127.0.0.1:${clientPort}`;
    },
    get url() {
      return `http://127.0.0.1:${clientPort}`;
    },
    get clientPort() {
      return clientPort;
    },
    get peerPort() {
      return peerPort;
    },
    dir,
    logFile,
    get running() {
      return proc !== undefined && proc.exit === undefined;
    },
    stop,
    cleanup,
    log: () => readFile(logFile, 'utf8'),
  };
}
