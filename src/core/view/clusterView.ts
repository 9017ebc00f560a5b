import type { LoadRecord } from '../keyspace/records.js';
import { compareAddresses, plannerContext, type PlannerContext } from '../planner/context.js';
import type { ImbalanceFigures } from '../planner/imbalance.js';
import type { FirstSeen } from '../planner/stuck.js';
import { type ClusterSnapshot, leaderAddress } from '../snapshot/snapshot.js';
import { balancerView } from './balancer.js';
import type {
  ClusterView,
  HotShardView,
  MetricsStatus,
  NodeCounts,
  NodeView,
  ViewInput,
  ViewInternals,
} from './clusterViewTypes.js';
import { fillShardLoad, loadSources, updateShardLoad } from './loadColumns.js';
import { MigrationList } from './migrationList.js';
import { latestFigures, type NodeMetrics } from './nodeMetrics.js';
import { fullPass, incrementalPass, type Tally } from './shardColumns.js';
import { SHARD_FLAG } from './shardState.js';

const NOT_SCRAPED: MetricsStatus = { kind: 'none', reason: 'not scraped' };
const NOT_ALIVE: MetricsStatus = { kind: 'none', reason: 'node not alive' };

/**
 * The view of a snapshot and the nodes' metrics. Built from `input.previous` when given, the work is in proportion to
 * what changed since: the changed shards (ShardIndex, tally and columns updated in place), the nodes whose records,
 * metrics or counts changed (the other rows are the previous view's objects), the unsettled shards for the
 * migration list. `previous` is consumed: its shard columns now belong to the new view.
 */
