import { type Bucket, histogramBuckets, histogramQuantile } from '../metrics/histogram.js';
import { sampleValue, selectSamples, sumValues } from '../metrics/query.js';
import type { MetricFamilies } from '../metrics/textFormat.js';

/** One scrape of a node's `/metrics`, as the scraper delivers it: parsed families, or why there are none. */
export type ScrapeOutcome =
  | {
      readonly kind: 'ok';
      readonly url: string;
      readonly atMs: number;
      readonly families: MetricFamilies;
      /** The node's `/ready` verdict when it was asked too (upstream nodes, which export no readiness series). */
      readonly ready?: boolean;
    }
  /** Connection refused, timeout, or an HTTP status other than 200. */
  | { readonly kind: 'unreachable'; readonly url: string; readonly atMs: number; readonly reason: string }
  /** The body is not Prometheus text format (or too large). */
  | { readonly kind: 'malformed'; readonly url: string; readonly atMs: number; readonly reason: string };

/** Contention on one shard as a node reports it (`goverse_shard_lock_contended`, a recent window). */
export interface HotShardFigures {
  readonly shardId: number;
  readonly waits: number;
  readonly waitSeconds: number;
  readonly maxWaitSeconds: number;
  readonly timeouts: number;
}

/** Leader decisions counted by a node since it started (`goverse_rebalance_decisions_total`), by outcome and reason. */
export interface DecisionCount {
  readonly outcome: string;
  readonly reason: string;
  readonly count: number;
}

/** What one node's metrics say; null where the node exports no such series (upstream nodes lack several). */
export interface NodeFigures {
  /** `goverse_node_ready` (our nodes), else the `/ready` answer when it was asked (upstream nodes found in the config). */
  readonly ready: boolean | null;
  /**
   * Σ `goverse_objects_total`, every series the node exports. Upstream never lowers its gauge when it releases a
   * shard, so the view counts a node's objects from `shardObjects` of the shards it owns, plus `unshardedObjects`.
   */
  readonly objects: number | null;
  /** Objects whose `shard` label is no shard ID (`shard="node"`: fixed-node objects of our nodes). */
  readonly unshardedObjects: number;
  /** Calls per second between this scrape and the previous one (`goverse_method_calls_total`); null after one scrape. */
  readonly callRate: number | null;
  readonly lockAcquisitions: number | null;
  /** p99 of `goverse_shard_lock_wait_seconds` in ms: over the interval since the previous scrape, else since start. */
  readonly lockWaitP99Ms: number | null;
  readonly writeLocksHeld: number | null;
  /** Σ `goverse_shard_lock_timeouts_total` since the process started. */
  readonly lockTimeouts: number | null;
  /** Hottest shards by lock wait, as the node ranks them. */
  readonly hotShards: readonly HotShardFigures[];
  /** Objects per shard (`goverse_objects_total{shard}`); fixed-node objects are left out. */
  readonly shardObjects: ReadonlyMap<number, number>;
  /** Calls per second per shard (`goverse_shard_method_calls_total`), after two scrapes. */
  readonly shardCallRates: ReadonlyMap<number, number>;
  /**
   * `all`: the two maps above list every shard the node reports (a scrape), so a shard it owns and leaves out has 0;
   * `top`: only the busiest shards (a Prometheus top-k), so one left out is unknown here.
   */
  readonly shardsListed: 'all' | 'top';
  readonly decisions: readonly DecisionCount[];
}

/** Counter values kept from a scrape so that the next one can compute rates without the whole text. */
interface CounterMemo {
  readonly atMs: number;
  readonly calls: number | undefined;
  readonly shardCalls: ReadonlyMap<number, number>;
  readonly lockWait: readonly Bucket[];
}

export interface NodeMetricsOk {
  readonly kind: 'ok';
  readonly url: string;
  readonly atMs: number;
  readonly figures: NodeFigures;
  /** Counter values for the rates of the next scrape; null when the source computes rates itself (Prometheus). */
  readonly counters: CounterMemo | null;
  /**
   * How old these figures may get before the view shows them as stale: the source's interval and time budget (the
   * console's scrapes, Prometheus's scrape interval); omitted (one-shot reads): never stale.
   */
  readonly staleAfterMs?: number;
}

/**
 * A node's metrics for the view: the figures of its latest scrape, or why there are none. A failed scrape keeps the
 * last good one (`lastOk`) so that rates resume when the node answers again.
 */
export type NodeMetrics =
  | NodeMetricsOk
  | {
      readonly kind: 'unreachable' | 'malformed';
      readonly url: string;
      readonly atMs: number;
      readonly reason: string;
      readonly lastOk: NodeMetricsOk | null;
    }
  /** Not scraped: no URL is known for the node (no nodeinfo ops URL and no --metrics-url), or it is not alive. */
  | { readonly kind: 'none'; readonly reason: string };

/**
 * Summarizes one scrape, once per scrape (the view is rebuilt far more often than nodes are scraped). Rates come from
 * `previous`, the summary of the node's previous scrape.
 */
