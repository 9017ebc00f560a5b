import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramBuckets, histogramQuantile } from '../../../../src/core/metrics/histogram.js';
import { sampleValue, selectSamples, sumValues } from '../../../../src/core/metrics/query.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';

const AWKWARD = ['plain', 'quote " inside', 'back \\ slash', 'trailing \\', 'new\nline', 'unicode ☃ 𝄞 ü', '', '{braces}, commas="x"', '\\n literal'];

async function populatedRegistry(): Promise<Registry> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const calls = new Counter({
    name: 'goverse_method_calls_total',
    help: 'Method calls with a \\ backslash and a\nnewline in the help',
    labelNames: ['node', 'method_name'],
    registers: [registry],
  });
  AWKWARD.forEach((value, i) => calls.inc({ node: 'n1', method_name: value }, i + 1));
  const shards = new Gauge({ name: 'goverse_shards_total', help: 'shards', labelNames: ['node'], registers: [registry] });
  shards.set({ node: '10.0.0.1:50051' }, 2731);
  shards.set({ node: 'weird "node"' }, -1.5e-7);
  new Gauge({ name: 'not_a_number', help: 'NaN gauge', registers: [registry] }).set(Number.NaN);
  new Gauge({ name: 'infinite', help: 'Inf gauge', registers: [registry] }).set(Number.POSITIVE_INFINITY);
  const lockWait = new Histogram({
    name: 'goverse_shard_lock_wait_seconds',
    help: 'lock wait',
    labelNames: ['mode'],
    buckets: [0.001, 0.01, 0.1, 1],
    registers: [registry],
  });
  for (const v of [0.0005, 0.002, 0.002, 0.05, 0.5, 2]) lockWait.observe({ mode: 'write' }, v);
  lockWait.observe({ mode: 'read "quoted"\n' }, 0.0001);
  const duration = new Summary({ name: 'rpc_duration_seconds', help: 'rpc', labelNames: ['op'], registers: [registry] });
  for (let i = 1; i <= 100; i++) duration.observe({ op: 'call' }, i / 100);
  new Summary({ name: 'empty_summary', help: 'no observations', registers: [registry] });
  new Counter({ name: 'never_incremented_total', help: 'vector without children', labelNames: ['x'], registers: [registry] });
  return registry;
}

describe('parsing real prom-client 15 output', () => {
  it('agrees with the registry on every family, type, label value and number', async () => {
    const registry = await populatedRegistry();
    const text = await registry.metrics();
    const families = parsePrometheusText(text);
    const expected = await registry.getMetricsAsJSON();
    expect([...families.keys()].sort()).toEqual(expected.map((m) => m.name).sort());
    for (const metric of expected) {
      const family = families.get(metric.name)!;
      expect(family.type, metric.name).toBe(String(metric.type));
      expect(family.help).toBe(metric.help);
      // Default process metrics move between the two collections; their samples are checked for shape only.
      if (/^(process|nodejs)_/.test(metric.name)) {
        for (const s of family.samples) expect(s.name.startsWith(metric.name), s.name).toBe(true);
        continue;
      }
      const got = family.samples.map((s) => ({ name: s.name, labels: { ...s.labels }, value: s.value }));
      const want = metric.values.map((v) => ({
        name: (v as { metricName?: string }).metricName ?? metric.name,
        labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])),
        value: v.value,
      }));
      expect(got, metric.name).toEqual(want);
    }
  });

  it('gives the console what it asks for', async () => {
    const families = parsePrometheusText(await (await populatedRegistry()).metrics());
    expect(sampleValue(families, 'goverse_shards_total', { node: '10.0.0.1:50051' })).toBe(2731);
    expect(sampleValue(families, 'goverse_shards_total', { node: 'weird "node"' })).toBe(-1.5e-7);
    expect(sampleValue(families, 'not_a_number')).toBeNaN();
    expect(sampleValue(families, 'infinite')).toBe(Infinity);
    expect(sampleValue(families, 'goverse_method_calls_total', { method_name: 'new\nline' })).toBe(5);
    expect(sumValues(families, 'goverse_method_calls_total', { node: 'n1' })).toBe(45);
    expect(sampleValue(families, 'goverse_shard_lock_wait_seconds_count', { mode: 'write' })).toBe(6);
    const buckets = histogramBuckets(selectSamples(families, 'goverse_shard_lock_wait_seconds_bucket', { mode: 'write' }));
    expect(buckets).toEqual([
      { le: 0.001, count: 1 },
      { le: 0.01, count: 3 },
      { le: 0.1, count: 4 },
      { le: 1, count: 5 },
      { le: Infinity, count: 6 },
    ]);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.01);
    expect(histogramQuantile(0.99, buckets)).toBe(1);
    expect(sampleValue(families, 'rpc_duration_seconds', { op: 'call', quantile: '0.5' })).toBeCloseTo(0.5, 1);
    expect(sampleValue(families, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(families, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    expect(selectSamples(families, 'nodejs_version_info')[0]?.labels.version).toBe(process.version);
    expect(families.get('never_incremented_total')).toMatchObject({ type: 'counter', samples: [] });
  });
});
