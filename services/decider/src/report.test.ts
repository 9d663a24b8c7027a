import { DEFAULT_POLICY, initialState, step, type Sample } from '@walrus/core';
import { sampleWith } from '@walrus/core/testing';
import { createLogger, createRegistry } from '@walrus/runtime';
import { describe, expect, it } from 'vitest';
import { deciderMetrics } from './metrics.js';
import { StepReport } from './report.js';

/** A report over a fresh registry, with the log lines it writes. */
function reporter() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', name: 'test', destination: { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) } });
  const registry = createRegistry('decider');
  return { report: new StepReport(deciderMetrics(registry), log), lines, metrics: () => registry.metrics() };
}

const at = (sec: number) => new Date(Date.parse('2026-01-10T10:00:00Z') + sec * 1000).toISOString();
const s = (sec: number, over: Partial<Sample> = {}) => sampleWith({ cluster: 'c1', collected_at: at(sec), ...over });
/** Steps samples as the decider does, returning the results in order. */
function steps(samples: Sample[]) {
  let state = initialState();
  return samples.map((x, i) => {
    const r = step({ state, sample: x, defaults: DEFAULT_POLICY, nowMs: Date.parse(x.collected_at), maxSkewMs: 300_000, stored: { seq: i + 1, atMs: Date.parse(x.collected_at) } });
    state = r.state;
    return r;
  });
}

describe('decider report - what a saved step says', () => {
  it('decider report - a decision is counted and logged; the cluster’s gauges and forced checkpoints follow its samples', async () => {
    const { report, lines, metrics } = reporter();
    for (const r of steps([s(0), s(300, { checkpoints_requested: 3 })])) report.stepSaved('c1', undefined, r);
    const text = await metrics();
    expect(text).toMatch(/^walrus_decisions_total\{cluster="c1",action="increase",service="decider"\} 1$/m);
    expect(text).toMatch(/^walrus_forced_checkpoints_total\{cluster="c1",service="decider"\} 3$/m);
    expect(text).toMatch(/^walrus_max_wal_size_bytes\{cluster="c1",service="decider"\} 1073741824$/m);
    expect(text).toMatch(/^walrus_samples_evaluated_total\{outcome="baseline",service="decider"\} 1$/m);
    expect(lines.find((l) => l['decisionId'])).toMatchObject({ level: 30, cluster: 'c1', action: 'increase', newSizeMb: 4096 });
  });

  it('decider report - an invalid setting is warned about once per change, not at every sample', () => {
    const { report, lines } = reporter();
    const bad = { 'walrus.threshold': 'lots' };
    for (const r of steps([s(0, { settings: bad }), s(300, { settings: bad }), s(600, { settings: { 'walrus.threshold': 'many' } })])) report.stepSaved('c1', undefined, r);
    expect(lines.filter((l) => l['parameter'] === 'walrus.threshold').map((l) => l['value'])).toEqual(['lots', 'many']);
  });

  it('decider report - a sample dated ahead, met while catching up, says nothing (its receiver counts and dead-letters it)', async () => {
    const { report, lines, metrics } = reporter();
    const ahead = step({ state: initialState(), sample: s(3600), defaults: DEFAULT_POLICY, nowMs: Date.parse(at(0)), maxSkewMs: 300_000, stored: { seq: 1, atMs: Date.parse(at(0)) } });
    expect(ahead.outcome.kind).toBe('clock_ahead');
    report.stepSaved('c1', undefined, ahead);
    expect(lines).toEqual([]);
    expect(await metrics()).not.toMatch(/walrus_samples_evaluated_total\{/);
  });
});
