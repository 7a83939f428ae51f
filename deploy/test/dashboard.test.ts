/**
 * The Grafana dashboard against the code: it parses, takes its datasource from the
 * DS_PROMETHEUS input, and every metric and label it queries exists (the metric
 * definitions in the services' sources, plus prom-client's default process metrics as
 * the service registry exposes them). runtime.test.ts also checks the names against
 * what running services actually expose.
 */
import { describe, expect, it } from 'vitest';
import {
  baseMetric,
  codeMetrics,
  defaultMetrics,
  expressions,
  type Json,
  loadDashboard,
  metricNames,
} from './support/metrics.js';

/** Labels Prometheus adds to every series (target labels) and our registry's default label. */
const TARGET_LABELS = ['service', 'instance', 'job', 'namespace', 'pod', 'container', 'node'];

/** Grafana replaces this with the chosen datasource on import (a literal, not a JS template). */
const DS_UID = ['$', '{DS_PROMETHEUS}'].join('');

describe('Grafana dashboard', async () => {
  const dashboard = loadDashboard();
  const code = codeMetrics();
  const known = new Map([...code, ...(await defaultMetrics())]);
  const exprs = expressions(dashboard);

  it('is valid dashboard JSON with a DS_PROMETHEUS datasource input', () => {
    expect(dashboard.title).toBe('Sediment');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({
        name: 'DS_PROMETHEUS',
        type: 'datasource',
        pluginId: 'prometheus',
      }),
    ]);
    const dsVar = dashboard.templating.list.find((v: Json) => v.name === 'DS_PROMETHEUS');
    expect(dsVar).toMatchObject({ type: 'datasource', query: 'prometheus' });
  });

  it('queries through the DS_PROMETHEUS datasource everywhere', () => {
    const panels = dashboard.panels.filter((p: Json) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(10);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: DS_UID });
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource, p.title).toEqual(p.datasource);
    }
    for (const v of dashboard.templating.list.filter((x: Json) => x.type === 'query')) {
      expect(v.datasource).toEqual({ type: 'prometheus', uid: DS_UID });
    }
  });

  it('has unique panel ids and a layout without overlapping panels', () => {
    const ids = dashboard.panels.map((p: Json) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = dashboard.panels.map((p: Json) => ({ title: p.title, ...p.gridPos }));
    for (const b of boxes) {
      expect(b.x + b.w, b.title).toBeLessThanOrEqual(24);
      expect(b.w > 0 && b.h > 0, b.title).toBe(true);
    }
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i];
        const b = boxes[j];
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `"${a.title}" overlaps "${b.title}"`).toBe(false);
      }
    }
  });

  it('queries only metrics the code defines', () => {
    expect(code.size).toBeGreaterThan(20);
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `${where}: no sediment_ metric in ${expr}`).toBeGreaterThan(0);
      for (const n of names)
        expect(baseMetric(n, known), `${where}: ${n} does not exist`).toBeDefined();
    }
  });

  it('uses only labels those metrics carry, histograms through _bucket and le', () => {
    for (const { where, expr } of exprs) {
      const series = metricNames(expr).map((n) => ({ n, ...baseMetric(n, known)! }));
      const labelsOf = (s: (typeof series)[number]) =>
        new Set([...s.def.labels, ...TARGET_LABELS, ...(s.suffix === 'bucket' ? ['le'] : [])]);
      // Matchers directly after a metric name.
      for (const m of expr.matchAll(/\b(sediment_[a-z0-9_]+)\{([^}]*)\}/g)) {
        const s = series.find((x) => x.n === m[1])!;
        for (const matcher of m[2]!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          expect(labelsOf(s).has(matcher[1]!), `${where}: ${m[1]} has no label ${matcher[1]}`).toBe(
            true,
          );
        }
      }
      // by (...) / without (...) labels: carried by at least one metric of the expression.
      for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of m[1]!
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean)) {
          expect(
            series.some((s) => labelsOf(s).has(label)),
            `${where}: no metric in ${expr} has label ${label}`,
          ).toBe(true);
        }
      }
      if (expr.includes('histogram_quantile')) {
        expect(
          series.every((s) => s.suffix === 'bucket'),
          `${where}: histogram_quantile needs _bucket`,
        ).toBe(true);
        expect(expr, where).toMatch(/by \((?:[^)]*\b)?le\b/);
      }
      // Counters are read through rate/increase, never as raw totals.
      for (const s of series.filter((x) => x.def.type === 'counter')) {
        expect(expr, `${where}: counter ${s.n} outside rate()/increase()`).toMatch(
          new RegExp(`(?:rate|increase)\\(${s.n}\\b`),
        );
      }
    }
  });

  it('covers ingest, latency, queue, compaction, errors and resources', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    for (const metric of [
      'sediment_acceptor_rows_total',
      'sediment_acceptor_requests_total',
      'sediment_acceptor_request_duration_seconds_bucket',
      'sediment_writer_put_duration_seconds_bucket',
      'sediment_queue_lag_seconds',
      'sediment_queue_depth_entries',
      'sediment_queue_depth_bytes',
      'sediment_compaction_rows_total',
      'sediment_compaction_files_total',
      'sediment_compaction_round_duration_seconds_bucket',
      'sediment_writer_errors_total',
      'sediment_compaction_quarantined_entries_total',
      'sediment_queue_flush_failures_total',
      'sediment_acceptor_inflight_bytes',
      'sediment_process_resident_memory_bytes',
      'sediment_process_cpu_seconds_total',
    ]) {
      expect(all, metric).toContain(metric);
    }
    expect(all).toMatch(/histogram_quantile\(0\.5,/);
    expect(all).toMatch(/histogram_quantile\(0\.99,/);
  });
});
