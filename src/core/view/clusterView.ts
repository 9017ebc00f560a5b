import type { LoadRecord } from '../keyspace/records.js';
import { compareAddresses, nodeWeight, plannerContext } from '../planner/context.js';
import type { ImbalanceFigures } from '../planner/imbalance.js';
import { type FirstSeen, listMigrations, type Migration, stuckAmong } from '../planner/stuck.js';
import { cannotFollowCount } from '../planner/countFollowers.js';
import { reshardProgress } from '../planner/reshard.js';
import { upstreamPresence } from '../planner/upstream.js';
import { type ClusterSnapshot, leaderAddress } from '../snapshot/snapshot.js';
import { balancerView } from './balancer.js';
import type { ClusterView, HotShardView, MetricsStatus, NodeView, ViewInput } from './clusterViewTypes.js';
import { fillLoadColumns } from './loadColumns.js';
import { latestFigures, type NodeFigures, type NodeMetrics } from './nodeMetrics.js';
import { fullPass, incrementalPass, migrationCandidates, type Tally } from './shardColumns.js';
import { SHARD_FLAG } from './shardState.js';

const NOT_SCRAPED: MetricsStatus = { kind: 'none', reason: 'not scraped' };
export function buildClusterView(input: ViewInput): ClusterView {
  const { snapshot, now, stuckTimeoutMs } = input;
  const firstSeen = input.firstSeen ?? new Map<number, FirstSeen>();
  const metrics = input.metrics ?? new Map<string, NodeMetrics>();
  const previous =
    input.previous?.snapshot.numShards === snapshot.numShards && input.previous.snapshot.prefix === snapshot.prefix ? input.previous : undefined;

  // Nodes listed whether or not a shard names them; addresses only shards name join during the shard pass.
  const listed = new Set<string>(snapshot.nodes.keys());
  for (const a of snapshot.nodeInfo.keys()) listed.add(a);
  for (const a of snapshot.drains.keys()) listed.add(a);
  for (const a of metrics.keys()) listed.add(a);

  const pass = (previous === undefined ? null : incrementalPass(snapshot, previous, listed)) ?? fullPass(snapshot, listed);
  const { addresses, nodeIndex, columns, tally } = pass;

  const migrations = listMigrations(snapshot, firstSeen, now, migrationCandidates(columns, tally.alive)).sort(oldestFirst);
  const stuck = stuckAmong(migrations, stuckTimeoutMs);
  for (const s of stuck) columns.flags[s.shardId]! |= SHARD_FLAG.stuck;

  const figures = addresses.map((a) => latestFigures(metrics.get(a)));
  // Same scrapes and load records as the previous view: only the shards that changed hands need their figures again.
  const sameLoad = pass.changed !== null && previous?.loadFrom.metrics === metrics && previous.loadFrom.load === snapshot.load;
  fillLoadColumns(snapshot, addresses, figures, columns, sameLoad ? { shards: previous.shards, changed: pass.changed } : null);

  const leaderNow = leaderAddress(snapshot.leader);
  const nodes = nodeViews(snapshot, addresses, figures, tally, metrics, columns.current);
  const hotShards = hottestShards(metrics, input.hotShardLimit ?? 20);

  return {
    snapshot,
    now,
    stuckTimeoutMs,
    leader: leaderNow === null ? null : { address: leaderNow, alive: snapshot.nodes.has(leaderNow) },
    nodes,
    nodeIndex,
    gates: [...snapshot.gates.keys()].sort(compareAddresses),
    upstream: upstreamPresence(snapshot, new Map(addresses.map((a, i) => [a, tally.owned[i]!]))),
    reshard: reshardProgress(snapshot),
    cannotFollow: cannotFollowCount(snapshot),
    shards: columns,
    counts: { ...tally.counts, stuck: stuck.length },
    imbalance: imbalanceSummary(nodes, tally.counts.noTarget),
    balancer: balancerView(snapshot, input.balancer, firstSeen, now, previous?.balancer),
    migrations,
    stuck,
    hotShards,
    // Thousands of forged keys must not cost a sort per frame: reused while the snapshot's entries are the same.
    malformed:
      previous?.snapshot.malformed === snapshot.malformed
        ? previous.malformed
        : [...snapshot.malformed.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    unmatchedMetrics: input.unmatchedMetrics ?? [],
    migrationIndex: new Map(migrations.map((m) => [m.shardId, m])),
    stuckIndex: new Map(stuck.map((s) => [s.shardId, s])),
    loadFrom: { metrics, load: snapshot.load },
  };
}

/** One row per node address (the pass's order): its records, counts against its weighted ideal, latest figures. */
function nodeViews(
  snapshot: ClusterSnapshot,
  addresses: readonly string[],
  figures: readonly (NodeFigures | null)[],
  tally: Tally,
  metrics: ReadonlyMap<string, NodeMetrics>,
  current: Int32Array,
): NodeView[] {
  const ctx = plannerContext(snapshot);
  const leaderNow = leaderAddress(snapshot.leader);
  return addresses.map((address, index): NodeView => {
    const info = snapshot.nodeInfo.get(address);
    const load = snapshot.load.get(address);
    const f = figures[index] ?? null;
    const eligible = ctx.index.has(address);
    const weight = nodeWeight(snapshot, address);
    // The shards of the layout now (a transition's absent high shards are nobody's to hold).
    const ideal = eligible ? (tally.counts.total * weight) / ctx.totalWeight : 0;
    const targets = tally.targets[index]!;
    const alive = tally.alive[index] === 1;
    return {
      index,
      address,
      nodeId: info?.nodeId ?? null,
      alive,
      leader: address === leaderNow,
      ready: f?.ready ?? null,
      status: eligible ? 'eligible' : (ctx.ineligible.get(address) ?? 'dead'),
      draining: snapshot.drains.has(address),
      stopping: info?.state === 'stopping',
      weight,
      shardsTarget: targets,
      shardsOwned: tally.owned[index]!,
      shardsPinned: tally.pinned[index]!,
      ideal,
      targetsOverIdeal: eligible ? targets / ideal : null,
      objects: ownedObjects(f, index, current) ?? loadSum(load, 1),
      callRate: f?.callRate ?? loadSum(load, 2),
      lockAcquisitions: f?.lockAcquisitions ?? null,
      lockWaitP99Ms: f?.lockWaitP99Ms ?? null,
      writeLocksHeld: f?.writeLocksHeld ?? null,
      lockTimeouts: f?.lockTimeouts ?? null,
      cpu: load?.cpu ?? null,
      rssBytes: load?.rssBytes ?? null,
      version: info?.version ?? null,
      startedAt: info?.startedAt ?? null,
      metrics: metricsStatus(metrics.get(address), alive),
    };
  });
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

/** Unknown starts first (they may be the oldest; the longest seen first), then by start. */
function oldestFirst(a: Migration, b: Migration): number {
  if (a.since === null || b.since === null) {
    if (a.since !== null) return 1;
    if (b.since !== null) return -1;
    return b.seenForMs - a.seenForMs || a.shardId - b.shardId;
  }
  return a.since - b.since || a.shardId - b.shardId;
}

function metricsStatus(m: NodeMetrics | undefined, alive: boolean): MetricsStatus {
  if (m === undefined) return alive ? NOT_SCRAPED : { kind: 'none', reason: 'node not alive' };
  if (m.kind === 'ok') return { kind: 'ok', url: m.url, atMs: m.atMs };
  if (m.kind === 'none') return m;
  return { kind: m.kind, url: m.url, atMs: m.atMs, reason: m.reason };
}

/**
 * A node's objects as its metrics count them, in the shards it owns now (CurrentNode) and outside any shard: upstream's
 * gauge keeps the objects of shards a node released; null when the node exports no objects gauge.
 */
function ownedObjects(f: NodeFigures | null, index: number, current: Int32Array): number | null {
  if (f === null || f.objects === null) return null;
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
