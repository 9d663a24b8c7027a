import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'pg';
import { connectNats, createLogger, forceExitAfter, LOG_LEVELS, onStopSignals, type Logger, type NatsConnection } from '@walrus/runtime';
import type { NatsServer, PostgresCluster } from '@walrus/servers';
import { prepareServices, type RunningServices } from '../run-services.js';
import { ALL_SERVICES } from '../services.js';
import { WriteLoad } from './load.js';
import type { DemoOptions } from './options.js';
import { PlainScreen, TtyScreen, type DemoScreen } from './screen.js';
import { followEvents, readReading } from './sources.js';
import { DemoState, type Reading, type Snapshot } from './state.js';
import type { DemoInfo } from './view.js';
import type * as ServersModule from '@walrus/servers';

type Servers = typeof ServersModule;

/** The monitored cluster's id in walrus (subjects walrus.*.demo). */
const CLUSTER = 'demo';
const INITIAL_MAX_WAL_SIZE_MB = 32;
const CHECKPOINT_TIMEOUT_SEC = 30;
/**
 * The demo's pace. A sample every 3 s instead of every checkpoint_timeout,
 * so one forced checkpoint per sample is the threshold (2 per 3 s would need
 * far more WAL than a machine should write for a demo); a short cooldown so
 * that the growth shows in steps within a couple of minutes.
 */
const SAMPLE_INTERVAL_SEC = 3;
const THRESHOLD = 1;
const COOLDOWN_SEC = 10;
/**
 * ~5 MB/s of WAL forces a checkpoint every few seconds at 32MB. Doubling from
 * there, 256MB still falls just short (a checkpoint is due after ~112MB of
 * WAL there, 22 s), and 512MB (~240MB, 48 s) holds the 150MB of a 30 s
 * checkpoint_timeout with room to spare: checkpoints are timed again after
 * about a minute and a half, with a few hundred MB of WAL in the temp dir.
 * (At 4 MB/s, 256MB was borderline: timed for a while, then forced again.)
 */
const LOAD_MB_PER_SEC = 5;
const LOAD_WORKERS = 2;
const REFRESH_MS = 1_000;
/** The live page (and metrics) listen on loopback only: the demo has no authentication. */
const PAGE_HOST = '127.0.0.1';
/** A stuck shutdown step must not keep the demo (and its servers) around. */
const STOP_TIMEOUT_MS = 60_000;

export interface DemoIo {
  out: NodeJS.WriteStream;
  err: Pick<NodeJS.WriteStream, 'write'>;
  env: Record<string, string | undefined>;
}

/** Everything started so far, stopped in reverse order. */
interface Started {
  nats?: NatsServer;
  pg?: PostgresCluster;
  logStream?: WriteStream;
  stopServices?: () => Promise<void>;
  watchNc?: NatsConnection;
  monitor?: Client;
  load?: WriteLoad;
  timers: NodeJS.Timeout[];
}

/**
 * `walrus demo`: a private nats-server and PostgreSQL, the services in this
 * process (the same list and code path as `walrus all`), a write load, and a live
 * view; stops and removes everything on Ctrl-C, SIGTERM or after --duration.
 * Returns the exit code.
 */
