import type { Alert, ConfigWarning, Decision, Effect, StepResult } from '@walrus/core';
import type { Logger } from '@walrus/runtime';
import { readingsOf, type DeciderMetrics } from './metrics.js';

const MB = 1024 * 1024;

/**
 * What a decider says about the steps it saved: metrics, gauges and logs,
 * from what core's step() returned (the decisions and alerts themselves
 * went out before the state was saved).
 */
export class StepReport {
  /** The last warnings logged per cluster: said once per change, not once per sample. */
  private readonly warned = new Map<string, string>();

  constructor(
    private readonly metrics: DeciderMetrics,
    private readonly log: Logger,
  ) {}

  /** One saved step of `cluster`, for the sample of `member` (absent for single-host clusters). */
  stepSaved(cluster: string, member: string | undefined, r: StepResult): void {
    // Dated ahead: the decider that received it counts and dead-letters it; met while catching up, it is only passed over.
    if (r.outcome.kind === 'clock_ahead') return;
    const m = this.metrics;
    this.warnings(cluster, r.warnings);
    m.evaluations.inc({ outcome: r.outcome.kind });
    if (r.clockWentBack !== null) {
      m.clockSkew.inc({ cluster, reason: 'back' });
      this.log.warn({ cluster, ...(r.readings ? { collectedAt: r.readings.sampleAt } : {}) }, r.clockWentBack);
    }
    const fields = { cluster, ...(member !== undefined ? { member } : {}) };
    if (r.decision) this.decision(r.decision, fields);
    // A change of primary, or a stale old primary, is worth seeing without debug logs.
    else if (r.outcome.kind === 'failover') this.log.info({ ...fields, outcome: r.outcome.kind }, r.outcome.reason);
    else if (r.outcome.kind === 'split_brain') this.log.warn({ ...fields, outcome: r.outcome.kind }, r.outcome.reason);
    else this.log.debug({ ...fields, outcome: r.outcome.kind }, r.outcome.reason);
    this.readings(cluster, r);
    for (const a of r.alerts) this.alert(a);
    for (const e of r.effects) this.effect(e);
  }

  /** A change's effect published: counted, its figures as gauges, and logged (a warning when it did not help). */
  private effect(e: Effect): void {
    this.metrics.effects.inc({ cluster: e.cluster, verdict: e.verdict, flag: e.flag ?? '' });
    const g = readingsOf(this.metrics.readings, e.cluster);
    g.effectForcedPerHour = { before: e.before.forced_per_hour, after: e.after.forced_per_hour };
    const fields = {
      cluster: e.cluster,
      decisionId: e.decision_id,
      action: e.action,
      verdict: e.verdict,
      flag: e.flag,
      forcedPerHourBefore: e.before.forced_per_hour,
      forcedPerHourAfter: e.after.forced_per_hour,
    };
    if (e.verdict === 'not_helped') this.log.warn(fields, e.reason);
    else this.log.info(fields, e.reason);
  }

  private warnings(cluster: string, warnings: ConfigWarning[]): void {
    readingsOf(this.metrics.readings, cluster).invalidOverrides = warnings.length;
    const signature = warnings.map((w) => w.message).join('\n');
    if ((this.warned.get(cluster) ?? '') === signature) return;
    this.warned.set(cluster, signature);
    for (const w of warnings) this.log.warn({ cluster, parameter: w.parameter, value: w.value, allowed: w.allowed }, w.message);
  }

  private decision(d: Decision, fields: { cluster: string; member?: string }): void {
    this.metrics.decisions.inc({ cluster: d.cluster, action: d.action });
    this.log.info(
      { ...fields, decisionId: d.id, action: d.action, oldSizeMb: d.old_size_mb, newSizeMb: d.new_size_mb, forcedCheckpoints: d.forced_checkpoints },
      d.reason,
    );
  }

  /** The cluster's gauges and its forced-checkpoint counter. */
  private readings(cluster: string, r: StepResult): void {
    const x = r.readings;
    if (x === null) return;
    const g = readingsOf(this.metrics.readings, cluster);
    if (x.maxWalSizeMb !== null) g.maxWalSizeBytes = x.maxWalSizeMb * MB;
    if (x.maxAllowedMb !== null) g.maxAllowedBytes = x.maxAllowedMb * MB;
    g.sampleTimeSec = Date.parse(x.sampleAt) / 1000;
    if (x.disk) {
      if (x.disk.usedBytes !== undefined) g.walDiskUsedBytes = x.disk.usedBytes;
      g.walDiskBudgetBytes = x.disk.budgetBytes;
      if (x.disk.slots !== undefined) g.slotRetainedBytes = x.disk.slots;
      if (x.disk.archiverFailing !== undefined) g.archiverFailing = x.disk.archiverFailing === null ? null : x.disk.archiverFailing ? 1 : 0;
      if (x.disk.archiverFailing !== undefined) {
        g.archiverBacklogSegments = x.disk.archiverBacklog?.segments ?? null;
        g.archiverBacklogBytes = x.disk.archiverBacklog?.bytes ?? null;
      }
      if (x.disk.slotKeepMb !== undefined) g.slotKeepBytes = x.disk.slotKeepMb < 0 ? null : x.disk.slotKeepMb * MB;
      if (x.disk.forecast !== undefined) g.forecastSeconds = x.disk.forecast.etaSec;
      if (x.disk.lostSlots !== undefined) g.lostSlots = x.disk.lostSlots;
    }
    // Also by 0: the series then exists from the cluster's first sample, so that
    // increase() counts its first forced checkpoints (a series that appears
    // with them would hide them from the dashboard and deploy/prometheus/alerts.yml).
    this.metrics.forcedCheckpoints.inc({ cluster }, x.forcedCheckpoints);
    const insight = r.insight;
    if (!insight) return;
    if (insight.walRateBytesPerSec !== null) g.walRateBytesPerSec = insight.walRateBytesPerSec;
    if (insight.requiredSizeMb !== null) g.requiredSizeBytes = insight.requiredSizeMb * MB;
    g.profile = insight.profile ?? '';
    if (r.profileChange) {
      const { from, to } = r.profileChange;
      this.log.info({ cluster, profile: to, previousProfile: from }, to === null ? 'time profile ended' : 'time profile active');
    }
  }

  /** An alert published (the sample path's, or the no_samples sweep's): counted and logged. */
  alert(a: Alert): void {
    this.metrics.alerts.inc({ cluster: a.cluster, kind: a.kind, state: a.state });
    const fields = { cluster: a.cluster, alertId: a.id, kind: a.kind, state: a.state, ...(a.slot !== undefined ? { slot: a.slot } : {}) };
    if (a.state === 'firing') this.log.warn(fields, a.detail);
    else this.log.info(fields, a.detail);
  }
}