export function buildClusterView(input: ViewInput): ClusterView {
  const { snapshot, now, stuckTimeoutMs } = input;
  const firstSeen = input.firstSeen ?? new Map<number, FirstSeen>();
  const metrics = input.metrics ?? new Map<string, NodeMetrics>();
  const previous =
    input.previous?.snapshot.numShards === snapshot.numShards && input.previous.snapshot.prefix === snapshot.prefix ? input.previous : undefined;
  const before = previous?.internal;

  const listed = listedAddresses(snapshot, metrics, before);
  const pass = (previous === undefined ? null : incrementalPass(snapshot, previous, listed.all, input.changedShards ?? null)) ?? fullPass(snapshot, listed.all);
  // What the previous view kept is reused only after an incremental pass (same nodes, same indexes).
  const { addresses, nodeIndex, columns, tally, index } = pass;
  const same = pass.changed === null ? undefined : before;

  // The watch's hint lists migration record changes too; a scan of the entries does not, so records are compared.
  const hint = input.changedShards ?? null;
  const kept = same?.storage.migrations;
  const unsettled =
    kept !== undefined && kept.update(snapshot, firstSeen, now, hint ?? pass.changed!, hint !== null)
      ? kept
      : new MigrationList(new Set(snapshot.nodes.keys()), firstSeen, snapshot.migrations, snapshot, now, index.notable);
  const migrations = unsettled.list(now);
  const stuck = unsettled.stuck(migrations, stuckTimeoutMs);
  for (const s of stuck) columns.flags[s.shardId]! |= SHARD_FLAG.stuck;

  const figures = addresses.map((a) => latestFigures(metrics.get(a)));
  const sources = loadSources(snapshot, addresses, figures);
  if (same !== undefined) updateShardLoad(columns, index, sources, same.loadSources, pass.changed!);
  else fillShardLoad(columns, sources);

  const ctx = same !== undefined && sameRecords(same.context, snapshot) ? same.context : { ...recordsOf(snapshot), ctx: plannerContext(snapshot) };
  const rows = nodeViews({ snapshot, now, addresses, tally, metrics, ctx: ctx.ctx, staleAfterMs: input.metricsStaleAfterMs ?? null }, same === undefined ? undefined : previous);
  const leaderNow = leaderAddress(snapshot.leader);
  const internal: ViewInternals = {
    storage: { retired: false, columns, tally, index, migrations: unsettled },
    loadSources: sources,
    listed,
    context: ctx,
    nodeRefs: rows.refs,
  };
  return {
    snapshot,
    now,
    stuckTimeoutMs,
    leader: leaderNow === null ? null : { address: leaderNow, alive: snapshot.nodes.has(leaderNow) },
    nodes: rows.nodes,
    nodeIndex,
    nodeCounts: rows.counts,
    gates: previous?.snapshot.gates === snapshot.gates ? previous.gates : [...snapshot.gates.keys()].sort(compareAddresses),
    shards: columns,
    layout: index,
    counts: { ...tally.counts, stuck: stuck.length },
    imbalance: imbalanceSummary(rows.nodes, tally.counts.noTarget),
    balancer: balancerView(snapshot, input.balancer, firstSeen, now, previous?.balancer),
    migrations,
    stuck,
    hotShards: hottestShards(metrics, input.hotShardLimit ?? 20),
    // Thousands of forged keys must not cost a sort per frame: reused while the snapshot's entries are the same.
    malformed:
      previous?.snapshot.malformed === snapshot.malformed
        ? previous.malformed
        : [...snapshot.malformed.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    unmatchedMetrics: input.unmatchedMetrics ?? [],
    internal,
  };
}

/** Nodes listed whether or not a shard names them; addresses only shards name join during the shard pass. */
function listedAddresses(snapshot: ClusterSnapshot, metrics: ReadonlyMap<string, NodeMetrics>, before: ViewInternals | undefined): ViewInternals['listed'] {
  let records = before?.listed;
  if (records === undefined || !sameRecords(records, snapshot)) {
    const set = new Set<string>(snapshot.nodes.keys());
    for (const a of snapshot.nodeInfo.keys()) set.add(a);
    for (const a of snapshot.drains.keys()) set.add(a);
    records = { ...recordsOf(snapshot), fromRecords: set, all: set };
  }
  // Scraped nodes are registered ones, so the metrics rarely add an address.
  let all = records.fromRecords;
  for (const a of metrics.keys()) {
    if (all.has(a)) continue;
    if (all === records.fromRecords) all = new Set(all);
    (all as Set<string>).add(a);
  }
  return { ...records, all };
}

type RecordMaps = Pick<ClusterSnapshot, 'nodes' | 'nodeInfo' | 'drains'>;

function recordsOf(snapshot: ClusterSnapshot): RecordMaps {
  return { nodes: snapshot.nodes, nodeInfo: snapshot.nodeInfo, drains: snapshot.drains };
}

function sameRecords(a: RecordMaps, snapshot: ClusterSnapshot): boolean {
  return a.nodes === snapshot.nodes && a.nodeInfo === snapshot.nodeInfo && a.drains === snapshot.drains;
}

interface NodeRowsInput {
  readonly snapshot: ClusterSnapshot;
  readonly now: number;
  readonly addresses: readonly string[];
  readonly tally: Tally;
  readonly metrics: ReadonlyMap<string, NodeMetrics>;
  readonly ctx: PlannerContext;
  readonly staleAfterMs: number | null;
}

/**
 * One row per node address (the pass's order): its records, counts against its weighted ideal, latest figures, and
 * the counts the header shows. A row whose inputs are those of the previous view's row (same index) is that row.
 */
function nodeViews(
  input: NodeRowsInput,
  previous: ClusterView | undefined,
): { nodes: readonly NodeView[]; counts: NodeCounts; refs: ViewInternals['nodeRefs'] } {
  const { snapshot, now, addresses, tally, metrics, ctx, staleAfterMs } = input;
  const leaderNow = leaderAddress(snapshot.leader);
  const m = addresses.length;
  const refs = { info: new Array(m), load: new Array(m), metrics: new Array(m) } as {
    info: ViewInternals['nodeRefs']['info'][number][];
    load: (LoadRecord | undefined)[];
    metrics: (NodeMetrics | undefined)[];
  };
  const before = previous?.internal.nodeRefs;
  const counts = { total: m, alive: 0, draining: 0, metricsOk: 0, metricsStale: 0, metricsFailing: 0 };
  let changed = previous === undefined;
  const nodes = addresses.map((address, index): NodeView => {
    const info = snapshot.nodeInfo.get(address);
    const load = snapshot.load.get(address);
    const mt = metrics.get(address);
    refs.info[index] = info;
    refs.load[index] = load;
    refs.metrics[index] = mt;
    const alive = tally.alive[index] === 1;
    const draining = snapshot.drains.has(address);
    const kind = metricsKind(mt, now, staleAfterMs);
    if (alive) {
      counts.alive++;
      if (kind === 'ok') counts.metricsOk++;
      else if (kind === 'stale') counts.metricsStale++;
      else if (kind !== 'none') counts.metricsFailing++;
    }
    if (draining) counts.draining++;
    const position = ctx.index.get(address);
    const eligible = position !== undefined;
    const weight = eligible ? ctx.weights[position]! : (info?.weight ?? 1);
    const ideal = eligible ? (snapshot.numShards * weight) / ctx.totalWeight : 0;
    const targets = tally.targets[index]!;
    const row = previous?.nodes[index];
    if (
      row !== undefined &&
      before !== undefined &&
      before.info[index] === info &&
      before.load[index] === load &&
      before.metrics[index] === mt &&
      row.metrics.kind === kind &&
      row.alive === alive &&
      row.draining === draining &&
      row.leader === (address === leaderNow) &&
      row.weight === weight &&
      row.ideal === ideal &&
      row.status === (eligible ? 'eligible' : (ctx.ineligible.get(address) ?? 'dead')) &&
      row.shardsTarget === targets &&
      row.shardsOwned === tally.owned[index] &&
      row.shardsPinned === tally.pinned[index]
    ) {
      return row;
    }
    changed = true;
    const f = latestFigures(mt);
    return {
      index,
      address,
      nodeId: info?.nodeId ?? null,
      alive,
      leader: address === leaderNow,
      ready: f?.ready ?? null,
      status: eligible ? 'eligible' : (ctx.ineligible.get(address) ?? 'dead'),
      draining,
      stopping: info?.state === 'stopping',
      weight,
      shardsTarget: targets,
      shardsOwned: tally.owned[index]!,
      shardsPinned: tally.pinned[index]!,
      ideal,
      targetsOverIdeal: eligible ? targets / ideal : null,
      objects: f?.objects ?? loadSum(load, 1),
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
  });
  // Unchanged rows keep the previous array, so what is derived from it (sorted tables) can be reused.
  return { nodes: changed || previous === undefined ? nodes : previous.nodes, counts, refs };
}

/** The hottest shards over every node's latest figures, per metrics map: views rebuilt between two scrapes share them. */
const hotShardMemo = new WeakMap<ReadonlyMap<string, NodeMetrics>, { readonly limit: number; readonly rows: readonly HotShardView[] }>();

function hottestShards(metrics: ReadonlyMap<string, NodeMetrics>, limit: number): readonly HotShardView[] {
  const memo = hotShardMemo.get(metrics);
  if (memo?.limit === limit) return memo.rows;
  const rows: HotShardView[] = [];
  metrics.forEach((m, node) => {
    for (const h of latestFigures(m)?.hotShards ?? []) rows.push({ ...h, node });
  });
  rows.sort((a, b) => b.waitSeconds - a.waitSeconds || a.shardId - b.shardId || compareAddresses(a.node, b.node));
  rows.length = Math.min(rows.length, limit);
  hotShardMemo.set(metrics, { limit, rows });
  return rows;
}

/** Metrics of a node are stale when its latest answer is older than the source's threshold. */
function metricsKind(m: NodeMetrics | undefined, now: number, staleAfterMs: number | null): MetricsStatus['kind'] {
  if (m === undefined) return 'none';
  if (m.kind !== 'ok') return m.kind;
  const limit = m.staleAfterMs ?? staleAfterMs;
  return limit !== null && now - m.atMs > limit ? 'stale' : 'ok';
}

function metricsStatus(m: NodeMetrics | undefined, alive: boolean, kind: MetricsStatus['kind']): MetricsStatus {
  if (m === undefined) return alive ? NOT_SCRAPED : NOT_ALIVE;
  if (m.kind === 'none') return m;
  if (m.kind !== 'ok') return { kind: m.kind, url: m.url, atMs: m.atMs, reason: m.reason };
  return { kind: kind === 'stale' ? 'stale' : 'ok', url: m.url, atMs: m.atMs };
}

/** Σ objects (field 1) or calls per second (field 2) over a load record's shards; null without a record. */
function loadSum(load: LoadRecord | undefined, field: 1 | 2): number | null {
  if (load === undefined) return null;
  let sum = 0;
  for (const entry of load.shards) sum += entry[field];
  return sum;
}

/** The planner's imbalance figures (planner/imbalance.ts), from the node rows the pass already counted. */
function imbalanceSummary(nodes: readonly NodeView[], unassigned: number): Omit<ImbalanceFigures, 'nodes'> {
  let maxTargets = 0;
  let minTargets = 0;
  let maxOverIdeal = 0;
  let minOverIdeal = 0;
  let misplaced = 0;
  let first = true;
  for (const n of nodes) {
    if (n.targetsOverIdeal === null) {
      misplaced += n.shardsTarget;
      continue;
    }
    maxTargets = first ? n.shardsTarget : Math.max(maxTargets, n.shardsTarget);
    minTargets = first ? n.shardsTarget : Math.min(minTargets, n.shardsTarget);
    maxOverIdeal = first ? n.targetsOverIdeal : Math.max(maxOverIdeal, n.targetsOverIdeal);
    minOverIdeal = first ? n.targetsOverIdeal : Math.min(minOverIdeal, n.targetsOverIdeal);
    first = false;
  }
  return { maxTargets, minTargets, maxOverIdeal, minOverIdeal, spread: maxOverIdeal - minOverIdeal, unassigned, misplaced };
}
