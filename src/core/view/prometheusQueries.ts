/**
 * Node metrics read through Prometheus rather than scraped (pure: the queries, their answers' decoding, and the
 * figures made of them). Prometheus aggregates: each query returns a few series per node (or the top shards of the
 * cluster), never a node's whole /metrics.
 *
 * Which node an `instance` is (first rule that applies):
 *   1. the instance is the node's address (a scrape config that relabels `instance` to it);
 *   2. the instance is the host:port of the node's metrics URL: the ops URL our nodes publish in nodeinfo, else the
 *      `--metrics-url` template (upstream nodes; their http addresses);
 *   3. the instance's own series carry exactly one node address in their `node` (or `node_addr`) label, as ours and
 *      upstream's do (`goverse_method_calls_total`, `goverse_objects_total`, `goverse_shard_claims_total`, ...).
 */
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { IDENTITY_SERIES, type MetricsSources, metricsTargets } from './metricsTargets.js';
import type { DecisionCount, HotShardFigures, NodeFigures, NodeMetrics, NodeMetricsOk } from './nodeMetrics.js';

/** One series of an instant query's answer. */
export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** How far back rates look for the last two samples of a series: wider than any sensible scrape interval. */
const RATE_WINDOW = '2m';
/** Shards per figure (objects, calls) read per refresh: the busiest of the cluster. */
export const TOP_SHARDS = 500;
/** Hottest lock-contended shards read per refresh. */
const HOT_SHARDS = 20;

const identityNames = (label: string): string =>
  IDENTITY_SERIES.filter(([, l]) => l === label)
    .map(([name]) => name)
    .join('|');

/** The queries of one refresh, by what they answer. */
export const PROMETHEUS_QUERIES = {
  up: 'up',
  /** When Prometheus last scraped each target (seconds). */
  scrapedAt: 'timestamp(up)',
  /** Scrapes in the last 2 minutes: the target's interval. */
  scrapes: `count_over_time(up[${RATE_WINDOW}])`,
  identity: `count by (instance, node) ({__name__=~"${identityNames('node')}"})`,
  identityAddr: `count by (instance, node_addr) ({__name__=~"${identityNames('node_addr')}"})`,
  ready: 'max by (instance) (goverse_node_ready)',
  objects: 'sum by (instance) (goverse_objects_total)',
  /** Objects outside any shard (ours: fixed-node objects, `shard="node"`). */
  unshardedObjects: 'sum by (instance) (goverse_objects_total{shard!~"[0-9]+"})',
  callRate: `sum by (instance) (irate(goverse_method_calls_total[${RATE_WINDOW}]))`,
  lockAcquisitions: 'sum by (instance) (goverse_shard_lock_acquisitions_total)',
  lockWaitP99: `histogram_quantile(0.99, sum by (instance, le) (irate(goverse_shard_lock_wait_seconds_bucket[${RATE_WINDOW}])))`,
  writeLocksHeld: 'sum by (instance) (goverse_shard_write_locks_held)',
  lockTimeouts: 'sum by (instance) (goverse_shard_lock_timeouts_total)',
  hotShards: `goverse_shard_lock_contended and on (instance, shard) topk(${HOT_SHARDS}, goverse_shard_lock_contended{stat="wait_seconds"})`,
  topObjects: `topk(${TOP_SHARDS}, sum by (instance, shard) (goverse_objects_total{shard!="node"}))`,
  topCalls: `topk(${TOP_SHARDS}, sum by (instance, shard) (irate(goverse_shard_method_calls_total[${RATE_WINDOW}])))`,
  decisions: 'sum by (instance, outcome, reason) (goverse_rebalance_decisions_total)',
} as const;

export type QueryName = keyof typeof PROMETHEUS_QUERIES;
export type QueryAnswers = Readonly<Record<QueryName, readonly PromSample[]>>;

/** Series one answer may hold: the top-k and per-instance queries stay far below it. */
export const MAX_SERIES = 100_000;
const MAX_LABEL_CHARS = 1024;

/** Why an answer is not a usable vector; the caller names the URL and the query. */
export class PromAnswerError extends Error {}

/**
 * An instant query's JSON answer as its samples. Prometheus writes values as strings (`"1.5"`, `"NaN"`, `"+Inf"`);
 * anything else than a vector of bounded series of string labels is refused.
 */