export async function runDemo(options: DemoOptions, servers: Servers, io: DemoIo): Promise<number> {
  const { out, err } = io;
  if (!existsSync(servers.NATS_SERVER_BIN)) {
    err.write(`walrus demo: ${servers.NATS_SERVER_BIN} not found: install nats-server (Debian: apt-get install nats-server)\n`);
    return 1;
  }
  // The demo stops its servers in order itself; in their own process group a
  // terminal's Ctrl-C reaches only walrus, not PostgreSQL and NATS first.
  servers.configureServers({ tempPrefix: 'walrus-demo-', cleanupOnSignals: false, ownProcessGroup: true });

  const tty = out.isTTY === true;
  const screen: DemoScreen = tty ? new TtyScreen(out, !io.env['NO_COLOR']) : new PlainScreen(out);
  const started: Started = { timers: [] };
  let lastSnapshot: Snapshot | null = null;

  // Signals: the first stops gracefully, a second forces the exit (the
  // servers' exit hook still kills them and removes their directories).
  const stopping = onStopSignals({
    signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
    forced: (signal) => {
      screen.restore();
      err.write(`walrus demo: ${signal} again: exiting now (killing the servers)\n`);
    },
    exitCode: 130,
  });
  const stopRequested = stopping.requested;
  const restoreOnExit = (): void => screen.restore();
  process.once('exit', restoreOnExit);

  let code = 0;
  let log: Logger | undefined;
  let logFile: string | undefined;
  try {
    const root = servers.tempRoot();
    logFile = join(root, 'walrus.log');
    const logStream = createWriteStream(logFile, { flags: 'a' });
    started.logStream = logStream;
    const level = LOG_LEVELS.find((l) => l === io.env['LOG_LEVEL']) ?? 'info';
    log = createLogger({ level, name: 'walrus-demo', destination: logStream });

    screen.note(`walrus demo: starting nats-server and PostgreSQL ${options.version} in ${root} …`);
    // As root, PostgreSQL runs as the postgres OS user from a copy of its binaries it can reach (made once).
    const nativeDir = await servers.pgNativeDir(options.version);
    const startup = (async () => {
      const [nats, pg] = await Promise.all([
        servers.startNats(),
        // postgresql.conf, never -c: a command-line value would defeat ALTER SYSTEM.
        servers.startPostgres({
          version: options.version,
          config: { max_wal_size: `${INITIAL_MAX_WAL_SIZE_MB}MB`, checkpoint_timeout: `${CHECKPOINT_TIMEOUT_SEC}s` },
        }),
      ]);
      started.nats = nats;
      started.pg = pg;
      await pg.query('CREATE DATABASE history');
      return { nats, pg };
    })();
    // A signal while the servers start: let them finish starting, then stop.
    const first = await Promise.race([startup, stopRequested.then(() => null)]);
    const { nats, pg } = first ?? (await startup);
    if (first === null) return 0;

    const env = {
      NATS_URL: nats.url,
      WALRUS_CLUSTERS: `${CLUSTER}=${pg.url}`,
      HISTORY_DATABASE_URL: pg.urlFor('history'),
      WALRUS_SAMPLE_INTERVAL: String(SAMPLE_INTERVAL_SEC),
      WALRUS_THRESHOLD: String(THRESHOLD),
      WALRUS_COOLDOWN_SEC: String(COOLDOWN_SEC),
      WALRUS_MAX_CHANGES_PER_HOUR: '60',
      METRICS_HOST: PAGE_HOST,
      LOG_LEVEL: level,
    };
    screen.note(`walrus demo: starting ${ALL_SERVICES.map((d) => d.name).join(', ')} …`);
    const services = await startServices(env, options.port, logStream, screen);
    started.stopServices = () => services.stop();

    const state = new DemoState({ startedAtMs: Date.now() });
    const watchNc = await connectNats({ servers: [nats.url], name: 'walrus-demo-view' }, log);
    started.watchNc = watchNc;
    await followEvents(watchNc, state);

    const monitor = await pg.connect();
    started.monitor = monitor;
    const read = (): Promise<Reading> => readReading(monitor, CLUSTER);
    state.addReading(await read());

    started.load = await WriteLoad.start({
      connect: () => pg.connect(),
      workers: LOAD_WORKERS,
      walBytesPerSec: LOAD_MB_PER_SEC * 1024 ** 2,
      log: log.child({ module: 'load' }),
    });

    const info: DemoInfo = {
      version: options.version,
      pageUrl: `http://${PAGE_HOST}:${services.httpPort}/`,
      pgBinDir: nativeDir === join(servers.pgInstallDir(options.version), 'native') ? null : nativeDir,
      natsPid: nats.pid,
      natsUrl: nats.url,
      pgPid: pg.pid,
      pgUrl: pg.url,
      tempDir: root,
      logFile,
      initialMaxWalSizeMb: INITIAL_MAX_WAL_SIZE_MB,
      checkpointTimeoutSec: CHECKPOINT_TIMEOUT_SEC,
      sampleIntervalSec: SAMPLE_INTERVAL_SEC,
      threshold: THRESHOLD,
      cooldownSec: COOLDOWN_SEC,
      loadMbPerSec: LOAD_MB_PER_SEC,
      loadConnections: LOAD_WORKERS,
      durationSec: options.durationSec,
    };
    screen.begin(info, Date.now());

    let reading = false;
    let readFailures = 0;
    const refresh = async (): Promise<void> => {
      if (reading) return;
      reading = true;
      try {
        state.addReading(await read());
        readFailures = 0;
      } catch (e) {
        readFailures += 1;
        log?.warn({ err: e }, 'demo: reading the server failed');
        if (readFailures === 5) screen.note(`walrus demo: PostgreSQL does not answer (${e instanceof Error ? e.message : String(e)}); see ${logFile}`);
      } finally {
        reading = false;
      }
      lastSnapshot = state.snapshot(Date.now());
      screen.update(lastSnapshot);
    };
    await refresh();
    started.timers.push(setInterval(() => void refresh(), REFRESH_MS));
    if (options.durationSec !== null) {
      const durationMs = options.durationSec * 1000;
      started.timers.push(setTimeout(() => stopping.request('duration'), durationMs));
    }

    await stopRequested;
    // One last reading, so that the summary includes a change applied in the last second.
    for (const t of started.timers) clearTimeout(t);
    while (reading) await sleep(20);
    await refresh();
  } catch (e) {
    code = 1;
    screen.restore();
    err.write(`walrus demo: ${e instanceof Error ? e.message : String(e)}\n`);
    log?.error({ err: e }, 'demo failed');
    // The log goes away with the temp dir: show its end now.
    if (logFile) err.write(`last lines of ${logFile}:\n${await logTail(logFile, 20)}\n`);
  } finally {
    const stopped = await stopEverything(started, servers, screen, err, log);
    screen.end(lastSnapshot);
    out.write(`${stopped.message}\n`);
    if (!stopped.ok) code = 1;
    stopping.dispose();
    process.removeListener('exit', restoreOnExit);
  }
  if (lastSnapshot) out.write(`${summary(lastSnapshot)}\n`);
  return code;
}

