// @ts-check
// The walrus live page: plain JavaScript, no build step. It reads the fleet
// and one cluster's recent samples and decisions from the control service's
// JSON API, then follows /api/events (server-sent events relaying NATS) so
// that new samples and decisions show up as they happen. Type-checked
// (tsconfig.app.json beside it: the DOM) with the API's own types.
'use strict';

/**
 * @typedef {import('@walrus/core').StatusResult} StatusResult
 * @typedef {import('@walrus/core').Sample} Sample
 * @typedef {import('@walrus/core').Decision} Decision
 * @typedef {import('@walrus/core').ApplyResult} ApplyResult
 * @typedef {import('@walrus/core').Effect} Effect
 * @typedef {import('./types.js').Series} Series
 */

/** @type {{ fleet: StatusResult | null, selected: string | null, series: Series | null, refreshTimer: ReturnType<typeof setTimeout> | null }} */
const state = { fleet: null, selected: null, series: null, refreshTimer: null };
const MINUTES = Number(new URLSearchParams(location.search).get('minutes') || 360);

/**
 * An element of page.html, which has them all.
 * @param {string} sel
 * @returns {HTMLElement}
 */
const $ = (sel) => {
  const e = document.querySelector(sel);
  if (!(e instanceof HTMLElement)) throw new Error(`page.html has no ${sel}`);
  return e;
};

/**
 * @param {string} tag
 * @param {Record<string, string> | null} attrs
 * @param {...(Node | string | number)} children
 */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** @param {number} sec */
const fmtDuration = (sec) => (sec >= 3600 ? `${Math.floor(sec / 3600)} h ${Math.floor((sec % 3600) / 60)} min` : sec >= 60 ? `${Math.floor(sec / 60)} min` : `${Math.round(sec)} s`);
/** @param {number | null | undefined} mb */
const fmtMb = (mb) => (mb == null ? '–' : mb >= 1024 ? `${+(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`);
/**
 * An axis maximum of 1, 2 or 5 times a power of two or ten, so that ticks read well.
 * @param {number} v
 */
