import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the per-call hot path. prom-client hashes the label object and validates it on every
 * inc and observe (several microseconds per object call for the six updates a call makes); here a caller looks a
 * series (one label set) up once and then only adds numbers. They register in a prom-client Registry through its
 * metric interface (`name`, `get()`), so the exposition text is prom-client's own.
 */
type Labels = Record<string, string>;

interface MetricValue {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly values: MetricValue[];
  readonly aggregator: 'sum';
}

abstract class HotMetric<S> {
  private readonly bySeries = new Map<string, { readonly labels: Labels; readonly series: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of one label set, values in `labelNames` order; created (at zero) on first use. Keep it. */
  series(...values: string[]): S {
    const key = values.join('\u0000');
    let entry = this.bySeries.get(key);
    if (entry === undefined) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
      entry = { labels, series: this.create() };
      this.bySeries.set(key, entry);
    }
    return entry.series;
  }

  protected entries(): Iterable<{ readonly labels: Labels; readonly series: S }> {
    return this.bySeries.values();
  }

  protected abstract create(): S;
}

export interface CounterSeries {
  value: number;
}

export class HotCounter extends HotMetric<CounterSeries> {
  readonly type = 'counter';

  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const { labels, series } of this.entries()) values.push({ labels, value: series.value });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }

  protected create(): CounterSeries {
    return { value: 0 };
  }
}

export class HistogramSeries {
  /** Per bucket (not cumulative); the last slot counts observations above every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram extends HotMetric<HistogramSeries> {
  readonly type = 'histogram';
  private readonly les: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
    this.les = [...buckets.map(String), '+Inf'];
  }

  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const { labels, series } of this.entries()) {
      let cumulative = 0;
      series.counts.forEach((n, i) => {
        cumulative += n;
        values.push({ labels: { le: this.les[i]!, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }
}
