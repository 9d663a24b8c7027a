// The harness's choices (temporary directories named walrus-test-*, cleanup on signals) before anything starts.
import './mod.js';
import { spawnSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeExit,
  freePort,
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

/**
 * Debian's `prometheus` package (test/system-packages: .ci/run installs it):
 * a real Prometheus for the tests that check deploy/prometheus and
 * deploy/grafana against walrus's own /metrics, and promtool.
 */
export const PROMETHEUS_BIN = '/usr/bin/prometheus';
export const PROMTOOL_BIN = '/usr/bin/promtool';

export interface PromtoolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs promtool with `args` (and `input` on stdin). */
export function promtool(args: readonly string[], input?: string): PromtoolRun {
  const run = spawnSync(PROMTOOL_BIN, args, { input, encoding: 'utf8', timeout: 60_000 });
  if (run.error) throw new Error(`${PROMTOOL_BIN} ${args.join(' ')} could not run: ${run.error.message}`, { cause: run.error });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** One series of an instant query's vector. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A rule as /api/v1/rules reports it. */
export interface PromRule {
  name: string;
  type: 'alerting' | 'recording';
  query: string;
  health: string;
  lastError?: string;
  /** Alerting rules: inactive, pending or firing. */
  state?: string;
}

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly dir: string;
  readonly logFile: string;
  /** An instant query; throws with Prometheus's error (a bad expression) naming the expression. */
  query(expr: string): Promise<PromSample[]>;
  /** Every rule of every group loaded from rule_files. */
  rules(): Promise<PromRule[]>;
  /** The values of `label` on the series matching `match` (as Grafana's label_values(match, label)). */
  labelValues(label: string, match: string): Promise<string[]>;
  /** /api/v1/targets: the active targets' scrape URL and health (up, down, unknown). */
  targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>>;
  /** Stops (SIGKILL) and removes its directory. Idempotent. */
  cleanup(): Promise<void>;
  log(): Promise<string>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

/**
 * Starts Prometheus on a free loopback port with `config` (YAML text) as its
 * configuration file, its TSDB in its own directory under the harness's temp
 * root; killed with the test process (spawnLogged: parent-death signal) and
 * removed by the cleanup registry.
 */
export async function startPrometheus(options: { config: string; timeoutMs?: number }): Promise<PrometheusServer> {
  const dir = makeTempDir('prometheus-');
  const configFile = join(dir, 'prometheus.yml');
  const logFile = join(dir, 'prometheus.log');
  await writeFile(configFile, options.config);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let proc: Spawned | undefined;
  let removed = false;

  const unregister = registerServerCleanup(`prometheus in ${dir}`, dir, () => proc, () => cleanup());
  const cleanup = async (): Promise<void> => {
    unregister();
    if (removed) return;
    removed = true;
    // Its log stays readable for a failure report (logs.ts) once the directory is gone.
    snapshotLogFiles();
    await stopProcess(proc, 'SIGTERM', 10_000);
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };

  // freePort() cannot reserve the port: another server may take it first, and
  // Prometheus then exits at once. A few attempts settle it.
  let url = '';
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const spawned = spawnLogged(
      PROMETHEUS_BIN,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { logFile },
    );
    proc = spawned;
    const died = new AbortController();
    void spawned.exited.then((exit) => died.abort(new Error(`prometheus ${describeExit(exit)}`)));
    try {
      await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { what: `prometheus ${url}/-/ready`, timeoutMs, intervalMs: 50, signal: died.signal });
      break;
    } catch (err) {
      await killTree(spawned.pid).catch(() => undefined);
      if (attempt < 3 && spawned.exit !== undefined) continue;
      const tail = await logTail(logFile);
      await cleanup();
      throw new Error(`prometheus did not start: ${err instanceof Error ? err.message : String(err)}\n${tail}`, { cause: err });
    }
  }

  registerLogFile(`prometheus ${url}`, logFile, () => proc !== undefined && proc.exit === undefined);

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as ApiAnswer<T>;
    if (body.status !== 'success' || body.data === undefined) throw new Error(`prometheus ${path}: ${body.errorType ?? res.status}: ${body.error ?? 'no data'}`);
    return body.data;
  };

  return {
    url,
    dir,
    logFile,
    query: async (expr) => {
      const data = await api<{ resultType: string; result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`).catch((err: unknown) => {
        throw new Error(`query ${JSON.stringify(expr)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      });
      if (data.resultType !== 'vector') throw new Error(`query ${JSON.stringify(expr)}: a ${data.resultType}, not an instant vector`);
      return data.result;
    },
    labelValues: (label, match) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?match[]=${encodeURIComponent(match)}`),
    rules: async () => (await api<{ groups: Array<{ rules: PromRule[] }> }>('/api/v1/rules')).groups.flatMap((g) => g.rules),
    targets: async () => (await api<{ activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> }>('/api/v1/targets')).activeTargets,
    cleanup,
    log: async () => logTail(logFile, 200),
  };
}