function niceMax(v) {
  if (v >= 1024) {
    let g = 1;
    while (g * 4 < v / 1024) g *= 2;
    return Math.ceil(v / 1024 / g) * g * 1024;
  }
  const p = 10 ** Math.floor(Math.log10(Math.max(v, 1)));
  for (const f of [1, 2, 5, 10]) if (f * p >= v) return f * p;
  return 10 * p;
}
/** @param {number | null | undefined} s */
const fmtAge = (s) => (s == null ? '–' : s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`);
/** @param {string} iso */
const fmtTime = (iso) => new Date(iso).toLocaleTimeString();

/**
 * @template T
 * @param {string} url
 * @returns {Promise<T>}
 */
async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return /** @type {Promise<T>} */ (r.json());
}

async function loadFleet() {
  /** @type {StatusResult} */
  const fleet = await getJson('api/fleet');
  state.fleet = fleet;
  renderFleet(fleet);
  const first = fleet.clusters[0];
  if (!state.selected && first) await select(first.cluster);
}

/** @param {StatusResult} fleet */
function renderFleet(fleet) {
  const f = fleet.fleet;
  const s = $('#summary');
  s.replaceChildren(
    ...[
      ['clusters', f.clusters],
      ['reachable', f.reachable],
      ['unreachable', f.unreachable],
      ['without samples', f.no_samples ?? 0],
      ['at ceiling', f.at_ceiling],
      ['in cooldown', f.cooldown_active],
      ['adjustments', f.total_adjustments],
    ].map(([k, v]) => el('span', {}, `${k} `, el('b', {}, v ?? ''))),
  );
  const body = $('#fleet tbody');
  body.replaceChildren(
    ...fleet.clusters.map((c) => {
      const reach = c.reachable === null ? el('span', { class: 'muted' }, 'unknown') : c.reachable ? el('span', { class: 'ok' }, 'yes') : el('span', { class: 'bad' }, 'no');
      const limit = c.hourly_limit_reached ? 'hourly limit' : c.cooldown_active ? `cooldown ${c.cooldown_remaining_sec} s` : '–';
      const notes = [];
      if ((c.alerts_firing ?? []).includes('no_samples')) notes.push('no samples');
      if ((c.alerts_firing ?? []).includes('wal_disk_forecast') && c.wal_disk_forecast_sec != null) notes.push(`WAL budget full in ${fmtDuration(c.wal_disk_forecast_sec)}`);
      if ((c.alerts_firing ?? []).some((k) => k.startsWith('slot_lost:'))) notes.push('slot lost');
      if (c.archiver_backlog_segments) notes.push(`archiver backlog ${c.archiver_backlog_segments} segment(s)`);
      if (c.bound_slots && c.max_slot_wal_keep_size_mb != null && c.max_slot_wal_keep_size_mb >= 0) notes.push(`slot keep ${fmtMb(c.max_slot_wal_keep_size_mb)}`);
      if (!c.enabled) notes.push('disabled');
      if (c.dry_run) notes.push('dry run');
      if (c.in_recovery) notes.push('standby');
      if (c.at_ceiling) notes.push('at ceiling');
      if (c.invalid_overrides.length) notes.push(`${c.invalid_overrides.length} invalid override(s)`);
      const tr = el(
        'tr',
        { 'data-cluster': c.cluster },
        el('td', {}, c.cluster),
        el('td', {}, fmtMb(c.current_max_wal_size_mb)),
        el('td', {}, fmtMb(c.configured_maximum_mb)),
        el('td', {}, reach),
        el('td', {}, fmtAge(c.sample_age_sec)),
        el('td', {}, c.total_adjustments),
        el('td', {}, c.quiet_intervals),
        el('td', { class: limit === '–' ? 'muted' : 'warn' }, limit),
        el('td', { class: 'warn' }, notes.join(', ')),
      );
      if (c.cluster === state.selected) tr.classList.add('selected');
      tr.addEventListener('click', () => void select(c.cluster).catch(showError));
      return tr;
    }),
  );
}

/** @param {string} cluster */
async function select(cluster) {
  state.selected = cluster;
  for (const tr of document.querySelectorAll('#fleet tbody tr')) {
    if (tr instanceof HTMLElement) tr.classList.toggle('selected', tr.dataset['cluster'] === cluster);
  }
  $('#chart-title').textContent = `${cluster}: max_wal_size and forced checkpoints (last ${MINUTES} min)`;
  /** @type {Series} */
  const series = await getJson(`api/series?cluster=${encodeURIComponent(cluster)}&minutes=${MINUTES}`);
  state.series = series;
  renderChart(series);
  renderDecisions(series);
}

/** @param {unknown} err */
function showError(err) {
  $('#summary').textContent = `cannot load: ${err instanceof Error ? err.message : String(err)}`;
}

/** @type {Record<string, string>} */
const COLORS = { increase: '#16a34a', capped: '#16a34a', decrease: '#7c3aed', skipped: '#9ca3af', dry_run: '#9ca3af' };
const SVG = 'http://www.w3.org/2000/svg';
/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string | number} [text]
 */
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}

/** @param {Series} series */
function renderChart(series) {
  const box = $('#chart');
  const { points, decisions } = series;
  const W = Math.max(400, box.clientWidth || 900);
  const H = 320;
  const m = { l: 64, r: 48, t: 16, b: 28 };
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, 'data-points': points.length, 'data-decisions': decisions.length, role: 'img' });
  root.append(svg('title', {}, `${series.cluster}: max_wal_size and forced checkpoints`));
  if (points.length === 0) {
    root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#6b7785' }, 'no samples yet'));
    box.replaceChildren(root);
    return;
  }
  const times = points.map((p) => Date.parse(p.t)).concat(decisions.map((d) => Date.parse(d.t)));
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 1000) { t0 -= 30_000; t1 += 30_000; }
  const maxSize = niceMax(Math.max(...points.map((p) => p.max_wal_size_mb), ...decisions.map((d) => d.new_size_mb)) * 1.05);
  const maxForced = Math.max(4, Math.ceil(Math.max(1, ...points.map((p) => p.forced || 0)) * 1.2 / 4) * 4);
  /** @param {number} t */
  const x = (t) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
  /** @param {number} v */
  const ySize = (v) => H - m.b - (v / maxSize) * (H - m.t - m.b);
  /** @param {number} v */
  const yForced = (v) => H - m.b - (v / maxForced) * (H - m.t - m.b);

  // grid and axes
  for (let i = 0; i <= 4; i++) {
    const v = (maxSize * i) / 4;
    const y = ySize(v);
    root.append(svg('line', { x1: m.l, x2: W - m.r, y1: y, y2: y, stroke: '#eef2f6' }));
    root.append(svg('text', { x: m.l - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#2563eb' }, fmtMb(v)));
    root.append(svg('text', { x: W - m.r + 6, y: yForced((maxForced * i) / 4) + 4, 'font-size': 11, fill: '#b45309' }, Math.round((maxForced * i) / 4)));
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    root.append(svg('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#6b7785' }, new Date(t).toLocaleTimeString()));
  }

  // forced checkpoints: one bar per sample
  const barW = Math.max(2, Math.min(14, ((W - m.l - m.r) / Math.max(points.length, 1)) * 0.6));
  const bars = svg('g', { class: 'forced' });
  for (const p of points) {
    if (!p.forced) continue;
    const y = yForced(p.forced);
    bars.append(svg('rect', { x: x(Date.parse(p.t)) - barW / 2, y, width: barW, height: H - m.b - y, fill: '#f59e0b', opacity: 0.75 }));
  }
  root.append(bars);

  // max_wal_size: a step line (the size holds until the next sample shows another)
  let d = '';
  points.forEach((p, i) => {
    const px = x(Date.parse(p.t));
    const py = ySize(p.max_wal_size_mb);
    d += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
  });
  root.append(svg('path', { class: 'size', d, fill: 'none', stroke: '#2563eb', 'stroke-width': 2.5 }));

  // decisions: a dashed line and a marker at the new size
  const marks = svg('g', { class: 'decisions' });
  for (const dec of decisions) {
    const px = x(Date.parse(dec.t));
    const color = COLORS[dec.action] || '#9ca3af';
    marks.append(svg('line', { x1: px, x2: px, y1: m.t, y2: H - m.b, stroke: color, 'stroke-dasharray': '4 3' }));
    const c = svg('circle', { cx: px, cy: ySize(dec.new_size_mb), r: 5, fill: color, 'data-action': dec.action });
    c.append(svg('title', {}, `${dec.action} ${dec.old_size_mb} → ${dec.new_size_mb} MB: ${dec.reason}`));
    marks.append(c);
  }
  root.append(marks);
  box.replaceChildren(root);
}

/** @param {Series} series */
function renderDecisions(series) {
  const rows = [...series.decisions].reverse().slice(0, 12);
  $('#decisions tbody').replaceChildren(
    ...rows.map((d) =>
      el('tr', {}, el('td', {}, fmtTime(d.t)), el('td', {}, d.action), el('td', {}, `${fmtMb(d.old_size_mb)} → ${fmtMb(d.new_size_mb)}`), el('td', {}, d.apply_status || '–'), el('td', { class: 'effect' }, d.effect || '–'), el('td', {}, d.reason)),
    ),
  );
}

// Live updates: append what arrives for the selected cluster, refresh the fleet at most every 2 s.
function scheduleFleetRefresh() {
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(() => {
    state.refreshTimer = null;
    // The next event tries again.
    loadFleet().catch(() => undefined);
  }, 2000);
}

/** @param {Sample} s */
function onSample(s) {
  scheduleFleetRefresh();
  const series = state.series;
  if (!series || s.cluster !== state.selected) return;
  const prev = series.points[series.points.length - 1];
  const forced = prev && s.checkpoints_requested >= prev.checkpoints_requested ? s.checkpoints_requested - prev.checkpoints_requested : null;
  series.points.push({ t: s.collected_at, max_wal_size_mb: s.max_wal_size_mb, checkpoints_requested: s.checkpoints_requested, forced });
  renderChart(series);
}

/** @param {Decision} d */
function onDecision(d) {
  scheduleFleetRefresh();
  const series = state.series;
  if (!series || d.cluster !== state.selected) return;
  if (series.decisions.some((x) => x.id === d.id)) return;
  series.decisions.push({ t: d.sample_at, id: d.id, action: d.action, old_size_mb: d.old_size_mb, new_size_mb: d.new_size_mb, reason: d.reason, apply_status: null, effect: null });
  renderChart(series);
  renderDecisions(series);
}

/** @param {ApplyResult} r */
function onApplied(r) {
  scheduleFleetRefresh();
  const series = state.series;
  if (!series || r.cluster !== state.selected) return;
  const d = series.decisions.find((x) => x.id === r.decision_id);
  if (d) d.apply_status = r.status;
  renderDecisions(series);
}

/** @param {Effect} e */
function onEffect(e) {
  const series = state.series;
  if (!series || e.cluster !== state.selected) return;
  const d = series.decisions.find((x) => x.id === e.decision_id);
  if (d) d.effect = `${e.verdict}${e.flag ? ` (${e.flag})` : ''}: forced/h ${e.before.forced_per_hour} -> ${e.after.forced_per_hour}${e.holds_next_growth ? '; next growth held' : ''}`;
  renderDecisions(series);
}

function follow() {
  const es = new EventSource('api/events');
  const live = $('#live');
  es.onopen = () => { live.textContent = 'live'; live.className = 'on'; };
  es.onerror = () => { live.textContent = 'reconnecting'; live.className = ''; };
  /**
   * The payloads are the messages as published; one that does not fit is not ours to show.
   * @template T
   * @param {string} name
   * @param {(payload: T) => void} fn
   */
  const on = (name, fn) => es.addEventListener(name, (e) => { try { fn(/** @type {T} */ (JSON.parse(e.data))); } catch { /* not ours */ } });
  on('sample', onSample);
  on('decision', onDecision);
  on('applied', onApplied);
  on('effect', onEffect);
}

window.addEventListener('resize', () => state.series && renderChart(state.series));
loadFleet().then(follow, (/** @type {unknown} */ err) => { $('#summary').textContent = `cannot load the fleet: ${err instanceof Error ? err.message : String(err)}`; follow(); });
