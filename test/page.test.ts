import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, writeFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { fileURLToPath } from 'node:url';
import { control } from '@walrus/control';
import { effectSummary, sampleMsgId, type Effect, type Sample } from '@walrus/core';
import { decider } from '@walrus/decider';
import { createLogger, startHttpServer, type HttpServer } from '@walrus/runtime';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startNats, type NatsServer } from './harness/mod.js';
import { publishJs, startInProcess, type InProcessService } from './harness/in-process.js';
import { defined } from './harness/defined.js';

// The live page in a real headless browser (Debian's chromium driven by
// playwright-core; no browser download). The decider decides on samples
// published by the test, so the fleet, the chart and its decision marks come
// from the same code paths as in production. WALRUS_UPDATE_SCREENSHOT=1 also
// writes the README's screenshot, docs/live-page.png.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const MAIN = 'prod-eu-1';
const STEP_MS = 2 * 60_000;
const POINTS = 30;

let nats: NatsServer;
let dec: InProcessService;
let ctl: InProcessService;
let http: HttpServer;
let browser: Browser;
let page: Page;

/** A cluster simulated by the test: its size follows walrus's decisions, as if an applier ran. */
class FakeCluster {
  requested = 100;
  sizeMb: number;
  /** Forced checkpoints of each published sample, in order. */
  readonly forced: number[] = [];
  /** Decisions the decider made of them. */
  readonly decisions: Record<string, unknown>[] = [];
  constructor(
    readonly id: string,
    startMb: number,
    readonly settings: Record<string, string> = {},
  ) {
    this.sizeMb = startMb;
  }
  sample(at: number, forced: number): Sample {
    this.requested += forced;
    return {
      v: 1,
      cluster: this.id,
      collected_at: new Date(at).toISOString(),
      server_version_num: 170004,
      in_recovery: false,
      checkpoints_requested: this.requested,
      checkpoints_timed: Math.floor(at / 300_000) % 1000,
      stats_reset: null,
      wal_lsn: '0/3000000',
      wal_bytes: 50331648,
      max_wal_size_mb: this.sizeMb,
      checkpoint_timeout_s: 300,
      checkpoint_completion_target: 0.9,
      settings: this.settings,
    };
  }
  /** Publishes one sample and follows the decision the decider makes of it, if any. */
  async step(at: number, forced: number): Promise<void> {
    const s = this.sample(at, forced);
    await publishJs(ctl.nc, `walrus.sample.${this.id}`, s, sampleMsgId(this.id, s.collected_at));
    this.forced.push(forced);
    const evaluated = await waitForEvaluation(s);
    if (evaluated && ['increase', 'decrease', 'capped'].includes(evaluated.action as string)) this.sizeMb = evaluated.new_size_mb as number;
    if (evaluated) this.decisions.push(evaluated);
  }
  /** Samples with forced checkpoints after the first one (the chart draws a bar for each). */
  forcedIntervals(): number {
    return this.forced.slice(1).filter((n) => n > 0).length;
  }
}

/**
 * The decision of a sample, or null once the decider has evaluated it without
 * one. The decider publishes a decision (acknowledged by JetStream) before it
 * records the sample as evaluated, so once the metric shows the sample, the
 * stream holds its decision if there is one.
 */
async function waitForEvaluation(s: Sample): Promise<Record<string, unknown> | null> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const metrics = await dec.registry.metrics();
    const seen = new RegExp(`walrus_last_sample_timestamp_seconds\\{cluster="${s.cluster}",service="decider"\\} (\\S+)`).exec(metrics)?.[1];
    if (seen && Number(seen) * 1000 >= Date.parse(s.collected_at)) {
      const jsm = await jetstreamManager(ctl.nc);
      const last = await jsm.streams.getMessage('WALRUS_DECISIONS', { last_by_subj: `walrus.decision.${s.cluster}` }).catch(() => null);
      const d = last?.json<Record<string, unknown>>();
      return d && d.sample_at === s.collected_at ? d : null;
    }
    if (Date.now() > deadline) throw new Error(`the decider did not evaluate ${s.cluster} at ${s.collected_at}`);
    await sleep(25);
  }
}

