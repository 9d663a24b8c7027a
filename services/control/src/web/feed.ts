import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { isValidClusterId, type StatusResult } from '@walrus/core';
import { errorMessage, type Logger, type RouteHandler } from '@walrus/runtime';
import { readSeries } from './series.js';

// Static files are read once at start: no build step, no framework.
const asset = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

export interface LiveFeed {
  routes: Record<string, RouteHandler>;
  stop(): Promise<void>;
}

const SUBJECTS = ['walrus.sample.>', 'walrus.decision.>', 'walrus.applied.>', 'walrus.effect.>'] as const;
const KIND: Record<string, string> = { sample: 'sample', decision: 'decision', applied: 'applied', effect: 'effect' };

/**
 * The live page: static HTML and JavaScript, a JSON API for the fleet and
 * one cluster's chart, and a server-sent event stream relaying samples,
 * decisions, outcomes and effects as they pass on NATS (plain subscriptions: the page
 * sees what an alert subscriber sees).
 */
export function startLiveFeed(opts: {
  nc: NatsConnection;
  jsm: JetStreamManager;
  log: Logger;
  fleet: () => Promise<StatusResult>;
}): LiveFeed {
  const { nc, log } = opts;
  const html = asset('page.html');
  const js = asset('app.js');
  const clients = new Set<ServerResponse>();
  const subs: Subscription[] = SUBJECTS.map((s) => nc.subscribe(s));
  for (const sub of subs) {
    // Relays until the subscription ends (stop, or the connection closing); one that fails is logged.
    (async () => {
      for await (const m of sub) {
        if (clients.size === 0) continue;
        const kind = KIND[m.subject.split('.')[1] ?? ''];
        if (!kind) continue;
        // One line of JSON per event: a payload is the message as published.
        const frame = `event: ${kind}\ndata: ${m.string().replace(/\n/g, ' ')}\n\n`;
        for (const res of clients) res.write(frame);
      }
    })().catch((err: unknown) => log.warn({ err, subject: sub.getSubject() }, 'live page feed stopped relaying'));
  }
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, err: unknown, what: string) => {
    log.warn({ err }, `${what} failed`);
    json(res, 500, { error: errorMessage(err) });
  };

  const routes: Record<string, RouteHandler> = {
    '/': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
    },
    '/app.js': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(js);
    },
    '/api/fleet': (_req, res) => {
      opts.fleet().then(
        (r) => json(res, 200, r),
        (err: unknown) => fail(res, err, 'fleet status'),
      );
    },
    '/api/series': (_req, res, url) => {
      const cluster = url.searchParams.get('cluster') ?? '';
      const minutes = Number(url.searchParams.get('minutes') ?? '360');
      if (!isValidClusterId(cluster)) return json(res, 400, { error: 'cluster must be 1 to 64 characters of [A-Za-z0-9_-]' });
      if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 7 * 24 * 60) {
        return json(res, 400, { error: 'minutes must be 1 .. 10080' });
      }
      readSeries(nc, opts.jsm, cluster, Date.now() - minutes * 60_000).then(
        (s) => json(res, 200, s),
        (err: unknown) => fail(res, err, 'series'),
      );
    },
    '/api/events': (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      clients.add(res);
      req.on('close', () => clients.delete(res));
    },
  };

  return {
    routes,
    stop: async () => {
      clearInterval(heartbeat);
      for (const s of subs) s.unsubscribe();
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