/** Stops in reverse order of starting, then checks that nothing is left behind. */
async function stopEverything(
  started: Started,
  servers: Servers,
  screen: DemoScreen,
  err: DemoIo['err'],
  log: Logger | undefined,
): Promise<{ ok: boolean; message: string }> {
  for (const t of started.timers) clearTimeout(t);
  const pids = [started.nats?.pid, started.pg?.pid].filter((p): p is number => p !== undefined);
  const root = started.logStream ? servers.tempRoot() : undefined;
  const timer = forceExitAfter(STOP_TIMEOUT_MS, () => {
    screen.restore();
    err.write(`walrus demo: stopping took over ${STOP_TIMEOUT_MS / 1000} s: exiting now (killing the servers)\n`);
  });
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    screen.note(`stopping: ${what}`);
    try {
      await fn();
    } catch (e) {
      log?.error({ err: e, what }, 'demo: stop step failed');
    }
  };
  const { load, stopServices, pg, nats, logStream } = started;
  if (load) await step('the write load', () => load.stop());
  if (stopServices) await step('the walrus services', () => stopServices());
  if (started.watchNc || started.monitor) {
    await step('the view', async () => {
      await started.watchNc?.close();
      await started.monitor?.end();
    });
  }
  if (pg) await step(`PostgreSQL (pid ${pg.pid ?? '?'})`, () => pg.stop());
  if (nats) await step(`nats-server (pid ${nats.pid ?? '?'})`, () => nats.stop());
  if (logStream) await step('the log', () => new Promise<void>((resolve) => logStream.end(resolve)));
  await step(root ? `removing ${root}` : 'cleaning up', () => servers.cleanupAll());
  clearTimeout(timer);
  const left = pids.filter((p) => !servers.processGone(p));
  const leftDir = root !== undefined && existsSync(root);
  if (left.length > 0 || leftDir) {
    return { ok: false, message: `walrus demo: left behind: ${[...left.map((p) => `pid ${p}`), ...(leftDir ? [root] : [])].join(', ')}` };
  }
  const gone = pids.length > 0 ? `${pids.map((p) => `pid ${p}`).join(' and ')} gone` : 'nothing was running';
  return { ok: true, message: `stopped: ${gone}${root ? `, ${root} removed` : ''}` };
}

/**
 * The walrus services in this process, their HTTP server (metrics, health
 * and the control service's live page) on `port`; when that port is taken
 * (a `walrus all` or another demo running), on a free one instead.
 */
async function startServices(
  env: Record<string, string>,
  port: number,
  logStream: WriteStream,
  screen: DemoScreen,
): Promise<RunningServices> {
  const start = (metricsPort: number): Promise<RunningServices> => {
    const prepared = prepareServices('demo', ALL_SERVICES, 0, { ...env, METRICS_PORT: String(metricsPort) }, { logDestination: logStream });
    if (!prepared.ok) throw new Error(`the demo's walrus configuration is invalid: ${prepared.problems.join('; ')}`);
    return prepared.services.start();
  };
  try {
    return await start(port);
  } catch (e) {
    // The HTTP server starts first: nothing else was started yet.
    if (port === 0 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    screen.note(`walrus demo: port ${port} is taken: the live page gets a free port`);
    return start(0);
  }
}

function summary(s: Snapshot): string {
  const grew = s.sizes.length > 1 ? `${s.sizes.join(' -> ')}MB` : `stayed at ${s.sizes[0] ?? '?'}MB`;
  const timed = s.phase === 'timed' ? 'checkpoints were timed again' : `checkpoints were ${s.phase === 'forced' ? 'still forced' : 'not yet known to be timed again'} (give it a few minutes)`;
  return `summary: max_wal_size ${grew} in ${s.appliedChanges} applied change${s.appliedChanges === 1 ? '' : 's'}; ${s.forced} forced and ${s.timed} timed checkpoints in ${Math.round(s.elapsedMs / 1000)} s; ${timed}`;
}

async function logTail(file: string, lines: number): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