export function decodeVector(body: unknown): PromSample[] {
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown }; error?: unknown; errorType?: unknown };
  if (typeof b !== 'object' || b === null) throw new PromAnswerError('the answer is not a JSON object');
  if (b.status === 'error') throw new PromAnswerError(`query refused: ${String(b.errorType ?? 'error')}: ${String(b.error ?? '').slice(0, 300)}`);
  if (b.status !== 'success' || typeof b.data !== 'object' || b.data === null) throw new PromAnswerError('the answer is not a Prometheus API answer');
  if (b.data.resultType !== 'vector' || !Array.isArray(b.data.result)) throw new PromAnswerError(`expected a vector, got ${String(b.data.resultType).slice(0, 40)}`);
  const result = b.data.result as unknown[];
  if (result.length > MAX_SERIES) throw new PromAnswerError(`${result.length} series, more than ${MAX_SERIES}`);
  return result.map((r) => {
    const { metric, value } = (r ?? {}) as { metric?: unknown; value?: unknown };
    if (typeof metric !== 'object' || metric === null || !Array.isArray(value) || value.length !== 2 || typeof value[1] !== 'string') {
      throw new PromAnswerError('a series is not {metric, value: [time, "number"]}');
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(metric)) {
      if (typeof v !== 'string' || v.length > MAX_LABEL_CHARS || k.length > MAX_LABEL_CHARS) throw new PromAnswerError(`label ${k.slice(0, 40)} is not a short string`);
      labels[k] = v;
    }
    return { labels, value: promNumber(value[1]) };
  });
}

function promNumber(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const n = Number(text);
  if (text.trim() === '' || (Number.isNaN(n) && text !== 'NaN')) throw new PromAnswerError(`value ${JSON.stringify(text.slice(0, 40))} is not a number`);
  return n;
}

export interface InstanceMapping {
  /** Node address per instance label. */
  readonly nodeOf: ReadonlyMap<string, string>;
  /** Alive nodes no instance maps to, and why. */
  readonly missing: ReadonlyMap<string, string>;
}

/** Which instance is which alive node (the rules in this module's comment). */
export function mapInstances(snapshot: ClusterSnapshot, sources: MetricsSources, answers: Pick<QueryAnswers, 'up' | 'identity' | 'identityAddr'>): InstanceMapping {
  const instances = new Set(answers.up.flatMap((s) => (s.labels.instance === undefined ? [] : [s.labels.instance])));
  const nodeOf = new Map<string, string>();
  const mapped = new Set<string>();
  const take = (instance: string, address: string): void => {
    if (nodeOf.has(instance) || mapped.has(address)) return;
    nodeOf.set(instance, address);
    mapped.add(address);
  };
  for (const address of snapshot.nodes.keys()) if (instances.has(address)) take(address, address);
  for (const target of metricsTargets(snapshot, sources).targets) {
    if (target.address === null) continue;
    const host = hostPort(target.url);
    if (host !== null && instances.has(host)) take(host, target.address);
  }
  const named = new Map<string, Set<string>>();
  for (const [answer, label] of [
    [answers.identity, 'node'],
    [answers.identityAddr, 'node_addr'],
  ] as const) {
    for (const s of answer) {
      const instance = s.labels.instance;
      const address = s.labels[label];
      if (instance === undefined || address === undefined || address === '') continue;
      let set = named.get(instance);
      if (set === undefined) named.set(instance, (set = new Set()));
      set.add(address);
    }
  }
  for (const [instance, addresses] of named) {
    const [address] = addresses;
    if (addresses.size === 1 && snapshot.nodes.has(address!)) take(instance, address!);
  }
  const missing = new Map<string, string>();
  for (const address of snapshot.nodes.keys()) {
    if (!mapped.has(address)) {
      missing.set(address, 'no Prometheus target of this node: its instance label is not its address, nor its metrics host:port, and no series names it in a node label');
    }
  }
  return { nodeOf, missing };
}

