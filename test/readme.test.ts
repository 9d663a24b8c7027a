import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, createInbox } from '@nats-io/transport-node';
import { applier, applierEnvSchema } from '@walrus/applier';
import { ALL_DEFAULT_METRICS_PORT, runControlCommand, runSimulate, SERVICES } from '@walrus/cli';
import { collector, collectorEnvSchema } from '@walrus/collector';
import { control, controlEnvSchema } from '@walrus/control';
import { DEFAULT_POLICY, ENDPOINTS, envVarName, findParam, KV_STATE_BUCKET, policyFromEnv, POLICY_ENV_VARS } from '@walrus/core';
import { decider, deciderEnvSchema } from '@walrus/decider';
import { historian, historianEnvSchema } from '@walrus/historian';
import { commonEnvSchema, type ServiceDefinition } from '@walrus/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, registerCleanup, startNats, startPostgres, type NatsServer, type PostgresCluster } from './harness/mod.js';
import { startWalrus, type WalrusProcess } from './harness/walrus-process.js';
import { defined } from './harness/defined.js';

// The README and the docs pages it links are the operator's reference: what
// they say must be true. Where the code can tell, these tests check it: every
// variable in the configuration tables is read by the service it names, with
// the documented default and range; every metric they name is registered;
// every command they show runs as shown; every link leads somewhere.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const readme = read('README.md');
/** The operator's pages the README's "Documentation" section sends a reader to, beyond the contract and the notes. */
const PAGES = ['docs/CONFIGURATION.md', 'docs/ALGORITHMS.md', 'docs/DISK-SAFETY.md', 'docs/OPERATIONS.md', 'docs/HIGH-AVAILABILITY.md', 'docs/SECURITY.md', 'docs/SCALING.md'];
const configuration = read('docs/CONFIGURATION.md');
/** The README and those pages: what the README said before they were split from it. */
const operatorText = [readme, ...PAGES.map(read)].join('\n');
const BIN = fileURLToPath(new URL('../packages/cli/bin/walrus.mjs', import.meta.url));
const run = promisify(execFile);

afterAll(cleanupAll);

/** The rows of the first Markdown table after `heading` in `page`, as trimmed cells. */
function table(page: string, heading: string): string[][] {
  const at = page.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`no heading ${heading}`);
  const lines = page.slice(at + heading.length + 2).split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.slice(1, -1).split(' | ').map((c) => c.trim()));
  }
  return rows;
}
/** Every `name` in backticks in a cell. */
const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => defined(m[1]));
/** The same, leaving out what is in parentheses (remarks, `*_FILE` variants). */
const tickedOutside = (cell: string) => ticked(cell.replace(/\([^)]*\)/g, ''));

/** What a table says about a default. */
type Documented = { kind: 'value'; text: string } | { kind: 'unset' } | { kind: 'required' };
function documented(cell: string): Documented {
  if (/^required\b/.test(cell)) return { kind: 'required' };
  if (cell.startsWith('`')) return { kind: 'value', text: defined(ticked(cell)[0]) };
  // "none", or prose ("each cluster's checkpoint_timeout"): the code has no fixed default.
  return { kind: 'unset' };
}

/** Any of these is invalid for every walrus variable (numbers, booleans, names, URLs, lists, JSON). */
const BAD = 'not valid!';
const PG = 'postgres://walrus@db.invalid:5432/postgres';

/** The part of a zod schema these checks use (the test package does not depend on zod itself). */
interface Field {
  safeParse(v: unknown): { success: boolean; data?: unknown };
}
interface EnvSchema {
  shape: Record<string, Field>;
  parse(v: unknown): unknown;
}

interface ServiceUnderTest {
  def: ServiceDefinition<unknown>;
  schema: EnvSchema;
  /** The least environment it starts with. */
  minimal: Record<string, string>;
}
const SERVICE: Record<string, ServiceUnderTest> = {
  collector: { def: collector, schema: collectorEnvSchema, minimal: { WALRUS_CLUSTERS: `a=${PG}` } },
  decider: { def: decider, schema: deciderEnvSchema, minimal: {} },
  applier: { def: applier, schema: applierEnvSchema, minimal: { WALRUS_CLUSTERS: `a=${PG}` } },
  historian: { def: historian, schema: historianEnvSchema, minimal: { HISTORY_DATABASE_URL: PG } },
  control: { def: control, schema: controlEnvSchema, minimal: {} },
};
const problemsOf = (service: string, env: Record<string, string>) => defined(SERVICE[service]).def.loadConfig({ ...defined(SERVICE[service]).minimal, ...env }).problems;

