/**
 * `walrus simulate` reproduces a bench:quality arm: the decisions the
 * decider published during a real recorded run (bench/quality/fixtures,
 * written by `pnpm bench:quality:fixture`, see bench/README.md) come out of
 * the replay of that run's samples, with the arm's decider settings, one for
 * one. After a change to the engine, re-record the fixture.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulate } from '@walrus/cli';
import { describe, expect, it } from 'vitest';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const CLUSTER = 'q-bursts-adaptive';

interface DecisionLine {
  action: string;
  old_size_mb: number;
  new_size_mb: number;
  sample_at: string;
  algorithm: string;
}

const essentials = (d: DecisionLine) => ({ sample_at: d.sample_at, action: d.action, old_size_mb: d.old_size_mb, new_size_mb: d.new_size_mb });

function readEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    env[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return env;
}

describe('bench quality - walrus simulate reproduces a recorded arm', () => {
  it('simulate --recorded - the same decisions, from the same samples, as the decider published', async () => {
    const env = readEnv(join(FIXTURES, `${CLUSTER}.env`));
    const algorithm = env['WALRUS_ALGORITHM'];
    if (algorithm === undefined) throw new Error('the fixture names no WALRUS_ALGORITHM');
    const recorded = readFileSync(join(FIXTURES, `${CLUSTER}.decisions.jsonl`), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as DecisionLine);
    // A run that decided nothing would prove nothing.
    expect(recorded.filter((d) => d.action === 'increase' || d.action === 'capped').length).toBeGreaterThan(0);

    let stdout = '';
    let stderr = '';
    const code = await runSimulate(['--file', join(FIXTURES, `${CLUSTER}.samples.jsonl`), '--recorded', '--algorithm', algorithm, '--json'], env, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const [sim] = JSON.parse(stdout) as Array<{ cluster: string; algorithm: string; decisions: DecisionLine[] }>;
    expect(sim?.cluster).toBe(CLUSTER);
    expect(sim?.decisions.map(essentials)).toEqual(recorded.map(essentials));
    for (const d of recorded) expect(d.algorithm).toBe(algorithm);
  });
});