const main = new FakeCluster(MAIN, 1024);
const others = [new FakeCluster('prod-us-1', 2048), new FakeCluster('staging', 1024, { 'walrus.dry_run': 'on', 'walrus.threshold': 'x' })];
const clusters = [main, ...others];

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install -y chromium)`).toBe(true);
  nats = await startNats();
  const policy = { WALRUS_COOLDOWN_SEC: '0', WALRUS_MAX: '16GB', WALRUS_SHRINK_INTERVALS: '8', WALRUS_MAX_CHANGES_PER_HOUR: '4' };
  dec = await startInProcess(decider, policy, nats.url);
  ctl = await startInProcess(control, policy, nats.url);
  http = await startHttpServer({ port: 0, host: '127.0.0.1', registry: ctl.registry, sources: [ctl.handle], log: createLogger({ level: 'silent', name: 'page-test' }) });

  // An hour of one busy cluster: growth, a change held back by the hourly limit, then quiet and a shrink.
  const forced = [0, 0, 3, 1, 0, 2, 0, 4, 0, 0, 3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
  const t0 = Date.now() - POINTS * STEP_MS;
  for (let i = 0; i < POINTS; i++) {
    const at = t0 + i * STEP_MS;
    await main.step(at, defined(forced[i]));
    if (i % 3 === 0) for (const o of others) await o.step(at + 1000, i === 9 ? 2 : 0);
  }

  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
});

afterAll(async () => {
  await browser?.close();
  await http?.close();
  await ctl?.stop();
  await dec?.stop();
  await cleanupAll();
});

/** Counts pixels of the chart's two series colours in a screenshot of the chart, decoded by the browser itself. */
async function seriesPixels(): Promise<{ size: number; forced: number; total: number }> {
  const png = await page.locator('#chart').screenshot();
  // Runs in the page (DOM types are not in this project's TypeScript libs, hence a string).
  return page.evaluate(`(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width;
    canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, img.width, img.height).data;
    let size = 0, forced = 0;
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i + 1], b = d[i + 2];
      if (r < 90 && g > 70 && g < 140 && b > 200) size++; // #2563eb, the size line
      if (r > 220 && g > 150 && g < 200 && b < 120) forced++; // #f59e0b over white, the bars
    }
    return { size, forced, total: img.width * img.height };
  })(${JSON.stringify(png.toString('base64'))})`);
}

const sizeText = (mb: number) => (mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GB` : `${mb} MB`);

/** Opens the page afresh: each test stands on its own. */
async function openPage(): Promise<void> {
  await page.goto(`http://127.0.0.1:${http.port}/`);
  await page.waitForSelector(`#fleet tbody tr[data-cluster="${MAIN}"]`);
}

describe('live page - in a real browser', () => {
  it('shows the fleet at a glance', async () => {
    await openPage();
    const rows = await page.locator('#fleet tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    // Every cluster the test published, by name, each with the size its samples ended at.
    expect(rows.map((r) => r[0])).toEqual(clusters.map((c) => c.id).sort());
    for (const c of clusters) {
      const row = defined(rows.find((r) => r[0] === c.id));
      expect(row[1], c.id).toBe(sizeText(c.sizeMb));
      expect(row[3], c.id).toBe('yes');
    }
    const staging = defined(rows.find((r) => r[0] === 'staging'));
    expect(staging[8]).toContain('dry run');
    expect(staging[8]).toContain('1 invalid override(s)');
    await expect.poll(() => page.locator('#summary').textContent()).toContain(`clusters ${clusters.length}`);
  });

  it('charts max_wal_size and forced checkpoints with the decisions marked', async () => {
    await openPage();
    const svg = page.locator('#chart svg');
    await expect.poll(() => svg.getAttribute('data-points')).toBe(String(main.forced.length));
    // The decisions the decider really made of the samples published for this cluster.
    expect(main.decisions.length).toBeGreaterThanOrEqual(4);
    expect(await svg.getAttribute('data-decisions')).toBe(String(main.decisions.length));
    expect(await page.locator('#chart svg g.decisions circle').count()).toBe(main.decisions.length);
    expect(await page.locator('#chart svg g.forced rect').count()).toBe(main.forcedIntervals());
    const box = await svg.boundingBox();
    expect(defined(box).width).toBeGreaterThan(800);
    expect(defined(box).height).toBeGreaterThan(250);
    const px = await seriesPixels();
    // The size line and the bars are really drawn, not just in the DOM.
    expect(px.size).toBeGreaterThan(500);
    expect(px.forced).toBeGreaterThan(200);
    const actions = await page.locator('#decisions tbody tr td:nth-child(2)').allTextContents();
    expect([...new Set(actions)].sort()).toEqual([...new Set(main.decisions.map((d) => d.action as string))].sort());
    expect(actions).toEqual(expect.arrayContaining(['increase', 'skipped', 'decrease']));
    // What a change did, once judged (walrus.effect.<cluster>), beside it: the latest effect published for this cluster.
    const jsm = await jetstreamManager(ctl.nc);
    const effect = defined(await jsm.streams.getMessage('WALRUS_DECISIONS', { last_by_subj: `walrus.effect.${MAIN}` })).json<Effect>();
    const row = page.locator('#decisions tbody tr', { has: page.locator('td', { hasText: effect.verdict }) });
    await expect.poll(() => row.count()).toBeGreaterThan(0);
    expect(await page.locator('#decisions tbody tr td.effect').allTextContents()).toContain(effectSummary(effect));
    if (process.env['WALRUS_UPDATE_SCREENSHOT'] === '1') {
      writeFileSync(fileURLToPath(new URL('../docs/live-page.png', import.meta.url)), await page.screenshot({ fullPage: true }));
    }
  });

  it('updates live: a new sample and its decision appear without a reload', async () => {
    await openPage();
    const svg = page.locator('#chart svg');
    await expect.poll(() => svg.getAttribute('data-points')).toBe(String(main.forced.length));
    await expect.poll(() => page.locator('#live').textContent()).toBe('live');
    const before = main.decisions.length;
    await main.step(Date.now(), 5);
    expect(main.decisions.length).toBe(before + 1);
    await expect.poll(() => svg.getAttribute('data-points'), { timeout: 15_000 }).toBe(String(main.forced.length));
    await expect.poll(() => svg.getAttribute('data-decisions'), { timeout: 15_000 }).toBe(String(main.decisions.length));
  });
});