/** A documented default as the schema's parsed value: `15` -> 15, `on` -> true, a URL list -> [url]. */
function parsedDefault(field: Field, text: string): unknown {
  const r = field.safeParse(text);
  if (!r.success) throw new Error(`the documented default ${text} is not even a valid value`);
  return r.data;
}

describe('docs/CONFIGURATION.md - the decision parameters table', () => {
  const rows = table(configuration, '## Decision parameters');
  it('lists every walrus.* parameter, each with its WALRUS_* variable', () => {
    expect(rows.map((r) => ticked(defined(r[0]))[0])).toEqual(POLICY_ENV_VARS.map((v) => v.parameter));
    for (const r of rows) expect(ticked(defined(r[1]))[0], r[0]).toBe(envVarName(defined(ticked(defined(r[0]))[0])));
  });

  it.each(rows.map((r) => [defined(ticked(defined(r[0]))[0]), r] as const))('%s: the documented default is the code\'s, the documented range is what is accepted', (parameter, r) => {
    const spec = defined(findParam(parameter));
    const def = documented(defined(r[2]));
    expect(def.kind).toBe('value');
    const want = spec.parse((def as { text: string }).text);
    expect(want.ok, `${parameter}: documented default`).toBe(true);
    // The service default when the variable is not set.
    const p = policyFromEnv({});
    expect(p.ok && p.policy[spec.key]).toEqual(want.ok && want.value);
    expect(DEFAULT_POLICY[spec.key]).toEqual(want.ok && want.value);

    const allowed = defined(r[3]);
    const range = /(-?[\d.]+)(MB)? \.\. (-?[\d.]+)(MB)?/.exec(allowed);
    if (range) {
      const [lo, hi, unit] = [Number(range[1]), Number(range[3]), range[2] ?? ''];
      const step = defined(range[1]).includes('.') || defined(range[3]).includes('.') ? 10 ** -(defined(range[1]).split('.')[1]?.length ?? 0) / 10 : 1;
      const text = (n: number) => `${Number(n.toFixed(6))}${unit}`;
      expect(spec.parse(text(lo)).ok, `${parameter} = ${text(lo)}`).toBe(true);
      expect(spec.parse(text(hi)).ok, `${parameter} = ${text(hi)}`).toBe(true);
      expect(spec.parse(text(lo - step)).ok, `${parameter} = ${text(lo - step)}`).toBe(false);
      expect(spec.parse(text(hi + step)).ok, `${parameter} = ${text(hi + step)}`).toBe(false);
    }
    if (/^boolean|a boolean/.test(allowed)) {
      for (const w of ['on', 'off', 'true', 'false', 'yes', 'no', '1', '0']) expect(spec.parse(w).ok, `${parameter} = ${w}`).toBe(true);
    }
    if (/units `kB`, `MB`, `GB`, `TB`, bare number = MB/.test(allowed)) {
      expect([spec.parse('2048kB'), spec.parse('2MB'), spec.parse('1GB'), spec.parse('1TB'), spec.parse('64')]).toEqual([
        { ok: true, value: 2 },
        { ok: true, value: 2 },
        { ok: true, value: 1024 },
        { ok: true, value: 1024 * 1024 },
        { ok: true, value: 64 },
      ]);
    }
    if (spec.kind === 'enum') {
      // Every value the row offers in backticks is accepted (remarks in parentheses aside).
      const offered = tickedOutside(allowed);
      expect(offered.length).toBeGreaterThan(0);
      for (const v of offered) expect(spec.parse(v).ok, `${parameter} = ${v}`).toBe(true);
    }
    expect(spec.parse(BAD).ok).toBe(false);
  });

  it.each(rows.map((r) => [defined(ticked(defined(r[1]))[0]), r] as const))('%s is read by the decider and the control service (and the historian where the row says so)', (variable, r) => {
    const services = ['decider', 'control', ...(/used by the historian/.test(defined(r[3])) ? ['historian'] : [])];
    for (const s of services) expect(problemsOf(s, { [variable]: BAD }).join('\n'), s).toMatch(new RegExp(`^${variable}: `, 'm'));
  });
});

