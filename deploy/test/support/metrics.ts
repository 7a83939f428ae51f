/**
 * The dashboard's queries and the metrics the code defines, for the dashboard checks
 * (dashboard.test.ts) and the scrape of running services (runtime.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRegistry } from '@sediment/service-kit';
import { listFiles, REPO, readRepo } from './repo.js';

export interface MetricDef {
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary';
  readonly labels: readonly string[];
}

/** `new Counter({ name: 'sediment_…', labelNames: [...] })` in every non-test source file. */
export function codeMetrics(): Map<string, MetricDef> {
  const out = new Map<string, MetricDef>();
  const sources = [...listFiles('packages'), ...listFiles('services')].filter(
    (f) =>
      /\/src\/.*\.ts$/.test(f) &&
      !f.endsWith('.test.ts') &&
      !f.includes('/node_modules/') &&
      !f.includes('/dist/'),
  );
  for (const file of sources) {
    const text = readFileSync(path.join(REPO, file), 'utf8');
    const chunks = text.split(/\bnew (Counter|Gauge|Histogram|Summary)\b/);
    for (let i = 1; i < chunks.length; i += 2) {
      const type = chunks[i]!.toLowerCase() as MetricDef['type'];
      const body = chunks[i + 1]!;
      const name = /name:\s*'(sediment_\w+)'/.exec(body)?.[1];
      if (!name) continue;
      const labelList = /labelNames:\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      const labels = [...labelList.matchAll(/'(\w+)'/g)].map((m) => m[1]!);
      out.set(name, { type, labels });
    }
  }
  return out;
}

/** prom-client's default metrics as our registry names them (prefix sediment_). */
export async function defaultMetrics(): Promise<Map<string, MetricDef>> {
  const registry = createRegistry('probe');
  const json = await registry.getMetricsAsJSON();
  const out = new Map<string, MetricDef>();
  for (const m of json) {
    const labels = new Set<string>();
    for (const v of m.values ?? []) for (const k of Object.keys(v.labels ?? {})) labels.add(k);
    out.set(m.name, {
      type: String(m.type) as MetricDef['type'],
      labels: [...labels].filter((l) => l !== 'service'),
    });
  }
  registry.clear();
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: dashboard JSON
export type Json = any;

export const DASHBOARD_FILE = 'deploy/grafana/sediment-dashboard.json';

export function loadDashboard(): Json {
  return JSON.parse(readRepo(DASHBOARD_FILE));
}

/** Every PromQL expression of the dashboard (panel targets and query variables). */
export function expressions(dashboard: Json): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: Json[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? [])
        out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type === 'query')
      out.push({ where: `variable ${v.name}`, expr: v.query?.query ?? v.query });
  }
  return out;
}

/** Metric names in an expression (sediment_… tokens that are not label values). */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set([...withoutStrings.matchAll(/\bsediment_[a-z0-9_]+\b/g)].map((m) => m[0]))];
}

/** The metric a series name belongs to (histogram _bucket/_sum/_count → the histogram). */
export function baseMetric(
  name: string,
  known: ReadonlyMap<string, MetricDef>,
): { base: string; def: MetricDef; suffix: string } | undefined {
  const def = known.get(name);
  if (def) return { base: name, def, suffix: '' };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m) {
    const d = known.get(m[1]!);
    if (d && (d.type === 'histogram' || d.type === 'summary'))
      return { base: m[1]!, def: d, suffix: m[2]! };
  }
  return undefined;
}
