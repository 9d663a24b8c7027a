import type { DemoEvent, Snapshot } from './state.js';
import { clock, eventText, headerLines, phaseText, progressText, renderFrame, type DemoInfo } from './view.js';

/** Where the demo shows itself: a live frame on a terminal, plain lines otherwise. */
export interface DemoScreen {
  /** Once everything runs. */
  begin(info: DemoInfo, startedAtMs: number): void;
  /** Once a second. */
  update(s: Snapshot): void;
  /** A shutdown step, or anything else worth a line. */
  note(text: string): void;
  /** The last frame stays on screen; the terminal is as it was before. */
  end(s: Snapshot | null): void;
  /** For a forced exit: undo terminal modes, synchronously. */
  restore(): void;
}

type Out = Pick<NodeJS.WriteStream, 'write'> & { columns?: number; rows?: number };

const ALT_SCREEN_ON = '\x1b[?1049h';
const ALT_SCREEN_OFF = '\x1b[?1049l';
const CURSOR_HIDE = '\x1b[?25l';
const CURSOR_SHOW = '\x1b[?25h';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
/** Lines of a frame that are not events. */
const FIXED_LINES = 15;

/**
 * The live view in the terminal's alternate screen (as top or less do), so
 * redraws never fight with scrollback or a resize; at the end the last
 * frame is printed on the normal screen, where it stays.
 */
export class TtyScreen implements DemoScreen {
  private info: DemoInfo | undefined;
  private startedAtMs = 0;
  private status: string | undefined;
  private last: Snapshot | undefined;
  private active = false;

  constructor(
    private readonly out: Out,
    private readonly color: boolean,
  ) {}

  begin(info: DemoInfo, startedAtMs: number): void {
    this.info = info;
    this.startedAtMs = startedAtMs;
    this.active = true;
    this.out.write(ALT_SCREEN_ON + CURSOR_HIDE);
  }

  update(s: Snapshot): void {
    this.last = s;
    if (!this.active) return;
    const lines = this.frame(s, this.out.rows ?? 40);
    this.out.write(HOME + lines.map((l) => l + CLEAR_LINE_END).join('\n') + CLEAR_BELOW);
  }

  note(text: string): void {
    // Shown in the frame's title line while stopping; printed plainly before the view began.
    if (!this.active) {
      this.out.write(`${text}\n`);
      return;
    }
    this.status = text;
    if (this.last) this.update(this.last);
  }

  end(s: Snapshot | null): void {
    if (this.active) {
      this.active = false;
      this.out.write(CURSOR_SHOW + ALT_SCREEN_OFF);
    }
    this.status = 'stopped';
    const final = s ?? this.last;
    if (final && this.info) this.out.write(`${this.frame(final, Infinity).join('\n')}\n`);
  }

  restore(): void {
    if (this.active) this.out.write(CURSOR_SHOW + ALT_SCREEN_OFF);
    this.active = false;
  }

  private frame(s: Snapshot, rows: number): string[] {
    if (!this.info) return [];
    // The last frame stays in the scrollback: it may show the whole story.
    const events = Number.isFinite(rows) ? Math.max(1, Math.min(8, rows - FIXED_LINES)) : 20;
    return renderFrame(s, this.info, {
      width: this.out.columns ?? 100,
      color: this.color,
      startedAtMs: this.startedAtMs,
      events,
      ...(this.status !== undefined ? { status: this.status } : {}),
    });
  }
}

/** Not a terminal (a pipe, a file, a test): one line per event, phase change, and a progress line every few seconds. */
export class PlainScreen implements DemoScreen {
  private startedAtMs = 0;
  private readonly printed = new WeakSet<DemoEvent>();
  private lastPhase: Snapshot['phase'] | undefined;
  private lastProgressMs = -Infinity;

  constructor(
    private readonly out: Out,
    private readonly progressEveryMs = 5_000,
  ) {}

  begin(info: DemoInfo, startedAtMs: number): void {
    this.startedAtMs = startedAtMs;
    this.out.write(`${headerLines(info).join('\n')}\n`);
  }

  update(s: Snapshot): void {
    for (const e of s.events) {
      if (this.printed.has(e)) continue;
      this.printed.add(e);
      this.out.write(`${eventText(e, this.startedAtMs)}\n`);
    }
    if (s.phase !== this.lastPhase) {
      if (this.lastPhase !== undefined || s.phase !== 'waiting') this.out.write(`[${clock(s.elapsedMs)}] ${phaseText(s)}\n`);
      this.lastPhase = s.phase;
    }
    if (s.elapsedMs - this.lastProgressMs >= this.progressEveryMs) {
      this.lastProgressMs = s.elapsedMs;
      this.out.write(`${progressText(s)}\n`);
    }
  }

  note(text: string): void {
    this.out.write(`${text}\n`);
  }

  end(s: Snapshot | null): void {
    if (s) this.update(s);
  }

  restore(): void {
    // Nothing to undo on a pipe.
  }
}

