// Prometheus metrics of the worker: the Grafana dashboard only queries metrics the worker exports,
// and /metrics of a real worker parses and moves when a person is provisioned in Samba AD.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { METRIC_NAMES, TenureMetrics } from '../metrics/tenure-metrics.js';
import { parseMetrics, sampleValue, seriesNames } from './support/prometheus-text.js';
import { eventually, startHarness, type Harness } from './support/tenure-harness.js';

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or strings. */
function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutMatchers = withoutStrings.replace(/\{[^}]*\}/g, '{}').replace(/\b(by|without)\s*\([^)]*\)/g, '');
  const names: string[] = [];
  for (const m of withoutMatchers.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\(|\{|\[|\)|,|$|\s))/g)) {
    const word = m[0];
    const next = withoutMatchers.slice((m.index ?? 0) + word.length).trimStart()[0];
    if (next === '(' || PROMQL_WORDS.has(word) || /^\d/.test(word)) continue;
    names.push(word);
  }
  return names;
}

describe('Grafana dashboard', () => {
  test('every query names only metrics the worker exports', async () => {
    const metrics = new TenureMetrics({
      rulesVersion: 'test',
      persons: { count: async () => 0 },
    });
    const exported = seriesNames(parseMetrics(await metrics.render()));
    for (const name of METRIC_NAMES) assert.ok(exported.has(name), `${name} is exported`);

    const dashboard = JSON.parse(
      readFileSync(new URL('../deploy/grafana/tenure-dashboard.json', import.meta.url), 'utf8'),
    );
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    assert.ok(exprs.length >= 10, 'the dashboard has its panels');
    for (const expr of exprs) {
      const names = metricNamesIn(expr);
      assert.ok(names.length > 0, `query names a metric: ${expr}`);
      for (const name of names) assert.ok(exported.has(name), `${name} (in ${expr}) is exported by the worker`);
    }
  });
});

describe('/metrics on a real worker', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness(
      `
version: "metrics-1"
timeZone: Europe/Amsterdam
targets:
  - id: ad
    kind: ad
rules:
  - name: all staff
    entitlements:
      ad:
        accountAccess: true
`,
      { TENURE_METRICS_PORT: '0' },
    );
  });
  after(async () => {
    await h?.stop();
  });

  const scrape = async () => {
    const url = h.runtime.metricsServer?.url;
    assert.ok(url, 'the worker serves /metrics');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    return parseMetrics(await res.text());
  };

  test('parses, carries the rules version, and moves when a person is provisioned', async () => {
    assert.match(h.runtime.metricsServer?.url ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape();
    assert.equal(sampleValue(before, 'tenure_rules_info', { version: 'metrics-1' }), 1);
    const createdBefore = sampleValue(before, 'tenure_target_actions_total', { target: 'ad', action: 'create' });
    const activeBefore = sampleValue(before, 'tenure_persons', { state: 'active' });
    const addsBefore = sampleValue(before, 'tenure_ldap_operations_total', { target: 'ad', operation: 'add' });

    const key = h.key();
    h.writeExport([{ key, nick: 'Metrics', family: 'Meter', contract: `${key}c1`, start: '2020-01-01', dept: 'ZORG' }]);
    const poll = await h.poll();
    assert.equal(poll.outcome, 'accepted');
    await eventually(
      () => h.adUser(key),
      (u) => u !== undefined,
    );

    const after = await eventually(
      () => scrape(),
      (m) =>
        sampleValue(m, 'tenure_target_actions_total', { target: 'ad', action: 'create', outcome: 'success' }) >
        createdBefore,
    );
    assert.ok(
      sampleValue(after, 'tenure_target_actions_total', { target: 'ad', action: 'create', outcome: 'success' }) >
        createdBefore,
      'the AD create was counted',
    );
    assert.equal(sampleValue(after, 'tenure_polls_total', { source: h.sourceId, outcome: 'accepted' }), 1);
    assert.equal(sampleValue(after, 'tenure_poll_changes_total', { source: h.sourceId, kind: 'added' }), 1);
    assert.equal(sampleValue(after, 'tenure_poll_records_read_total', { source: h.sourceId }), 1);
    assert.equal(
      sampleValue(after, 'tenure_poll_duration_seconds_count', { source: h.sourceId, outcome: 'accepted' }),
      1,
    );
    assert.ok(
      sampleValue(after, 'tenure_activity_duration_seconds_count', { activity: 'reconcileAccount', outcome: 'ok' }) >=
        1,
    );

    // The AD connector's own operation counts: the new hire's add and its searches.
    assert.ok(
      sampleValue(after, 'tenure_ldap_operations_total', { target: 'ad', operation: 'add' }) >= addsBefore + 1,
      'the LDAP add was counted',
    );
    assert.ok(sampleValue(after, 'tenure_ldap_operations_total', { target: 'ad', operation: 'search' }) >= 1);

    // Visibility is eventually consistent and cached for 15 s: wait for the active count to move.
    const moved = await eventually(
      () => scrape(),
      (m) => sampleValue(m, 'tenure_persons', { state: 'active' }) > activeBefore,
      60_000,
      1000,
    );
    assert.ok(sampleValue(moved, 'tenure_persons', { state: 'active' }) > activeBefore, 'one more active person');
  });
});

describe('the text-format reader the tests rely on', () => {
  test('rejects what Prometheus would reject', async () => {
    const { parseMetrics: parse } = await import('./support/prometheus-text.js');
    assert.equal(parse('# TYPE a counter\na{x="1"} 2\n')[0]?.samples[0]?.value, 2);
    assert.throws(() => parse('a{x="1} 2\n'), /unterminated/);
    assert.throws(() => parse('a{x=1} 2\n'), /bad label/);
    assert.throws(() => parse('a 1,5\n'), /bad value/);
    assert.throws(() => parse('1a 2\n'), /no metric name/);
    assert.throws(() => parse('# TYPE a histogram\na_bucket 1\n'), /without le/);
    assert.throws(() => parse('# TYPE a counter\na 1\n# TYPE b gauge\nb 1\na 2\n'), /not together/);
    assert.throws(() => parse('a 1'), /end with a newline/);
  });
});
