/**
 * What a runner here tells its caller about each thing it starts, so that
 * the caller can show the output when something fails (the tests print it
 * for a failed test; a benchmark may print it when a run fails).
 */
export interface LogSource {
  /** What it is, e.g. `walrus decider (pid 1234)`. */
  name: string;
  /** Every line so far. */
  lines(): string[];
  /** Still running: a source started before a test is only shown for it while it runs. */
  running(): boolean;
  /** Say "no output" when it printed nothing (default true; not for a process's stderr). */
  reportSilence?: boolean;
}

/** Where a runner hands its log sources; nowhere by default. */
export type OnLogSource = (source: LogSource) => void;
