import { formatKeyValues } from '@walrus/runtime';
import type { DemoEvent, Phase, Snapshot } from './state.js';

/** What the demo started, for the header and footer. */
export interface DemoInfo {
  version: number;
  /** The control service's live page. */
  pageUrl: string;
  /** As root: the copy of PostgreSQL's binaries the postgres OS user runs; null when it runs them from the package. */
  pgBinDir: string | null;
  natsPid: number | undefined;
  natsUrl: string;
  pgPid: number | undefined;
  pgUrl: string;
  tempDir: string;
  logFile: string;
  initialMaxWalSizeMb: number;
  checkpointTimeoutSec: number;
  sampleIntervalSec: number;
  threshold: number;
  cooldownSec: number;
  loadMbPerSec: number;
  loadConnections: number;
  durationSec: number | null;
}

const ESC = '\x1b[';
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/y;
const ANSI_ALL = /\x1b\[[0-9;?]*[A-Za-z]/g;

function visibleLength(s: string): number {
  return [...s.replace(ANSI_ALL, '')].length;
}

type Paint = (s: string) => string;
interface Palette {
  bold: Paint;
  dim: Paint;
  red: Paint;
  green: Paint;
  yellow: Paint;
  cyan: Paint;
}

function palette(color: boolean): Palette {
  const sgr = (on: string, off: string): Paint => (color ? (s) => `${ESC}${on}m${s}${ESC}${off}m` : (s) => s);
  return { bold: sgr('1', '22'), dim: sgr('2', '22'), red: sgr('31', '39'), green: sgr('32', '39'), yellow: sgr('33', '39'), cyan: sgr('36', '39') };
}

/** mm:ss, or h:mm:ss from an hour on. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function mb(n: number | null): string {
  return n === null ? '?' : `${n}MB`;
}

function rate(bytesPerSec: number | null): string {
  return bytesPerSec === null ? '…' : `${(bytesPerSec / 1024 ** 2).toFixed(1)} MB/s`;
}

function ago(ms: number | null): string {
  return ms === null ? 'never' : `${Math.round(ms / 1000)} s ago`;
}

/** Cuts a line to `width` visible characters (the last one then `…`), keeping its escape sequences. */
export function fit(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let visible = 0;
  for (let i = 0; i < line.length; ) {
    ANSI.lastIndex = i;
    const esc = ANSI.exec(line);
    if (esc) {
      // Kept also after the cut, so that no colour bleeds into the next line.
      out += esc[0];
      i += esc[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i) ?? 32);
    i += ch.length;
    if (visible < width - 1) out += ch;
    else if (visible === width - 1) out += '…';
    visible += 1;
  }
  return out;
}

/** One line per event: the time since the start, then what happened. */
export function eventText(e: DemoEvent, startedAtMs: number): string {
  const at = clock(e.atMs - startedAtMs);
  if (e.kind === 'decision') {
    const move = `${mb(e.oldMb)} -> ${mb(e.newMb)}`;
    if (e.action === 'skipped' && e.blockedBy) return `[${at}] decision skipped ${move} (${e.blockedBy}): ${e.reason}`;
    return `[${at}] decision ${e.action} ${move}: ${e.reason}`;
  }
  if (e.status === 'applied') return `[${at}] applied: max_wal_size = ${mb(e.maxWalSizeMb)}`;
  return `[${at}] apply ${e.status}${e.error ? `: ${e.error}` : ''}`;
}

export function phaseText(s: Snapshot): string {
  switch (s.phase) {
    case 'waiting':
      return 'write load running; waiting for the first forced checkpoint';
    case 'forced':
      return `checkpoints are forced: the WAL of one checkpoint_timeout does not fit in max_wal_size (${mb(s.maxWalSizeMb)}); walrus grows it`;
    case 'settling':
      return `no forced checkpoint for ${Math.round((s.lastForcedAgoMs ?? 0) / 1000)} s; watching whether checkpoints stay timed`;
    case 'timed':
      return `checkpoints are timed again: no forced checkpoint for ${Math.round((s.lastForcedAgoMs ?? 0) / 1000)} s, ${s.timedSinceLastForced} timed since; max_wal_size ${mb(s.maxWalSizeMb)}`;
  }
}

/** The plain progress line (not a TTY), also the summary's figures. */
export function progressText(s: Snapshot): string {
  return [
    `[${clock(s.elapsedMs)}] max_wal_size ${mb(s.maxWalSizeMb)}`,
    `checkpoints forced ${s.forced}, timed ${s.timed}`,
    `forced in the last minute ${s.forcedLastMinute}`,
    `WAL ${rate(s.walBytesPerSec)}`,
    s.phase,
  ].join(' · ');
}

export function headerLines(info: DemoInfo): string[] {
  return [
    `walrus demo: PostgreSQL ${info.version} with max_wal_size = ${mb(info.initialMaxWalSizeMb)} and checkpoint_timeout = ${info.checkpointTimeoutSec}s under a write load of ~${info.loadMbPerSec} MB/s of WAL`,
    ...formatKeyValues(
      [
        ['nats-server', `pid ${info.natsPid ?? '?'}, ${info.natsUrl}`],
        [`PostgreSQL ${info.version}`, `pid ${info.pgPid ?? '?'}, ${info.pgUrl}`],
        ...(info.pgBinDir ? [['PostgreSQL runs as', `the postgres OS user, from a copy of its binaries in ${info.pgBinDir}`] as [string, string]] : []),
        ['live page', info.pageUrl],
        ['temp dir', `${info.tempDir} (removed at the end)`],
        ['walrus logs', info.logFile],
        ['demo pace', `a sample every ${info.sampleIntervalSec} s, threshold ${info.threshold} forced checkpoint per sample, cooldown ${info.cooldownSec} s`],
      ],
      '  ',
    ).split('\n'),
    info.durationSec === null ? 'Ctrl-C stops and removes everything.' : `stops after ${info.durationSec} s, or on Ctrl-C`,
  ];
}

function phaseMark(phase: Phase, p: Palette): string {
  switch (phase) {
    case 'waiting':
      return p.dim('○');
    case 'forced':
      return p.yellow('●');
    case 'settling':
      return p.cyan('◐');
    case 'timed':
      return p.green('✔');
  }
}

function eventRow(e: DemoEvent, startedAtMs: number, p: Palette): string {
  const at = p.dim(clock(e.atMs - startedAtMs));
  if (e.kind === 'decision') {
    const move = `${mb(e.oldMb)} → ${mb(e.newMb)}`.padEnd(16);
    const action = e.action.padEnd(9);
    if (e.action === 'skipped' || e.action === 'dry_run') {
      const why = e.blockedBy ? `blocked by ${e.blockedBy === 'hourly_limit' ? 'the hourly limit' : e.blockedBy}` : e.reason;
      return `   ${at}  decision ${p.dim(action)} ${p.dim(move)} ${p.dim(why)}`;
    }
    return `   ${at}  decision ${p.bold(action)} ${move} ${p.dim(e.reason)}`;
  }
  const status = e.status.padEnd(9);
  if (e.status === 'applied') return `   ${at}  outcome  ${p.green(status)} max_wal_size = ${p.bold(mb(e.maxWalSizeMb))}`;
  return `   ${at}  outcome  ${p.red(status)} ${e.error ?? ''}`;
}

/** The live view: one frame, as lines (the caller positions them). */
export function renderFrame(
  s: Snapshot,
  info: DemoInfo,
  opts: { width: number; color: boolean; startedAtMs: number; status?: string; events?: number },
): string[] {
  const p = palette(opts.color);
  const width = Math.max(40, opts.width);
  const title = ` ${p.bold('walrus demo')} · PostgreSQL ${info.version} · ${clock(s.elapsedMs)}`;
  const right = opts.status ?? (info.durationSec === null ? 'Ctrl-C stops' : `stops at ${clock(info.durationSec * 1000)} · Ctrl-C stops`);
  const gap = Math.max(2, width - visibleLength(title) - visibleLength(right) - 1);
  const sizes = s.sizes.length > 1 ? `${s.sizes.join(' → ')}MB` : `started at ${mb(info.initialMaxWalSizeMb)}`;
  const timeout = s.checkpointTimeoutSec ?? info.checkpointTimeoutSec;
  const perTimeout = s.walBytesPerSec === null ? '' : `, ~${Math.round((s.walBytesPerSec * timeout) / 1024 ** 2)}MB per checkpoint_timeout (${timeout}s)`;
  const timeline = [...s.timeline].map((ch) => (ch === 'F' ? p.yellow(ch) : ch === 'T' ? p.green(ch) : p.dim(ch))).join('');
  const phase = phaseText(s);
  const paintedPhase = s.phase === 'timed' ? p.green(p.bold(phase)) : s.phase === 'forced' ? p.yellow(phase) : phase;
  const events = s.events.slice(-(opts.events ?? 8));

  const lines = [
    `${title}${' '.repeat(gap)}${p.dim(right)}`,
    ` ${p.dim('─'.repeat(width - 2))}`,
    `  max_wal_size   ${p.bold(mb(s.maxWalSizeMb))}   ${p.dim(`${sizes} · ${s.appliedChanges} change${s.appliedChanges === 1 ? '' : 's'} applied`)}`,
    `  checkpoints    forced ${p.yellow(String(s.forced))} · timed ${p.green(String(s.timed))} · forced in the last minute ${s.forcedLastMinute} · last forced ${ago(s.lastForcedAgoMs)}`,
    `  WAL            ${rate(s.walBytesPerSec)}${p.dim(perTimeout)}`,
    `  last 2 min     ${timeline}  ${p.dim('F forced, T timed')}`,
    '',
    `  ${phaseMark(s.phase, p)} ${paintedPhase}`,
    '',
    `  ${p.bold('decisions and outcomes')} ${p.dim('(a plain NATS subscription to walrus.decision.> and walrus.applied.>)')}`,
    ...(events.length === 0 ? [`   ${p.dim('none yet: the collector samples every ' + String(info.sampleIntervalSec) + ' s')}`] : events.map((e) => eventRow(e, opts.startedAtMs, p))),
    '',
    `  live page ${p.bold(info.pageUrl)}`,
    p.dim(`  nats-server pid ${info.natsPid ?? '?'} · PostgreSQL pid ${info.pgPid ?? '?'} · load: ${info.loadConnections} connections, ~${info.loadMbPerSec} MB/s of WAL`),
    p.dim(`  ${info.tempDir} (removed at the end) · walrus logs: ${info.logFile}`),
  ];
  return lines.map((l) => fit(l, width));
}
