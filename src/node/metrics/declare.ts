import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Readiness } from '../../cluster/member.js';
import type { ShardLockStats } from '../../cluster/shardLock.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import { HotCounter, HotHistogram } from '../hotMetrics.js';
import type { HostStats } from '../objects/objectHost.js';

/** What the scrape-time gauges read; bound once the node's parts exist. */
export interface MetricsSources {
  snapshot(): ClusterSnapshot;
  hostStats(): HostStats;
  readiness(): Readiness;
  lockStats(): ShardLockStats;
  stuckTimeoutMs: number;
}

/**
 * Declares each metric once (type, name, help, labels, buckets) in one registry. The `/metrics` text is a contract
 * (names, labels, help and buckets are read by dashboards, alert rules and the console), and the exposition lists
 * metrics in declaration order, so the areas declare theirs in a fixed order.
 */
export class MetricDeclarer {
  constructor(
    private readonly registry: Registry,
    private readonly sources: () => MetricsSources | null,
  ) {}

  counter<L extends string = never>(name: string, help: string, labels: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames: labels, registers: [this.registry] });
  }

  gauge<L extends string = never>(name: string, help: string, labels: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames: labels, registers: [this.registry] });
  }

  histogram<L extends string = never>(name: string, help: string, labels: readonly L[], buckets: readonly number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames: labels, buckets: [...buckets], registers: [this.registry] });
  }

  /**
   * A gauge computed when scraped, from the bound sources (nothing before they are bound). A labelled gauge starts
   * each scrape empty, so series that no longer apply disappear; an unlabelled one keeps its last value.
   */
  scraped<L extends string = never>(name: string, help: string, labels: readonly L[], read: (gauge: Gauge<L>, sources: MetricsSources) => void): void {
    const sources = this.sources;
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [this.registry],
      collect() {
        if (labels.length > 0) this.reset();
        const s = sources();
        if (s !== null) read(this, s);
      },
    });
  }

  /** A counter for the per-call hot path (see hotMetrics.ts). */
  hotCounter(name: string, help: string, labels: readonly string[]): HotCounter {
    return new HotCounter(name, help, labels, this.registry);
  }

  hotHistogram(name: string, help: string, labels: readonly string[], buckets: readonly number[]): HotHistogram {
    return new HotHistogram(name, help, labels, buckets, this.registry);
  }
}
