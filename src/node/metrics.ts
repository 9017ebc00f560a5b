import { collectDefaultMetrics, type Counter, type Histogram, Registry } from 'prom-client';
import type { MemberMetrics } from '../cluster/member.js';
import type { ShardLockHooks } from '../cluster/shardLock.js';
import { declareClusterMetrics } from './metrics/cluster.js';
import { MetricDeclarer, type MetricsSources } from './metrics/declare.js';
import { declareLifecycleMetrics } from './metrics/lifecycle.js';
import { declareLockMetrics } from './metrics/locks.js';
import { type ObjectOperation, ObjectMetrics } from './metrics/objects.js';

export type { MetricsSources } from './metrics/declare.js';

/**
 * The node's Prometheus registry: what its `/metrics` serves (the console's summary of a scrape is the view's
 * `NodeMetrics`). Upstream names and labels are kept where upstream has them (their fixed semantics are documented
 * in the README); cluster-wide figures are computed from the etcd snapshot at scrape time. The metrics are declared
 * by area, in this order (the order of the exposition): objects and calls, cluster-wide shard figures, shard
 * lifecycle, shard locks.
 */
export class NodeMetricsRegistry {
  readonly registry = new Registry();
  private sources: MetricsSources | null = null;
  private readonly objects: ObjectMetrics;
  /** Hooks for the cluster member (lifecycle, watcher, shard writer). */
  readonly member: MemberMetrics;
  /** Hooks for the shard lock. */
  readonly lock: ShardLockHooks;

  constructor(readonly node: string) {
    collectDefaultMetrics({ register: this.registry });
    const m = new MetricDeclarer(this.registry, () => this.sources);
    this.objects = new ObjectMetrics(m, node);
    declareClusterMetrics(m, node);
    this.member = declareLifecycleMetrics(m, node);
    this.lock = declareLockMetrics(m);
  }

  get operationTimeouts(): Counter<'node_addr' | 'operation'> {
    return this.objects.operationTimeouts;
  }

  /** Object store failures by operation (`load`, `save`, `delete`, `probe`) and store code (`SQLITE_FULL`, ...). */
  get persistenceErrors(): Counter<'op' | 'code'> {
    return this.objects.persistenceErrors;
  }

  get stopDuration(): Histogram<'node_addr' | 'status'> {
    return this.objects.stopDuration;
  }

  bind(sources: MetricsSources): void {
    this.sources = sources;
  }

  recordCall(type: string, method: string, shardId: number | null, status: 'success' | 'failure', seconds: number): void {
    this.objects.recordCall(type, method, shardId, status, seconds);
  }

  recordOperation(operation: ObjectOperation, status: 'success' | 'error' | 'timeout', seconds: number): void {
    this.objects.recordOperation(operation, status, seconds);
  }

  metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