describe('docs/CONFIGURATION.md - the "Every process" table', () => {
  const rows = table(configuration, '## Every process');
  const common = commonEnvSchema.parse({});

  it('lists every variable of the common configuration', () => {
    const listed = rows.flatMap((r) => tickedOutside(defined(r[0])));
    expect(listed.sort()).toEqual(Object.keys(commonEnvSchema.shape).sort());
  });

  it.each(rows.map((r) => [tickedOutside(defined(r[0])).join(', '), r] as const))('%s: the documented default', (_names, r) => {
    for (const name of tickedOutside(defined(r[0]))) {
      const def = documented(defined(r[1]));
      if (name === 'METRICS_PORT') {
        // "collector 9101, decider 9102, …, all 9100": each process has its own.
        const ports = Object.fromEntries([...defined(r[1]).matchAll(/([a-z]+) (\d+)/g)].map((m) => [defined(m[1]), Number(m[2])]));
        expect(ports).toEqual({ ...Object.fromEntries(Object.entries(SERVICES).map(([n, d]) => [n, d.defaultMetricsPort])), all: ALL_DEFAULT_METRICS_PORT });
        expect(common.METRICS_PORT).toBeUndefined();
      } else if (name === 'NATS_INBOX_PREFIX') {
        // Not set by walrus: nats.js's own prefix applies.
        expect(common.NATS_INBOX_PREFIX).toBeUndefined();
        expect(createInbox().startsWith(`${(def as { text: string }).text}.`)).toBe(true);
      } else if (def.kind === 'value') {
        expect(common[name as keyof typeof common], name).toEqual(parsedDefault(defined((commonEnvSchema.shape as unknown as Record<string, Field>)[name]), def.text));
      } else {
        expect(common[name as keyof typeof common], name).toBeUndefined();
      }
    }
  });
});

