/**
 * The view's node rows and the counts the header shows. Built in full after a full pass; otherwise only the rows of
 * the nodes that may have changed are built again (their records or metrics changed, a changed shard names them, the
 * leader changed, their metrics just turned stale), and the others are the previous view's objects: a rebuild of a
 * 1,000-node cluster looks at the few nodes a batch touched.
 */
import type { LoadRecord, NodeInfoRecord } from '../keyspace/records.js';
import type { PlannerContext } from '../planner/context.js';
import { type ClusterSnapshot, leaderAddress, type Revisioned } from '../snapshot/snapshot.js';
import type { MetricsStatus, NodeCounts, NodeView } from './clusterViewTypes.js';
import { latestFigures, type NodeFigures, type NodeMetrics } from './nodeMetrics.js';
import type { Tally } from './shardColumns.js';

const NOT_SCRAPED: MetricsStatus = { kind: 'none', reason: 'not scraped' };
const NOT_ALIVE: MetricsStatus = { kind: 'none', reason: 'node not alive' };

export interface NodeRowsInput {
  readonly snapshot: ClusterSnapshot;
  readonly now: number;
  readonly addresses: readonly string[];
  readonly tally: Tally;
  readonly metrics: ReadonlyMap<string, NodeMetrics>;
  readonly ctx: PlannerContext;
  /** The shards' CurrentNode column (node indexes), to count a node's objects in the shards it owns. */
  readonly current: Int32Array;
}

/** What each row was built from, by node index, and when rows turn stale. */
export interface NodeRowState {
  readonly info: readonly (Revisioned<NodeInfoRecord> | undefined)[];
  readonly load: readonly (LoadRecord | undefined)[];
  readonly metrics: readonly (NodeMetrics | undefined)[];
  readonly staleness: StaleClock;
}

export interface NodeRows {
  readonly nodes: readonly NodeView[];
  readonly counts: NodeCounts;
  readonly state: NodeRowState;
}

/** Every row from scratch. */
export function allNodeRows(input: NodeRowsInput): NodeRows {
  const m = input.addresses.length;
  const state = { info: new Array(m), load: new Array(m), metrics: new Array(m), staleness: new StaleClock() };
  const counts = { total: m, alive: 0, draining: 0, cannotFollow: 0, metricsOk: 0, metricsStale: 0, metricsFailing: 0 };
  const leaderNow = leaderAddress(input.snapshot.leader);
  const nodes = input.addresses.map((_, index) => {
    const row = buildRow(input, index, leaderNow, state);
    count(counts, row, 1);
    return row;
  });
  return { nodes, counts, state };
}

/**
 * The previous rows with those of `dirty` node indexes built again (same node list, same planner context), plus
 * the nodes whose metrics turned stale since.
 */
export function patchNodeRows(input: NodeRowsInput, previous: NodeRows, dirty: Set<number>): NodeRows {
  const { staleness } = previous.state;
  for (const index of staleness.due(input.now)) dirty.add(index);
  if (dirty.size === 0) return previous;
  const state = {
    info: previous.state.info.slice(),
    load: previous.state.load.slice(),
    metrics: previous.state.metrics.slice(),
    staleness,
  };
  const counts = { ...previous.counts };
  const nodes = previous.nodes.slice();
  const leaderNow = leaderAddress(input.snapshot.leader);
  for (const index of dirty) {
    const old = nodes[index]!;
    const row = buildRow(input, index, leaderNow, state, old);
    if (row === old) continue;
    count(counts, old, -1);
    count(counts, row, 1);
    nodes[index] = row;
  }
  return { nodes, counts, state };
}

function count(counts: { -readonly [K in keyof NodeCounts]: number }, row: NodeView, sign: 1 | -1): void {
  if (row.draining) counts.draining += sign;
  if (row.status === 'cannot-follow') counts.cannotFollow += sign;
  if (!row.alive) return;
  counts.alive += sign;
  if (row.metrics.kind === 'ok') counts.metricsOk += sign;
  else if (row.metrics.kind === 'stale') counts.metricsStale += sign;
  else if (row.metrics.kind !== 'none') counts.metricsFailing += sign;
}

/**
 * One node's row: its records, counts against its weighted ideal, latest figures; `old` when its inputs are those
 * `old` was built from. Records what it was built from in `state`.
 */
