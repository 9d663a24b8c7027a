import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerCleanup } from './mod.js';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
  /** What `onPatch` returned (e.g. the state of the node when the request arrived). */
  observed: unknown;
}

export interface PatroniStandIn {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface StandInOptions {
  /** When set, requests without this basic auth get 401 (Patroni's `restapi.authentication`). */
  auth?: { user: string; password: string };
  /**
   * Does what Patroni would do with the new dynamic configuration (write it
   * to the members' configuration and reload); its result is recorded.
   */
  onPatch?: (body: unknown) => Promise<unknown>;
  /** Listen on this port (e.g. one a client was already told about); default any free port. */
  port?: number;
  /** Answers every (authorised) request with this status instead, e.g. 503 (no leader, DCS away). */
  status?: number;
}

/**
 * A tiny stand-in of Patroni's REST API: `PATCH /config` only, recording
 * every request. Not Patroni: it imitates the one endpoint walrus calls,
 * for the error paths (refusals, an API away or unwell); what works is
 * tested against real Patroni (test/ha-patroni.test.ts). An `onPatch` that
 * throws is answered with 500 (Patroni unwell: no leader, DCS away).
 */
export async function startPatroniStandIn(opts: StandInOptions = {}): Promise<PatroniStandIn> {
  const requests: RecordedRequest[] = [];
  let dynamic: Record<string, unknown> = {};
  const server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
      const rec: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? null, body, observed: null };
      requests.push(rec);
      const expected = opts.auth ? `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64')}` : null;
      if (expected && rec.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end('no auth header received');
        return;
      }
      if (opts.status !== undefined) {
        res.writeHead(opts.status, { 'content-type': 'text/plain' }).end(`stand-in answering ${opts.status}`);
        return;
      }
      if (req.method !== 'PATCH' || req.url !== '/config') {
        res.writeHead(404).end();
        return;
      }
      rec.observed = opts.onPatch ? await opts.onPatch(body) : null;
      dynamic = { ...dynamic, ...(body as Record<string, unknown>) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(dynamic));
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  registerCleanup(close);
  return { url: `http://127.0.0.1:${port}`, requests, close };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