export function summarizeScrape(outcome: ScrapeOutcome, previous?: NodeMetrics): NodeMetrics {
  const prevOk = previous === undefined || previous.kind === 'none' ? null : previous.kind === 'ok' ? previous : previous.lastOk;
  if (outcome.kind !== 'ok') return { kind: outcome.kind, url: outcome.url, atMs: outcome.atMs, reason: outcome.reason, lastOk: prevOk };
  const f = outcome.families;
  const counters: CounterMemo = {
    atMs: outcome.atMs,
    calls: sumValues(f, 'goverse_method_calls_total'),
    shardCalls: perShard(f, 'goverse_shard_method_calls_total'),
    lockWait: histogramBuckets(selectSamples(f, 'goverse_shard_lock_wait_seconds_bucket')),
  };
  const before = prevOk?.counters ?? undefined;
  const seconds = before === undefined ? 0 : (counters.atMs - before.atMs) / 1000;
  const interval = seconds > 0 ? before : undefined;
  const ready = sampleValue(f, 'goverse_node_ready');
  const figures: NodeFigures = {
    ready: ready === undefined ? (outcome.ready ?? null) : ready === 1,
    objects: orNull(sumValues(f, 'goverse_objects_total')),
    unshardedObjects: unsharded(f, 'goverse_objects_total'),
    callRate:
      interval === undefined || counters.calls === undefined ? null : increase(interval.calls ?? 0, counters.calls) / seconds,
    lockAcquisitions: orNull(sumValues(f, 'goverse_shard_lock_acquisitions_total')),
    lockWaitP99Ms: waitP99Ms(counters.lockWait, interval?.lockWait),
    writeLocksHeld: orNull(sampleValue(f, 'goverse_shard_write_locks_held')),
    lockTimeouts: orNull(sumValues(f, 'goverse_shard_lock_timeouts_total')),
    hotShards: hotShards(f),
    shardObjects: perShard(f, 'goverse_objects_total'),
    shardCallRates: interval === undefined ? new Map() : shardRates(interval.shardCalls, counters.shardCalls, seconds),
    shardsListed: 'all',
    decisions: selectSamples(f, 'goverse_rebalance_decisions_total').map((s) => ({
      outcome: s.labels.outcome ?? '',
      reason: s.labels.reason ?? '',
      count: s.value,
    })),
  };
  return { kind: 'ok', url: outcome.url, atMs: outcome.atMs, figures, counters };
}

/** The figures to show: the latest scrape's, or the last good ones while the node does not answer. */
export function latestFigures(metrics: NodeMetrics | undefined): NodeFigures | null {
  if (metrics === undefined || metrics.kind === 'none') return null;
  return metrics.kind === 'ok' ? metrics.figures : (metrics.lastOk?.figures ?? null);
}

function orNull(v: number | undefined): number | null {
  return v === undefined || Number.isNaN(v) ? null : v;
}

/** A counter's increase; a value that went down means the process restarted, so the whole value is new (PromQL). */
function increase(before: number, now: number): number {
  return now < before ? now : now - before;
}

/** A sample's `shard` label as a shard ID, or null (absent, or `node` for fixed-node objects). */
function shardLabel(labels: Readonly<Record<string, string>>): number | null {
  const id = Object.hasOwn(labels, 'shard') ? Number(labels.shard) : Number.NaN;
  return Number.isInteger(id) && id >= 0 ? id : null;
}

/** Sum per `shard` label of a family's samples; samples without a shard ID are skipped. */
function perShard(f: MetricFamilies, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const s of selectSamples(f, name)) {
    const id = shardLabel(s.labels);
    if (id !== null) out.set(id, (out.get(id) ?? 0) + s.value);
  }
  return out;
}

/** Sum of a family's samples without a shard ID. */
function unsharded(f: MetricFamilies, name: string): number {
  let sum = 0;
  for (const s of selectSamples(f, name)) if (shardLabel(s.labels) === null && Number.isFinite(s.value)) sum += s.value;
  return sum;
}

function shardRates(before: ReadonlyMap<number, number>, now: ReadonlyMap<number, number>, seconds: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [id, value] of now) {
    // A series new since the previous scrape started from zero.
    const inc = increase(before.get(id) ?? 0, value);
    if (inc > 0) out.set(id, inc / seconds);
  }
  return out;
}

function waitP99Ms(now: readonly Bucket[], before: readonly Bucket[] | undefined): number | null {
  let buckets = now;
  if (before !== undefined) {
    const old = new Map(before.map((b) => [b.le, b.count]));
    const total = now[now.length - 1]?.count ?? 0;
    const oldTotal = old.get(Number.POSITIVE_INFINITY) ?? 0;
    // A reset (restart) makes the whole histogram new.
    buckets = total < oldTotal ? now : now.map((b) => ({ le: b.le, count: b.count - (old.get(b.le) ?? 0) }));
  }
  const q = histogramQuantile(0.99, buckets);
  return Number.isFinite(q) ? q * 1000 : null;
}

function hotShards(f: MetricFamilies): HotShardFigures[] {
  const byShard = new Map<number, { waits: number; waitSeconds: number; maxWaitSeconds: number; timeouts: number }>();
  for (const s of selectSamples(f, 'goverse_shard_lock_contended')) {
    const id = Number(s.labels.shard);
    if (!Number.isInteger(id) || id < 0) continue;
    let row = byShard.get(id);
    if (row === undefined) byShard.set(id, (row = { waits: 0, waitSeconds: 0, maxWaitSeconds: 0, timeouts: 0 }));
    switch (s.labels.stat) {
      case 'waits':
        row.waits = s.value;
        break;
      case 'wait_seconds':
        row.waitSeconds = s.value;
        break;
      case 'max_wait_seconds':
        row.maxWaitSeconds = s.value;
        break;
      case 'timeouts':
        row.timeouts = s.value;
        break;
    }
  }
  return [...byShard].map(([shardId, r]) => ({ shardId, ...r })).sort((a, b) => b.waitSeconds - a.waitSeconds || a.shardId - b.shardId);
}
