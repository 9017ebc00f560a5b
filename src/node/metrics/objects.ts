import type { Counter, Histogram } from 'prom-client';
import type { CounterSeries, HistogramSeries, HotCounter, HotHistogram } from '../hotMetrics.js';
import type { MetricDeclarer } from './declare.js';

const CALL_BUCKETS = [0.001, 0.01, 0.1, 1, 10];
const OP_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30];
const STOP_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

export type ObjectOperation = 'CallObject' | 'CreateObject' | 'DeleteObject';

/** Objects, calls, the object API, the object store and stops (upstream names where upstream has them). */
export class ObjectMetrics {
  // Updated on every object call: hot-path metrics, their series looked up once per label set.
  private readonly methodCalls: HotCounter;
  private readonly methodDuration: HotHistogram;
  private readonly shardMethodCalls: HotCounter;
  private readonly operationDuration: HotHistogram;
  private readonly callSeries = new Map<string, { readonly calls: CounterSeries; readonly duration: HistogramSeries }>();
  private readonly shardCallSeries: (CounterSeries | undefined)[] = [];
  private readonly operationSeries = new Map<string, HistogramSeries>();
  readonly operationTimeouts: Counter<'node_addr' | 'operation'>;
  /** Object store failures by operation (`load`, `save`, `delete`, `probe`) and store code (`SQLITE_FULL`, ...). */
  readonly persistenceErrors: Counter<'op' | 'code'>;
  readonly stopDuration: Histogram<'node_addr' | 'status'>;

  constructor(
    m: MetricDeclarer,
    private readonly node: string,
  ) {
    m.scraped(
      'goverse_objects_total',
      'Active objects on this node by type and shard (a gauge: it goes down on eviction and deletion)',
      ['node', 'type', 'shard'],
      (g, s) => {
        for (const [type, perShard] of s.hostStats().objectsByTypeAndShard) {
          for (const [shard, count] of perShard) g.set({ node, type, shard: shard === null ? 'node' : String(shard) }, count);
        }
      },
    );
    const callLabels = ['node', 'object_type', 'method_name', 'status'];
    this.methodCalls = m.hotCounter('goverse_method_calls_total', 'Object method calls executed on this node', callLabels);
    this.methodDuration = m.hotHistogram(
      'goverse_method_call_duration',
      'Object method call duration in seconds (upstream name, without a unit suffix)',
      callLabels,
      CALL_BUCKETS,
    );
    this.shardMethodCalls = m.hotCounter('goverse_shard_method_calls_total', 'Object method calls executed on this node, by shard', ['shard']);
    this.operationDuration = m.hotHistogram(
      'goverse_operation_duration_seconds',
      'Duration of object API operations (CallObject, CreateObject, DeleteObject) served by this node',
      ['node_addr', 'operation', 'status'],
      OP_BUCKETS,
    );
    this.operationTimeouts = m.counter('goverse_operation_timeouts_total', 'Object API operations that ended in a timeout', ['node_addr', 'operation']);
    this.persistenceErrors = m.counter(
      'goverse_persistence_errors_total',
      'Object store operations that failed (StaleEpochError fencing aside), by operation and store error code',
      ['op', 'code'],
    );
    this.stopDuration = m.histogram(
      'goverse_node_stop_duration_seconds',
      'Wall time of a node stop (served until the ops server closes)',
      ['node_addr', 'status'],
      STOP_BUCKETS,
    );
  }

  recordCall(type: string, method: string, shardId: number | null, status: 'success' | 'failure', seconds: number): void {
    const key = `${type}\u0000${method}\u0000${status}`;
    let series = this.callSeries.get(key);
    if (series === undefined) {
      const labels = [this.node, type, method, status];
      series = { calls: this.methodCalls.series(...labels), duration: this.methodDuration.series(...labels) };
      this.callSeries.set(key, series);
    }
    series.calls.value++;
    series.duration.observe(seconds);
    if (shardId !== null) (this.shardCallSeries[shardId] ??= this.shardMethodCalls.series(String(shardId))).value++;
  }

  recordOperation(operation: ObjectOperation, status: 'success' | 'error' | 'timeout', seconds: number): void {
    const key = `${operation}\u0000${status}`;
    let series = this.operationSeries.get(key);
    if (series === undefined) this.operationSeries.set(key, (series = this.operationDuration.series(this.node, operation, status)));
    series.observe(seconds);
    if (status === 'timeout') this.operationTimeouts.inc({ node_addr: this.node, operation });
  }
}
