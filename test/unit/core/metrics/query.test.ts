import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { histogramBuckets, histogramQuantile, type Bucket } from '../../../../src/core/metrics/histogram.js';
import { matchesLabels, sampleValue, selectSamples, sumByLabel, sumValues } from '../../../../src/core/metrics/query.js';
import { increase, rate } from '../../../../src/core/metrics/rate.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';

const SCRAPE = parsePrometheusText(`
# TYPE calls_total counter
calls_total{node="a",status="ok"} 10
calls_total{node="a",status="error"} 2
calls_total{node="b",status="ok"} 5
calls_total{status="ok"} 1
# TYPE wait_seconds histogram
wait_seconds_bucket{mode="read",le="0.1"} 4
wait_seconds_bucket{mode="read",le="1"} 8
wait_seconds_bucket{mode="read",le="+Inf"} 10
wait_seconds_count{mode="read"} 10
wait_seconds_bucket{mode="write",le="0.1"} 0
wait_seconds_bucket{mode="write",le="1"} 2
wait_seconds_bucket{mode="write",le="+Inf"} 2
`);

describe('queries over a scrape', () => {
  it('matches labels like PromQL equality matchers ("" matches a missing label)', () => {
    expect(matchesLabels({ a: '1', b: '2' }, { a: '1' })).toBe(true);
    expect(matchesLabels({ a: '1' }, { a: '2' })).toBe(false);
    expect(matchesLabels({ a: '1' }, { b: '' })).toBe(true);
    expect(matchesLabels({ a: '1' }, { toString: '' })).toBe(true);
  });

  it('finds values by labels and sums over labels', () => {
    expect(sampleValue(SCRAPE, 'calls_total', { node: 'a', status: 'error' })).toBe(2);
    expect(sampleValue(SCRAPE, 'calls_total', { node: 'zz' })).toBeUndefined();
    expect(sampleValue(SCRAPE, 'missing_total')).toBeUndefined();
    expect(sumValues(SCRAPE, 'calls_total')).toBe(18);
    expect(sumValues(SCRAPE, 'calls_total', { status: 'ok' })).toBe(16);
    expect(sumValues(SCRAPE, 'calls_total', { node: 'c' })).toBeUndefined();
    expect(sumByLabel(SCRAPE, 'calls_total', 'node')).toEqual(new Map([['a', 12], ['b', 5], ['', 1]]));
    expect(sampleValue(SCRAPE, 'wait_seconds_count', { mode: 'read' })).toBe(10);
    expect(selectSamples(SCRAPE, 'wait_seconds_bucket', { mode: 'write' })).toHaveLength(3);
  });

  it('aggregates histogram buckets per bound across series', () => {
    expect(histogramBuckets(selectSamples(SCRAPE, 'wait_seconds_bucket'))).toEqual([
      { le: 0.1, count: 4 },
      { le: 1, count: 10 },
      { le: Infinity, count: 12 },
    ]);
  });
});

