/**
 * A run's tables and goals, from its raw output alone (results.ts): what
 * `pnpm bench:quality` prints at the end of a run, and what
 * `pnpm bench:quality:report DIR` prints again from DIR at any later time.
 */
import type { ShapeReport } from './context.js';
import { reportBursts } from './bursts.js';
import { reportDaily } from './daily.js';
import { formatGoals } from './goals.js';
import { reportMaintenance } from './maintenance.js';
import { MAINTENANCE_SHAPES, STEADY_SHAPES, type MaintenanceShape, type Shape, type SteadyShape } from './options.js';
import type { ArmRecord, Results } from './results.js';
import { reportRecurring } from './recurring.js';
import { reportSteady } from './steady.js';
import { reportStorm } from './storm.js';

function reportShape(shape: Shape, records: readonly ArmRecord[], r: Results): ShapeReport {
  const o = r.run.options;
  if ((STEADY_SHAPES as readonly string[]).includes(shape)) return reportSteady(shape as SteadyShape, records, o);
  if ((MAINTENANCE_SHAPES as readonly string[]).includes(shape)) return reportMaintenance(shape as MaintenanceShape, records, o);
  if (shape === 'bursts') return reportBursts(records, o);
  if (shape === 'storm') return reportStorm(records, o);
  if (shape === 'recurring') return reportRecurring(records, o);
  return reportDaily(records, o);
}

export function renderReport(r: Results): string {
  const o = r.run.options;
  // Shapes in the order the run took them; a shape without a recorded arm (a run cut short) prints nothing.
  const shapes = o.shapes.filter((s) => r.arms.some((a) => a.shape === s));
  const reports = shapes.map((s) => reportShape(s, r.arms.filter((a) => a.shape === s), r));
  const out = reports.map((x) => x.text);
  const goals = reports.flatMap((x) => x.goals);
  out.push('## Goals (issues 13 and 25)\n');
  if (goals.length === 0) out.push('no walrus arm ran: nothing to judge');
  else {
    out.push(formatGoals(goals));
    const met = goals.filter((g) => g.pass).length;
    const problems = goals.filter((g) => g.problem !== undefined).length;
    const failed = goals.length - met - problems;
    out.push('', `${met} of ${goals.length} goals met${failed > 0 ? `, ${failed} not` : ''}${problems > 0 ? `, ${problems} not judged (measurement problem)` : ''}.`);
  }
  if (o.timeScale !== 1) out.push(`every phase scaled by ${o.timeScale}: the goals are those of the full run, so PASS/FAIL here is indicative only.`);
  out.push('');
  out.push(`walrus settings: ${Object.entries(r.run.walrusSettings).map(([k, v]) => `${k}=${v}`).join(' ')}; other parameters at their defaults.`);
  out.push(`server: ${r.run.server}; started ${r.run.startedAt}; load average: ${r.run.loadBefore} before${r.run.loadAfter === undefined ? '' : `, ${r.run.loadAfter} after`}`);
  return `${out.join('\n')}\n`;
}