/** `host:port` of an http(s) URL, the default port spelled out, as Prometheus writes `instance`. */
function hostPort(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port === '' ? (u.protocol === 'https:' ? '443' : '80') : u.port}`;
  } catch {
    return null;
  }
}

/**
 * Every alive node's metrics from one refresh's answers: its figures (null where its series are absent, as upstream
 * nodes lack several), dated by Prometheus's last scrape of it, stale past twice its scrape interval and
 * `refreshMs`; `unreachable` while Prometheus sees the target down (its last figures kept).
 */
export function prometheusMetrics(
  answers: QueryAnswers,
  mapping: InstanceMapping,
  previous: ReadonlyMap<string, NodeMetrics>,
  where: string,
  refreshMs: number,
): Map<string, NodeMetrics> {
  const byInstance = <T>(answer: readonly PromSample[], value: (s: PromSample) => T): Map<string, T> => {
    const out = new Map<string, T>();
    for (const s of answer) if (s.labels.instance !== undefined) out.set(s.labels.instance, value(s));
    return out;
  };
  const num = (name: QueryName): Map<string, number> => byInstance(answers[name], (s) => s.value);
  const up = num('up');
  const scrapedAt = num('scrapedAt');
  const scrapes = num('scrapes');
  const figures = {
    ready: num('ready'),
    objects: num('objects'),
    unshardedObjects: num('unshardedObjects'),
    callRate: num('callRate'),
    lockAcquisitions: num('lockAcquisitions'),
    lockWaitP99: num('lockWaitP99'),
    writeLocksHeld: num('writeLocksHeld'),
    lockTimeouts: num('lockTimeouts'),
  };
  const hot = hotShardsByInstance(answers.hotShards);
  const topObjects = perShardByInstance(answers.topObjects);
  const topCalls = perShardByInstance(answers.topCalls);
  const decisions = decisionsByInstance(answers.decisions);
  const out = new Map<string, NodeMetrics>();
  for (const [address, reason] of mapping.missing) out.set(address, { kind: 'none', reason });
  for (const [instance, address] of mapping.nodeOf) {
    const url = `${where} instance ${instance}`;
    const atMs = Math.round((scrapedAt.get(instance) ?? 0) * 1000);
    const before = previous.get(address);
    const lastOk = before === undefined || before.kind === 'none' ? null : before.kind === 'ok' ? before : before.lastOk;
    if (up.get(instance) !== 1) {
      out.set(address, { kind: 'unreachable', url, atMs, reason: 'Prometheus sees its target down (up 0)', lastOk });
      continue;
    }
    const f: NodeFigures = {
      ready: orNull(figures.ready.get(instance), (v) => v === 1),
      objects: orNull(figures.objects.get(instance)),
      unshardedObjects: orNull(figures.unshardedObjects.get(instance)) ?? 0,
      callRate: orNull(figures.callRate.get(instance)),
      lockAcquisitions: orNull(figures.lockAcquisitions.get(instance)),
      lockWaitP99Ms: orNull(figures.lockWaitP99.get(instance), (v) => v * 1000),
      writeLocksHeld: orNull(figures.writeLocksHeld.get(instance)),
      lockTimeouts: orNull(figures.lockTimeouts.get(instance)),
      hotShards: hot.get(instance) ?? [],
      shardObjects: topObjects.get(instance) ?? new Map(),
      shardCallRates: topCalls.get(instance) ?? new Map(),
      shardsListed: 'top',
      decisions: decisions.get(instance) ?? [],
    };
    // The scrape interval from the scrapes Prometheus holds of the last two minutes.
    const intervalMs = Math.min(120_000, 120_000 / Math.max(1, scrapes.get(instance) ?? 1));
    const ok: NodeMetricsOk = { kind: 'ok', url, atMs, figures: f, counters: null, staleAfterMs: 2 * intervalMs + refreshMs };
    out.set(address, ok);
  }
  return out;
}

function orNull(v: number | undefined): number | null;
function orNull<T>(v: number | undefined, map: (v: number) => T): T | null;
function orNull(v: number | undefined, map: (v: number) => unknown = (x) => x): unknown {
  return v === undefined || !Number.isFinite(v) ? null : map(v);
}

function perShardByInstance(answer: readonly PromSample[]): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const s of answer) {
    const id = Number(s.labels.shard);
    const instance = s.labels.instance;
    if (instance === undefined || !Number.isInteger(id) || id < 0 || !Number.isFinite(s.value)) continue;
    let m = out.get(instance);
    if (m === undefined) out.set(instance, (m = new Map()));
    m.set(id, s.value);
  }
  return out;
}

function hotShardsByInstance(answer: readonly PromSample[]): Map<string, HotShardFigures[]> {
  const rows = new Map<string, Map<number, { waits: number; waitSeconds: number; maxWaitSeconds: number; timeouts: number }>>();
  for (const s of answer) {
    const id = Number(s.labels.shard);
    const instance = s.labels.instance;
    if (instance === undefined || !Number.isInteger(id) || id < 0) continue;
    let byShard = rows.get(instance);
    if (byShard === undefined) rows.set(instance, (byShard = new Map()));
    let row = byShard.get(id);
    if (row === undefined) byShard.set(id, (row = { waits: 0, waitSeconds: 0, maxWaitSeconds: 0, timeouts: 0 }));
    const stat = { waits: 'waits', wait_seconds: 'waitSeconds', max_wait_seconds: 'maxWaitSeconds', timeouts: 'timeouts' }[s.labels.stat ?? ''] as
      | keyof typeof row
      | undefined;
    if (stat !== undefined) row[stat] = s.value;
  }
  const out = new Map<string, HotShardFigures[]>();
  for (const [instance, byShard] of rows) {
    out.set(instance, [...byShard].map(([shardId, r]) => ({ shardId, ...r })).sort((a, b) => b.waitSeconds - a.waitSeconds || a.shardId - b.shardId));
  }
  return out;
}

function decisionsByInstance(answer: readonly PromSample[]): Map<string, DecisionCount[]> {
  const out = new Map<string, DecisionCount[]>();
  for (const s of answer) {
    const instance = s.labels.instance;
    if (instance === undefined || !Number.isFinite(s.value)) continue;
    let list = out.get(instance);
    if (list === undefined) out.set(instance, (list = []));
    list.push({ outcome: s.labels.outcome ?? '', reason: s.labels.reason ?? '', count: s.value });
  }
  return out;
}
