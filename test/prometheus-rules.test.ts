import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERTS_FILE, ALERTS_TEST_FILE, alertRules, alertRuleTests, PROMETHEUS_CONFIG_FILE, ROOT } from './harness/deploy-files.js';
import { promtool } from './harness/prometheus.js';

// deploy/prometheus as Debian's promtool sees it; test/prometheus-queries.test.ts
// runs the same rules in a real Prometheus scraping a real walrus.
const rules = alertRules();

describe('prometheus rules - deploy/prometheus/alerts.yml', () => {
  it('promtool check rules accepts every rule', () => {
    const run = promtool(['check', 'rules', ALERTS_FILE]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('promtool test rules passes the unit tests of deploy/prometheus/alerts.test.yml', () => {
    const run = promtool(['test', 'rules', ALERTS_TEST_FILE]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });

  it('every alert is unit-tested both firing (labels and annotations) and not firing', () => {
    const { ruleFiles, tests } = alertRuleTests();
    expect(ruleFiles).toEqual(['alerts.yml']);
    for (const r of rules) {
      const mine = tests.filter((t) => t.alertname === r.alert);
      const firing = mine.filter((t) => (t.exp_alerts ?? []).length > 0);
      expect(firing.length, `${r.alert}: a test where it fires`).toBeGreaterThan(0);
      for (const t of firing) for (const a of t.exp_alerts ?? []) expect(Object.keys(a.exp_annotations ?? {}).sort(), r.alert).toEqual(['description', 'summary']);
      expect(mine.filter((t) => (t.exp_alerts ?? []).length === 0).length, `${r.alert}: a test where it does not fire`).toBeGreaterThan(0);
    }
    expect(new Set(tests.map((t) => t.alertname))).toEqual(new Set(rules.map((r) => r.alert)));
  });

  it('every alert waits (for), says how bad (severity) and what to do, naming what it is about', () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.alert, r.alert).toMatch(/^Walrus[A-Z]\w+$/);
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect((r.annotations?.description ?? '').length, r.alert).toBeGreaterThan(100);
      // The labels the alert keeps (its outer aggregation) are named in what it says.
      const by = [...r.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(',').map((l) => l.trim()));
      for (const label of new Set(by.filter((l) => ['cluster', 'slot', 'member', 'service', 'consumer', 'instance'].includes(l)))) {
        expect(r.annotations?.summary, `${r.alert} summary names ${label}`).toContain(`{{ $labels.${label} }}`);
        expect(r.annotations?.description, `${r.alert} description names ${label}`).toContain(`{{ $labels.${label} }}`);
      }
      // A hysteresis reads the alert's own ALERTS series, nobody else's.
      for (const m of r.expr.matchAll(/ALERTS\{alertname="(\w+)"/g)) expect(m[1], r.alert).toBe(r.alert);
    }
  });
});

describe('prometheus rules - docs/OPERATIONS.md', () => {
  it('its "Alerting rules" table lists every alert with its for and severity', () => {
    const operations = readFileSync(`${ROOT}docs/OPERATIONS.md`, 'utf8');
    const section = operations.slice(operations.indexOf('\n## Alerting rules\n'), operations.indexOf('\n## When things go away\n'));
    const rows = [...section.matchAll(/^\| `(Walrus\w+)` \| (\w+) \| (\w+) \|/gm)].map((m) => ({ alert: m[1], for: m[2], severity: m[3] }));
    expect(rows).toEqual(rules.map((r) => ({ alert: r.alert, for: r.for, severity: r.labels?.severity })));
  });
});

describe('prometheus rules - deploy/prometheus/prometheus.yml', () => {
  it('promtool check config accepts it, with the rules beside it', () => {
    const run = promtool(['check', 'config', PROMETHEUS_CONFIG_FILE]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    const config = parse(readFileSync(PROMETHEUS_CONFIG_FILE, 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string }> };
    expect(config.rule_files).toEqual(['alerts.yml']);
    // WalrusTargetDown watches this job.
    expect(config.scrape_configs.map((s) => s.job_name)).toContain('walrus');
    expect(rules.find((r) => r.alert === 'WalrusTargetDown')?.expr).toContain('up{job="walrus"}');
  });
});