describe('docs/CONFIGURATION.md - the "Per service" table', () => {
  const rows = table(configuration, '## Per service');

  it('lists every variable of every service', () => {
    for (const [name, s] of Object.entries(SERVICE)) {
      const listed = rows.filter((r) => defined(r[0]).split(', ').includes(name)).map((r) => defined(ticked(defined(r[1]))[0]));
      expect(listed.sort(), name).toEqual(expect.arrayContaining(Object.keys(s.schema.shape).sort()));
    }
  });

  const perService = rows.flatMap((r) => defined(r[0]).split(', ').map((service) => [service, defined(ticked(defined(r[1]))[0]), r] as const));
  it.each(perService)('%s reads %s, with the documented default', (service, variable, r) => {
    const s = defined(SERVICE[service]);
    if (variable === 'WALRUS_*') {
      // "WALRUS_* decision parameters | as above": the same policy variables as the deciders.
      for (const v of POLICY_ENV_VARS) expect(problemsOf(service, { [v.name]: BAD }).join('\n'), v.name).toMatch(new RegExp(`^${v.name}: `, 'm'));
      return;
    }
    // Read: an invalid value stops the service, naming the variable.
    expect(problemsOf(service, { [variable]: BAD }).join('\n')).toMatch(new RegExp(`^${variable}(_FILE)?: `, 'm'));
    const def = documented(defined(r[2]));
    const without = { ...s.minimal };
    delete without[variable];
    const problems = s.def.loadConfig(without).problems;
    if (def.kind === 'required') {
      expect(problems.join('\n')).toMatch(new RegExp(`^${variable}: `, 'm'));
      return;
    }
    expect(problems).toEqual([]);
    const field = s.schema.shape[variable];
    if (!field) return; // WALRUS_CLUSTERS of the control service: optional, read by loadClusters
    const value = (s.schema.parse(without) as Record<string, unknown>)[variable];
    if (def.kind === 'value') expect(value).toEqual(parsedDefault(field, def.text));
    else expect(value).toBeUndefined();
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens; a repeated one gets -1, -2, … */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of outsideFences(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = defined(heading).trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}
/** The text with fenced code blocks blanked (a `#` comment there is no heading, a `](` no link). */
const outsideFences = (markdown: string) => markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');

describe('README - a page for a newcomer, and the pages it links', () => {
  it('is under 350 lines', () => {
    expect(readme.split('\n').length).toBeLessThan(350);
  });

  it('its "Documentation" section links every operator page', () => {
    const section = readme.slice(readme.indexOf('\n## Documentation\n'));
    for (const page of PAGES) expect(section, page).toContain(`](${page})`);
  });

  // Every Markdown file a reader reaches from the README (and the developers' and benchmarks' pages).
  const files = ['README.md', 'DEVELOPERS.md', 'bench/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  it.each(files)('%s: every relative link leads to a file, and every #anchor to a heading there', (file) => {
    const text = read(file);
    const links = [...outsideFences(text).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => defined(m[1])).filter((l) => !/^[a-z]+:/.test(l));
    const broken: string[] = [];
    for (const link of links) {
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? file : normalize(join(dirname(file), path));
      if (!existsSync(join(ROOT, target))) broken.push(`${link}: no file ${target}`);
      else if (anchor !== undefined && !anchors(read(target)).has(anchor)) broken.push(`${link}: no heading #${anchor} in ${target}`);
    }
    expect(broken).toEqual([]);
  });
});

describe('README and docs - what runs as shown', () => {
  let nats: NatsServer;
  let pg: PostgresCluster;
  let all: WalrusProcess;
  const C = 'prod-eu-1';
  const env = () => ({ NATS_URL: nats.url });

  // `pnpm walrus all` as the README starts it, watching one cluster under the README's name.
  let starting: Promise<void> | undefined;
  const walrusAll = () =>
    (starting ??= (async () => {
      [nats, pg] = await Promise.all([startNats(), startPostgres({ version: 17 })]);
      await pg.query('CREATE DATABASE walrus');
      all = startWalrus(['all'], { NATS_URL: nats.url, WALRUS_CLUSTERS: `${C}=${pg.url}`, HISTORY_DATABASE_URL: pg.urlFor('walrus'), WALRUS_SAMPLE_INTERVAL: '1' });
      registerCleanup(async () => void (await all.stop()));
      await all.waitForLog((l) => l.msg === 'started', 'walrus all started', 60_000);
      await all.waitForLog((l) => l.cluster === C && typeof l.outcome === 'string', 'a sample evaluated', 30_000);
    })());

  it('every metric the README and its pages name is registered by walrus', async () => {
    await walrusAll();
    const port = defined(all.lines.find((l) => l.msg === 'started')).metricsPort as number;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const registered = [...text.matchAll(/^# HELP (\S+)/gm)].map((m) => defined(m[1]));
    // Names that are not metrics: URL parameters (written name=value), the KV bucket, the NOTIFY channel.
    const notMetrics = new Set([KV_STATE_BUCKET, DEFAULT_POLICY.notifyChannel, ...[...operatorText.matchAll(/\b(walrus_[a-z_]+)=/g)].map((m) => defined(m[1]))]);
    const named = [...new Set([...operatorText.matchAll(/`(walrus_[a-z_]+)(\*|\{[^}]*\})?`/g)].map((m) => defined(m[1])))].filter((n) => !notMetrics.has(n));
    expect(named.length).toBeGreaterThan(30);
    const missing = named.filter((n) => (n.endsWith('_') ? !registered.some((r) => r.startsWith(n)) : !registered.includes(n)));
    expect(missing).toEqual([]);
  });

  it('every command the README and its pages show is one the walrus command knows', async () => {
    const { stdout: usage } = await run(process.execPath, [BIN, 'help'], { env: { PATH: process.env.PATH ?? '' } });
    const known = new Set([...usage.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => defined(m[1])));
    const shown = new Set(
      [...operatorText.matchAll(/pnpm (?:-s )?walrus ([a-z|-]+)/g)].flatMap((m) => defined(m[1]).split('|')),
    );
    expect([...shown].filter((c) => !known.has(c))).toEqual([]);
    expect(shown.size).toBeGreaterThan(15);
  });

  it('the control commands as shown, against walrus all: each exits 0', async () => {
    await walrusAll();
    const lines = [...readme.matchAll(/^\$ pnpm walrus ((?:status|history|recommend|analyze|reset|cleanup|watch)\b[^#\n]*)/gm)].map((m) => defined(m[1]).trim().split(/\s+/));
    expect(lines.map((l) => l[0])).toEqual(['status', 'status', 'history', 'recommend', 'analyze', 'reset', 'cleanup', 'watch']);
    for (const [name, ...args] of lines) {
      let out = '';
      let err = '';
      const o = { out: (t: string) => void (out += t), err: (t: string) => void (err += t) };
      const abort = new AbortController();
      // `watch` runs until Ctrl-C: stopped once it is listening, as Ctrl-C would.
      if (name === 'watch') setTimeout(() => abort.abort(), 1000);
      const code = await runControlCommand(defined(name), args, env(), o, abort.signal);
      expect(code, `walrus ${[name, ...args].join(' ')}: ${err}`).toBe(0);
      if (name !== 'watch') expect(out.length, `walrus ${name} printed something`).toBeGreaterThan(0);
    }
    // And the request the README sends with the nats CLI, over plain request/reply.
    const nc = await connect({ servers: nats.url });
    try {
      const reply = (await nc.request('walrus.api.status', JSON.stringify({ cluster: C }), { timeout: 10_000 })).json<{ ok: boolean; result: { clusters: Array<{ cluster: string }> } }>();
      expect(reply).toMatchObject({ ok: true, result: { clusters: [{ cluster: C }] } });
    } finally {
      await nc.close();
    }
    // The endpoints the README lists are the ones the service answers.
    const listed = /on\s+`walrus\.api\.<endpoint>` \(([^)]*)\)/.exec(readme)?.[1] ?? '';
    expect(ticked(listed)).toEqual([...ENDPOINTS]);
  });

  it('walrus simulate as shown: from the stream, then from the file it exported', async () => {
    await walrusAll();
    const dir = mkdtempSync(join(tmpdir(), 'walrus-readme-'));
    registerCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const shown = [...operatorText.matchAll(/pnpm walrus simulate ([^\n]+)/g)].map((m) => defined(m[1]).trim().split(/\s+/));
    expect(shown).toHaveLength(3);
    const file = join(dir, 'samples.jsonl');
    for (const args of shown) {
      let out = '';
      let err = '';
      const real = args.map((a) => (a === 'samples.jsonl' ? file : a));
      // The first reads the stream: export what it read, for the file-based ones.
      if (real.includes('--cluster')) real.push('--export', file);
      const code = await runSimulate(real, env(), { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
      expect(code, `walrus simulate ${args.join(' ')}: ${err}`).toBe(0);
      expect(out).toContain(args.includes('--json') ? `"cluster": "${C}"` : `cluster ${C}:`);
    }
  });

  it('walrus nats-config as shown writes nats-auth.conf and an env file per process with the variables named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'walrus-readme-'));
    registerCleanup(async () => rmSync(dir, { recursive: true, force: true }));
    const m = /WALRUS_CLUSTERS_FILE=clusters\.txt pnpm walrus nats-config ([^\n]+)/.exec(operatorText);
    const args = defined(defined(m)[1]).trim().split(/\s+/).map((a) => (a === './nats-secrets' ? join(dir, 'nats-secrets') : a));
    writeFileSync(join(dir, 'clusters.txt'), `prod-eu-1=${PG}\nprod-us-1=${PG}\nstaging=${PG}\n`);
    await run(process.execPath, [BIN, 'nats-config', ...args], { env: { PATH: process.env.PATH ?? '', WALRUS_CLUSTERS_FILE: join(dir, 'clusters.txt') } });
    const files = readdirSync(join(dir, 'nats-secrets'));
    // "# ./nats-secrets/nats-auth.conf", "# ./nats-secrets/walrus-applier-1.env (NATS_USER, NATS_PASSWORD, NATS_INBOX_PREFIX), …"
    const named = [...operatorText.matchAll(/# \.\/nats-secrets\/(\S+)(?: \(([^)]*)\))?/g)];
    expect(named.length).toBe(2);
    for (const [, f, vars] of named) {
      expect(files).toContain(f);
      for (const v of ticked(`\`${(vars ?? '').split(', ').join('`, `')}\``).filter(Boolean)) {
        expect(readFileSync(join(dir, 'nats-secrets', defined(f)), 'utf8')).toMatch(new RegExp(`^${v}=`, 'm'));
      }
    }
    expect(files).toEqual(expect.arrayContaining(['walrus-applier-2.env', 'walrus-collector-1.env', 'walrus-collector-2.env']));
  });

  it('walrus grants prints the grants of the README\'s PostgreSQL privileges section', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'grants', 'walrus'], { env: { PATH: process.env.PATH ?? '' } });
    const section = readme.slice(readme.indexOf('\n### PostgreSQL privileges\n'), readme.indexOf('\n## Configuration\n'));
    const grants = [...section.matchAll(/^(GRANT [^;]+);/gm)].map((g) => defined(g[1]));
    expect(grants).toHaveLength(3);
    for (const g of grants) expect(stdout).toContain(g);
  });
});
