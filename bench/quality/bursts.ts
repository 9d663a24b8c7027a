/** The bursts shape: --bursts x (--burst s of pgbench, --quiet s of nothing), from 32 MB. */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseCheckpointLog } from './checkpoint-log.js';
import { relativeCheckpoints, walForcedTimes } from './cycles.js';
import { burstFigures, formatBurstTable, type Burst, type BurstFigures } from './figures.js';
import { burstGoals, type GoalResult } from './goals.js';
import { armLabel, describeChanges, progress, recordArm, runArm, START_MB, type Context, type ShapeReport } from './context.js';
import { scaled, WALRUS_ARMS, type Options } from './options.js';
import type { ArmRecord } from './results.js';
import { pgbenchRun } from './workload.js';

export async function runBursts(ctx: Context): Promise<void> {
  const { o, pgc } = ctx;
  const burst = scaled(o, o.burst);
  const quiet = scaled(o, o.quiet);
  for (const arm of o.arms.filter((a) => a === 'none' || WALRUS_ARMS.includes(a))) {
    const outputs: string[] = [];
    const run = await runArm(ctx, 'bursts', arm, 'arm', START_MB, async (elapsed) => {
      const bursts: Burst[] = [];
      for (let i = 0; i < o.bursts; i++) {
        const start = elapsed();
        progress(`bursts / ${arm}: burst ${i + 1} of ${o.bursts} (${burst} s), then ${quiet} s quiet`);
        outputs.push((await pgbenchRun(pgc, o.clients, burst)).output);
        const end = elapsed();
        await sleep(quiet * 1000);
        bursts.push({ start, end, quietEnd: elapsed() });
      }
      return bursts;
    });
    progress(`bursts / ${arm}: max_wal_size ${describeChanges(run.points)}`);
    const interval = arm === 'multiplicative' ? 30 : WALRUS_ARMS.includes(arm) ? o.sampleInterval : 0;
    recordArm(ctx, run, { shape: 'bursts', arm, role: 'arm', label: armLabel(arm, o), startMb: START_MB, sampleIntervalSec: interval, load: { kind: 'bursts', bursts: run.result } }, outputs.join('\n'));
  }
}

export function reportBursts(records: readonly ArmRecord[], o: Options): ShapeReport {
  const rows: { arm: string; f: BurstFigures }[] = [];
  const goals: GoalResult[] = [];
  for (const r of records) {
    if (r.load.kind !== 'bursts') continue;
    const bursts = r.load.bursts;
    const checkpoints = relativeCheckpoints(parseCheckpointLog(r.checkpointLog), r.t0Ms);
    const f = { ...burstFigures(r.points, bursts), forcedLog: walForcedTimes(checkpoints, bursts[0]?.start ?? 0, bursts.at(-1)?.quietEnd ?? 0).length };
    rows.push({ arm: r.label, f });
    if (WALRUS_ARMS.includes(r.arm)) goals.push(...burstGoals(f).map((g) => ({ ...g, arm: r.arm, shape: 'bursts' as const })));
  }
  const text = [
    `## Bursts: ${o.bursts} x (${scaled(o, o.burst)} s of pgbench, ${o.clients} clients; ${scaled(o, o.quiet)} s quiet), from 32 MB\n`,
    formatBurstTable(rows),
    '',
    'forced in bursts 2+: each later burst from its start to its end; changes over the bursts: from the first burst start to the end of the last burst.',
    '',
  ].join('\n');
  return { text, goals };
}
