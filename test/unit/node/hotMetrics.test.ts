import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { HotCounter, HotHistogram } from '../../../src/node/hotMetrics.js';

const AWKWARD = ['plain', 'quote " inside', 'back \\ slash', 'new\nline', 'unicode ☃', ''];

describe('hot-path metrics', () => {
  it('expose exactly what prom-client exposes for the same updates', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const hotCounter = new HotCounter('calls_total', 'calls', ['node', 'method'], ours);
    const counter = new Counter({ name: 'calls_total', help: 'calls', labelNames: ['node', 'method'], registers: [theirs] });
    const buckets = [0.001, 0.01, 0.1, 1];
    const hotHistogram = new HotHistogram('wait_seconds', 'wait', ['mode'], buckets, ours);
    const histogram = new Histogram({ name: 'wait_seconds', help: 'wait', labelNames: ['mode'], buckets, registers: [theirs] });

    AWKWARD.forEach((method, i) => {
      hotCounter.series('n1', method).value += i + 1;
      counter.inc({ node: 'n1', method }, i + 1);
    });
    for (const [mode, values] of [
      ['read', [0, 0.001, 0.0011, 0.05, 0.5, 7]],
      ['write "x"', [2]],
    ] as const) {
      const series = hotHistogram.series(mode);
      for (const v of values) {
        series.observe(v);
        histogram.observe({ mode }, v);
      }
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const families = parsePrometheusText(await ours.metrics());
    expect(families.get('wait_seconds')?.type).toBe('histogram');
  });

  it('a series looked up twice is the same series, and exists at zero before its first update', async () => {
    const registry = new Registry();
    const c = new HotCounter('x_total', 'x', ['mode'], registry);
    expect(c.series('read')).toBe(c.series('read'));
    c.series('write');
    expect(await registry.metrics()).toContain('x_total{mode="write"} 0');
  });
});