function buildRow(
  input: NodeRowsInput,
  index: number,
  leaderNow: string | null,
  state: { info: NodeRowState['info'][number][]; load: (LoadRecord | undefined)[]; metrics: (NodeMetrics | undefined)[]; staleness: StaleClock },
  old?: NodeView,
): NodeView {
  const { snapshot, now, addresses, tally, metrics, ctx, current } = input;
  const address = addresses[index]!;
  const info = snapshot.nodeInfo.get(address);
  const load = snapshot.load.get(address);
  const mt = metrics.get(address);
  const alive = tally.alive[index] === 1;
  const draining = snapshot.drains.has(address);
  const kind = metricsKind(mt, now);
  // When these figures turn stale (once per answer).
  if (mt?.kind === 'ok' && kind === 'ok' && mt.staleAfterMs !== undefined && state.metrics[index] !== mt) state.staleness.push(mt.atMs + mt.staleAfterMs, index);
  const position = ctx.index.get(address);
  const eligible = position !== undefined;
  const weight = eligible ? ctx.weights[position]! : (info?.weight ?? 1);
  // The shards of the layout now (a transition's absent high shards are nobody's to hold).
  const ideal = eligible ? (tally.total * weight) / ctx.totalWeight : 0;
  const targets = tally.targets[index]!;
  const status = eligible ? 'eligible' : (ctx.ineligible.get(address) ?? 'dead');
  const leader = address === leaderNow;
  const f = latestFigures(mt);
  // Shards changing hands change it without changing the node's inputs.
  const objects = ownedObjects(f, index, current) ?? loadSum(load, 1);
  const unchanged =
    old !== undefined &&
    state.info[index] === info &&
    state.load[index] === load &&
    state.metrics[index] === mt &&
    old.metrics.kind === kind &&
    old.alive === alive &&
    old.draining === draining &&
    old.leader === leader &&
    old.weight === weight &&
    old.ideal === ideal &&
    old.status === status &&
    old.shardsTarget === targets &&
    old.shardsOwned === tally.owned[index] &&
    old.shardsPinned === tally.pinned[index] &&
    old.objects === objects;
  state.info[index] = info;
  state.load[index] = load;
  state.metrics[index] = mt;
  if (unchanged) return old;
  return {
    index,
    address,
    nodeId: info?.nodeId ?? null,
    alive,
    leader,
    ready: f?.ready ?? null,
    status,
    draining,
    stopping: info?.state === 'stopping',
    weight,
    shardsTarget: targets,
    shardsOwned: tally.owned[index]!,
    shardsPinned: tally.pinned[index]!,
    ideal,
    targetsOverIdeal: eligible ? targets / ideal : null,
    objects,
    callRate: f?.callRate ?? loadSum(load, 2),
    lockAcquisitions: f?.lockAcquisitions ?? null,
    lockWaitP99Ms: f?.lockWaitP99Ms ?? null,
    writeLocksHeld: f?.writeLocksHeld ?? null,
    lockTimeouts: f?.lockTimeouts ?? null,
    cpu: load?.cpu ?? null,
    rssBytes: load?.rssBytes ?? null,
    version: info?.version ?? null,
    startedAt: info?.startedAt ?? null,
    metrics: metricsStatus(mt, alive, kind),
  };
}

/** Metrics of a node are stale when its latest answer is older than its source says they may get. */
function metricsKind(m: NodeMetrics | undefined, now: number): MetricsStatus['kind'] {
  if (m === undefined) return 'none';
  if (m.kind !== 'ok') return m.kind;
  return m.staleAfterMs !== undefined && now - m.atMs > m.staleAfterMs ? 'stale' : 'ok';
}

function metricsStatus(m: NodeMetrics | undefined, alive: boolean, kind: MetricsStatus['kind']): MetricsStatus {
  if (m === undefined) return alive ? NOT_SCRAPED : NOT_ALIVE;
  if (m.kind === 'none') return m;
  if (m.kind !== 'ok') return { kind: m.kind, url: m.url, atMs: m.atMs, reason: m.reason };
  return { kind: kind === 'stale' ? 'stale' : 'ok', url: m.url, atMs: m.atMs };
}

/**
 * A node's objects as its metrics count them, in the shards it owns now (CurrentNode) and outside any shard: upstream's
 * gauge keeps the objects of shards a node released. Figures that list only the cluster's top shards (through
 * Prometheus) cannot be split so: their total is taken. Null when the node exports no objects gauge.
 */
function ownedObjects(f: NodeFigures | null, index: number, current: Int32Array): number | null {
  if (f === null || f.objects === null) return null;
  if (f.shardsListed === 'top') return f.objects;
  let sum = f.unshardedObjects;
  f.shardObjects.forEach((n, id) => {
    if (current[id] === index) sum += n;
  });
  return sum;
}

/** Σ objects (field 1) or calls per second (field 2) over a load record's shards; null without a record. */
function loadSum(load: LoadRecord | undefined, field: 1 | 2): number | null {
  if (load === undefined) return null;
  let sum = 0;
  for (const entry of load.shards) sum += entry[field];
  return sum;
}

/**
 * When rows turn stale: a min-heap of (time, node index). Entries of metrics replaced since stay until due, and only
 * make that row be looked at again: cheaper than removing them.
 */
export class StaleClock {
  private readonly at: number[] = [];
  private readonly index: number[] = [];

  push(at: number, index: number): void {
    let i = this.at.length;
    this.at.push(at);
    this.index.push(index);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent]! <= at) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The node indexes whose time has come (past `now`), removed. */
  due(now: number): number[] {
    const out: number[] = [];
    while (this.at.length > 0 && this.at[0]! < now) {
      out.push(this.index[0]!);
      const last = this.at.length - 1;
      this.swap(0, last);
      this.at.pop();
      this.index.pop();
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.at.length && this.at[l]! < this.at[m]!) m = l;
        if (r < this.at.length && this.at[r]! < this.at[m]!) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return out;
  }

  private swap(a: number, b: number): void {
    [this.at[a], this.at[b]] = [this.at[b]!, this.at[a]!];
    [this.index[a], this.index[b]] = [this.index[b]!, this.index[a]!];
  }
}