describe('histogramQuantile (PromQL histogram_quantile semantics)', () => {
  const b = (...pairs: [number, number][]): Bucket[] => pairs.map(([le, count]) => ({ le, count }));
  const read = histogramBuckets(selectSamples(SCRAPE, 'wait_seconds_bucket', { mode: 'read' }));

  it('interpolates linearly inside the bucket where the rank falls, from 0 below the first bound', () => {
    expect(histogramQuantile(0.5, read)).toBeCloseTo(0.325); // rank 5: second bucket, 1 of its 4 -> 0.1 + 0.9 * 0.25
    expect(histogramQuantile(0.2, read)).toBeCloseTo(0.05); // rank 2: first bucket [0, 0.1], half way
    expect(histogramQuantile(0.8, read)).toBeCloseTo(1);
    expect(histogramQuantile(0, b([1, 0], [2, 4], [Infinity, 4]))).toBe(1); // lower edge of the first non-empty bucket
  });

  it('answers the highest finite bound when the rank falls in +Inf', () => {
    expect(histogramQuantile(0.99, read)).toBe(1);
    expect(histogramQuantile(1, b([0.5, 1], [Infinity, 3]))).toBe(0.5);
  });

  it('returns the bound itself for a first bucket with a bound <= 0', () => {
    expect(histogramQuantile(0.1, b([-1, 5], [0, 8], [Infinity, 10]))).toBe(-1);
  });

  it('gives NaN without data, without +Inf, or with fewer than two buckets; infinities out of [0, 1]', () => {
    expect(histogramQuantile(0.5, b([1, 0], [Infinity, 0]))).toBeNaN();
    expect(histogramQuantile(0.5, b([1, 3], [2, 4]))).toBeNaN();
    expect(histogramQuantile(0.5, b([Infinity, 3]))).toBeNaN();
    expect(histogramQuantile(0.5, [])).toBeNaN();
    expect(histogramQuantile(Number.NaN, read)).toBeNaN();
    expect(histogramQuantile(-0.1, read)).toBe(-Infinity);
    expect(histogramQuantile(1.1, read)).toBe(Infinity);
  });

  it('treats counts that dip (a non-atomic scrape) as monotonic and ignores bucket order', () => {
    expect(histogramQuantile(0.5, b([Infinity, 10], [1, 7], [0.1, 8]))).toBeCloseTo(histogramQuantile(0.5, b([0.1, 8], [1, 8], [Infinity, 10])));
  });

  it('stays within the bounds and grows with q, whatever the buckets', () => {
    const buckets = fc
      .uniqueArray(fc.double({ min: 0.001, max: 1000, noNaN: true }), { minLength: 1, maxLength: 8 })
      .chain((bounds) => fc.array(fc.nat(1000), { minLength: bounds.length + 1, maxLength: bounds.length + 1 }).map((counts) => ({ bounds, counts })));
    fc.assert(
      fc.property(buckets, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), ({ bounds, counts }, q1, q2) => {
        const sorted = [...bounds].sort((x, y) => x - y);
        let acc = 0;
        const list: Bucket[] = [...sorted, Infinity].map((le, i) => ({ le, count: (acc += counts[i]!) }));
        const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
        const a = histogramQuantile(lo, list);
        const z = histogramQuantile(hi, list);
        if (acc === 0) {
          expect(a).toBeNaN();
          return;
        }
        expect(a).toBeGreaterThanOrEqual(0);
        expect(z).toBeLessThanOrEqual(sorted[sorted.length - 1]!);
        expect(z).toBeGreaterThanOrEqual(a - 1e-9);
      }),
    );
  });

  it('never throws on arbitrary buckets', () => {
    const anyNumber = fc.oneof(fc.double(), fc.constantFrom(Infinity, -Infinity, Number.NaN));
    fc.assert(fc.property(fc.array(fc.record({ le: anyNumber, count: anyNumber })), anyNumber, (list, q) => void histogramQuantile(q, list)));
  });
});

describe('rates between two scrapes', () => {
  const at = (text: string, atMs: number) => ({ families: parsePrometheusText(text), atMs });

  it('is the per-second increase summed over matching series', () => {
    const prev = at('c_total{n="a"} 10\nc_total{n="b"} 100', 1000);
    const cur = at('c_total{n="a"} 30\nc_total{n="b"} 160', 3000);
    expect(rate(prev, cur, 'c_total')).toBe(40);
    expect(rate(prev, cur, 'c_total', { n: 'a' })).toBe(10);
  });

  it('counts a counter reset and a new series from zero, and drops vanished series', () => {
    const prev = at('c_total{n="a"} 500\nc_total{n="gone"} 7', 0);
    const cur = at('c_total{n="a"} 20\nc_total{n="new"} 4', 2000);
    expect(rate(prev, cur, 'c_total')).toBe(12);
  });

  it('has no answer without elapsed time or without samples', () => {
    const s = at('c_total 1', 1000);
    expect(rate(s, s, 'c_total')).toBeUndefined();
    expect(rate(at('c_total 1', 0), at('other 1', 1000), 'c_total')).toBeUndefined();
  });

  it('gives windowed histogram quantiles through bucket increases', () => {
    const prev = parsePrometheusText('# TYPE w histogram\nw_bucket{le="0.1"} 100\nw_bucket{le="1"} 100\nw_bucket{le="+Inf"} 100');
    const cur = parsePrometheusText('# TYPE w histogram\nw_bucket{le="0.1"} 100\nw_bucket{le="1"} 110\nw_bucket{le="+Inf"} 110');
    const window = histogramBuckets(increase(selectSamples(prev, 'w_bucket'), selectSamples(cur, 'w_bucket')));
    expect(window).toEqual([
      { le: 0.1, count: 0 },
      { le: 1, count: 10 },
      { le: Infinity, count: 10 },
    ]);
    expect(histogramQuantile(0.5, window)).toBeCloseTo(0.55);
    // Since the process started, the median is still in the first bucket: rank 55 of its 100.
    expect(histogramQuantile(0.5, histogramBuckets(selectSamples(cur, 'w_bucket')))).toBeCloseTo(0.055);
  });
});
