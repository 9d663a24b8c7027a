/**
 * The raw output of a run, kept so that every figure can be recomputed
 * afterwards (`pnpm bench:quality:report DIR`): bench/results/<timestamp>/
 * holds run.json (options, environment, the arms in order) and one
 * directory per arm: arm.json (what the load did, the bench's own decisions
 * such as the oracle's preset), points.jsonl (the monitor, one line a
 * second), checkpoints.log (the server log's checkpoint lines during the
 * arm), load.txt (pgbench's or sysbench's own output) and, for a walrus arm,
 * walrus/ (the samples, decisions and decider settings; see walrus.ts).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Burst, DailyPhases } from './figures.js';
import type { Point } from './monitor.js';
import type { RecurringBatch } from './recurring-figures.js';
import type { Arm, Options, Shape } from './options.js';

/** What each shape's load did, in seconds since the arm's t = 0. */
export type LoadRecord =
  | { kind: 'steady'; driver: string; durationSec: number; rate: number | null; transactions: number; tps: number }
  | { kind: 'bursts'; bursts: Burst[] }
  | { kind: 'storm'; start: number; end: number; checkpoints: number }
  | { kind: 'daily'; phases: DailyPhases }
  | { kind: 'recurring'; periodSec: number; settleSec: number; batches: RecurringBatch[] }
  | {
      kind: 'maintenance';
      operation: string;
      loadStart: number;
      loadEnd: number;
      /** The WAL position right before and right after the operation (the monitor's 1 s points would cut a 1 s operation short). */
      loadStartLsnBytes: number;
      loadEndLsnBytes: number;
      end: number;
      afterSec: number;
    };

export type ArmRole = 'calibration' | 'oracle' | 'arm';

export interface ArmMeta {
  /** The arm's directory under the run's, e.g. 03-steady-adaptive. */
  dir: string;
  shape: Shape;
  arm: Arm;
  role: ArmRole;
  label: string;
  /** max_wal_size the arm started from (MB). */
  startMb: number;
  /** Epoch ms of t = 0 (right after the arm's CHECKPOINT). */
  t0Ms: number;
  /** walrus's sample interval for this arm (s); 0 without walrus. */
  sampleIntervalSec: number;
  load: LoadRecord;
  /** A decision the bench took, in words (e.g. why an oracle was run again). */
  note?: string;
}

export interface ArmRecord extends ArmMeta {
  points: Point[];
  /** Raw server log lines about checkpoints, from just before t = 0 to after the arm. */
  checkpointLog: string[];
  /** The load tool's output, as printed. */
  loadOutput: string;
}

export interface RunMeta {
  startedAt: string;
  options: Options;
  walrusSettings: Record<string, string>;
  server: string;
  loadBefore: string;
  loadAfter?: string;
  /** Arm directories in the order they ran. */
  arms: string[];
}

export class ResultsWriter {
  private readonly meta: RunMeta;

  constructor(
    readonly dir: string,
    meta: Omit<RunMeta, 'arms'>,
  ) {
    mkdirSync(dir, { recursive: true });
    this.meta = { ...meta, arms: [] };
    this.flush();
  }

  /** The directory of the next arm (created), named <nn>-<shape>-<arm>[-<role>]. */
  nextArmDir(shape: Shape, arm: Arm, role: ArmRole): string {
    const n = String(this.meta.arms.length + 1).padStart(2, '0');
    const name = `${n}-${shape}-${arm}${role === 'arm' ? '' : `-${role}`}`;
    mkdirSync(join(this.dir, name, 'walrus'), { recursive: true });
    return name;
  }

  writeArm(r: ArmRecord): void {
    const d = join(this.dir, r.dir);
    const { points, checkpointLog, loadOutput, ...meta } = r;
    writeFileSync(join(d, 'arm.json'), `${JSON.stringify(meta, null, 2)}\n`);
    writeFileSync(join(d, 'points.jsonl'), points.map((p) => `${JSON.stringify(p)}\n`).join(''));
    writeFileSync(join(d, 'checkpoints.log'), checkpointLog.map((l) => `${l}\n`).join(''));
    writeFileSync(join(d, 'load.txt'), loadOutput);
    this.meta.arms.push(r.dir);
    this.flush();
  }

  /** The load average after the run, in run.json before the report is computed from it. */
  finish(loadAfter: string): void {
    this.meta.loadAfter = loadAfter;
    this.flush();
  }

  writeReport(report: string): void {
    writeFileSync(join(this.dir, 'report.md'), report);
  }

  private flush(): void {
    writeFileSync(join(this.dir, 'run.json'), `${JSON.stringify(this.meta, null, 2)}\n`);
  }
}

export interface Results {
  run: RunMeta;
  arms: ArmRecord[];
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** A run's raw output read back; an arm directory run.json does not list (an arm cut off by Ctrl-C) is ignored. */
export function readResults(dir: string): Results {
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunMeta;
  const present = new Set(readdirSync(dir));
  const arms = run.arms.map((name): ArmRecord => {
    if (!present.has(name)) throw new Error(`${dir}: run.json lists ${name}, which is not there`);
    const d = join(dir, name);
    const meta = JSON.parse(readFileSync(join(d, 'arm.json'), 'utf8')) as ArmMeta;
    return {
      ...meta,
      points: lines(readFileSync(join(d, 'points.jsonl'), 'utf8')).map((l) => JSON.parse(l) as Point),
      checkpointLog: lines(readFileSync(join(d, 'checkpoints.log'), 'utf8')),
      loadOutput: readFileSync(join(d, 'load.txt'), 'utf8'),
    };
  });
  return { run, arms };
}
