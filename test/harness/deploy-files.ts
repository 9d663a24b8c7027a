import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * What deploy/prometheus and deploy/grafana ship, read the way Prometheus and
 * Grafana read them, for the tests that check them against real walrus
 * processes and a real Prometheus.
 */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PROMETHEUS_DIR = `${ROOT}deploy/prometheus`;
export const ALERTS_FILE = `${PROMETHEUS_DIR}/alerts.yml`;
export const ALERTS_TEST_FILE = `${PROMETHEUS_DIR}/alerts.test.yml`;
export const PROMETHEUS_CONFIG_FILE = `${PROMETHEUS_DIR}/prometheus.yml`;
export const DASHBOARDS_DIR = `${ROOT}deploy/grafana/dashboards`;

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(file = ALERTS_FILE): AlertRule[] {
  const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
}

export interface AlertRuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }>;
}

export function alertRuleTests(file = ALERTS_TEST_FILE): { ruleFiles: string[]; tests: AlertRuleTest[] } {
  const doc = parse(readFileSync(file, 'utf8')) as { rule_files: string[]; tests: Array<{ alert_rule_test?: AlertRuleTest[] }> };
  return { ruleFiles: doc.rule_files, tests: doc.tests.flatMap((t) => t.alert_rule_test ?? []) };
}

interface GrafanaPanel {
  title?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: GrafanaPanel[];
}

interface GrafanaVariable {
  name: string;
  type: string;
  includeAll?: boolean;
  allValue?: string;
  query?: string | { query?: string };
  definition?: string;
}

export interface Dashboard {
  file: string;
  title: string;
  /** Every panel with a PromQL target (rows' panels included), and each annotation query. */
  panels: Array<{ title: string; exprs: string[] }>;
  variables: GrafanaVariable[];
}

export function dashboards(dir = DASHBOARDS_DIR): Dashboard[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const doc = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as {
        title: string;
        panels?: GrafanaPanel[];
        templating?: { list?: GrafanaVariable[] };
        annotations?: { list?: Array<{ name?: string; expr?: string }> };
      };
      const panels: Dashboard['panels'] = [];
      // Rows hold their own panels when collapsed.
      const walk = (list: GrafanaPanel[]): void => {
        for (const p of list) {
          const exprs = (p.targets ?? []).map((t) => t.expr).filter((e): e is string => typeof e === 'string' && e.trim() !== '');
          if (exprs.length > 0) panels.push({ title: p.title ?? '(untitled)', exprs });
          if (p.panels) walk(p.panels);
        }
      };
      walk(doc.panels ?? []);
      // Annotation queries are PromQL too (Grafana's built-in annotations have none).
      for (const a of doc.annotations?.list ?? []) if (a.expr) panels.push({ title: `annotation ${a.name ?? ''}`, exprs: [a.expr] });
      return { file: f, title: doc.title, panels, variables: doc.templating?.list ?? [] };
    });
}

/**
 * A panel's expression as Grafana sends it to Prometheus: a multi-value
 * variable set to All becomes its allValue (the dashboard's default), and the
 * interval variables become the values Grafana gives them over a short time
 * range. Throws on any variable it does not know, so that a new one gets a
 * deliberate value here.
 */
export function grafanaExpr(expr: string, variables: GrafanaVariable[], intervals: { rateInterval: string; interval: string }): string {
  const values = new Map<string, string>([
    ['__rate_interval', intervals.rateInterval],
    ['__interval', intervals.interval],
  ]);
  for (const v of variables) {
    if (!v.includeAll) throw new Error(`dashboard variable $${v.name} has no All value: give it one in grafanaExpr`);
    values.set(v.name, v.allValue ?? '.*');
  }
  const out = expr.replace(/\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a: string | undefined, b: string | undefined, c: string | undefined) => {
    const name = a ?? b ?? c ?? '';
    const value = values.get(name);
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in ${expr}`);
    return value;
  });
  return out;
}
