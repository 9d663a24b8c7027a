import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Waiting } from './startup.js';

export interface HealthSource {
  /** Liveness details: the process works (it may still be waiting for a dependency). */
  health(): Record<string, unknown>;
  /** Readiness: connected and consuming. */
  ready(): boolean;
  /** What it waits for while not ready (a database that went away), shown on /readyz. */
  waiting?(): Waiting[];
  /** Extra GET routes this service serves on the process's HTTP port (e.g. the live page), by exact path. */
  routes?: Readonly<Record<string, RouteHandler>>;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** The process's start-up as the health endpoints see it (StartupWaits). */
export interface StartupState {
  waiting(): Waiting[];
  readonly isComplete: boolean;
}

/**
 * Serves /metrics, /healthz and /readyz for one process. It runs from the
 * very start, so `sources` may grow while the services start; until
 * `startup` is complete /readyz answers 503 with what is being waited for.
 */
export async function startHttpServer(opts: {
  port: number;
  host: string;
  registry: Registry;
  sources: readonly HealthSource[];
  startup?: StartupState;
  log: Logger;
}): Promise<HttpServer> {
  const waiting = (): Waiting[] => [...(opts.startup?.waiting() ?? []), ...opts.sources.flatMap((s) => s.waiting?.() ?? [])];
  const starting = (): boolean => opts.startup !== undefined && !opts.startup.isComplete;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (err: unknown) => {
          opts.log.error({ err }, 'metrics collection failed');
          send(500, 'text/plain', 'metrics collection failed\n');
        },
      );
      return;
    }
    if (path === '/healthz') {
      // Alive also while waiting for a dependency: a restart would not bring it sooner.
      const details = opts.sources.map((s) => s.health());
      const w = waiting();
      const body = { status: 'ok', ...(starting() ? { starting: true } : {}), ...(w.length > 0 ? { waiting: w } : {}), services: details };
      return send(200, 'application/json', JSON.stringify(body) + '\n');
    }
    if (path === '/readyz') {
      const ready = !starting() && opts.sources.every((s) => s.ready());
      const w = waiting();
      const body = { ready, ...(starting() ? { starting: true } : {}), ...(w.length > 0 ? { waiting: w } : {}) };
      return send(ready ? 200 : 503, 'application/json', JSON.stringify(body) + '\n');
    }
    const route = opts.sources.find((s) => s.routes?.[path ?? ''])?.routes?.[path ?? ''];
    if (route) return route(req, res, new URL(req.url ?? '/', 'http://localhost'));
    send(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
