import { compareAddresses, plannerContext } from '../planner/context.js';
import type { ImbalanceFigures } from '../planner/imbalance.js';
import type { FirstSeen } from '../planner/stuck.js';
import { type UpstreamPresence, upstreamPresence } from '../planner/upstream.js';
import { type CannotFollow, cannotFollowCount } from '../planner/countFollowers.js';
import { reshardProgress } from '../planner/reshard.js';
import { type ClusterSnapshot, leaderAddress } from '../snapshot/snapshot.js';
import { balancerView } from './balancer.js';
import type { ClusterView, HotShardView, NodeView, ViewInput, ViewInternals } from './clusterViewTypes.js';
import { fillShardLoad, type LoadSources, loadSources, patchLoadSources, updateShardLoad } from './loadColumns.js';
import { MigrationList, MigrationReading } from './migrationList.js';
import { type DecisionCount, latestFigures, type NodeFigures, type NodeMetrics } from './nodeMetrics.js';
import { allNodeRows, patchNodeRows } from './nodeRows.js';
import { fullPass, incrementalPass, type ShardPass } from './shardColumns.js';
import { SHARD_FLAG } from './shardState.js';

/**
 * The view of a snapshot and the nodes' metrics. Built from `input.previous` when given, the work is in proportion to
 * what changed since: the changed shards (ShardIndex, tally, columns and unsettled shards updated in place), the
 * nodes whose records, metrics or counts changed (the other rows are the previous view's objects). With the hints
 * (`changedShards`, `changedNodes`) nothing else is compared. `previous` is consumed: its shard columns now belong to
 * the new view.
 */
export function buildClusterView(input: ViewInput): ClusterView {
  const { snapshot, now, stuckTimeoutMs } = input;
  const firstSeen = input.firstSeen ?? new Map<number, FirstSeen>();
  const metrics = input.metrics ?? new Map<string, NodeMetrics>();
  const previous =
    input.previous?.snapshot.numShards === snapshot.numShards && input.previous.snapshot.prefix === snapshot.prefix ? input.previous : undefined;
  const before = previous?.internal;
  const changedNodes = input.changedNodes ?? null;

  const listed = listedAddresses(snapshot, metrics, before, changedNodes);
  const pass = (previous === undefined ? null : incrementalPass(snapshot, previous, listed.all, input.changedShards ?? null)) ?? fullPass(snapshot, listed.all);
  const { addresses, nodeIndex, columns, tally, index } = pass;
  // What the previous view kept is reused only after an incremental pass (same nodes, same indexes).
  const same = pass.changed === null ? undefined : before;

  const unsettled = unsettledShards(input, firstSeen, pass, same);
  const stuckIds = unsettled.stuckIds(now, stuckTimeoutMs);
  for (const id of stuckIds) columns.flags[id]! |= SHARD_FLAG.stuck;
  const reading = new MigrationReading(unsettled, now, stuckTimeoutMs);

  const ctx = same !== undefined && sameRecords(same.context, snapshot) ? same.context : { ...recordsOf(snapshot), ctx: plannerContext(snapshot) };
  const leaderNow = leaderAddress(snapshot.leader);
  // Nodes that may have changed, when that is known: named by the hint or by a changed shard, or the leader's role.
  const dirty =
    same !== undefined && changedNodes !== null && ctx === same.context
      ? dirtyNodes(changedNodes, nodeIndex, pass.touched, [previous!.leader?.address, leaderNow])
      : null;

  const sources = shardLoad(pass, snapshot, metrics, same, dirty);

  const rowsInput = { snapshot, now, addresses, tally, metrics, ctx: ctx.ctx, current: columns.current };
  const rows = same !== undefined && dirty !== null ? patchNodeRows(rowsInput, same.rows, dirty) : allNodeRows(rowsInput);
  const internal: ViewInternals = {
    storage: { retired: false, columns, tally, index, migrations: unsettled },
    stuckIds,
    reading,
    loadSources: sources,
    listed,
    context: ctx,
    rows,
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
    upstream: upstreamOf(snapshot, previous, pass),
    reshard: reshardProgress(snapshot),
    cannotFollow: cannotFollowOf(snapshot, previous),
    shards: columns,
    layout: index,
    counts: { ...tally.counts, stuck: stuckIds.length },
    imbalance: previous?.nodes === rows.nodes ? previous.imbalance : imbalanceSummary(rows.nodes, tally.counts.noTarget),
    balancer: balancerView(snapshot, input.balancer, firstSeen, now, previous?.balancer),
    // Worked out when read: the stuck pane, a shard's details, the scripted commands.
    get migrations() {
      return reading.migrations();
    },
    get stuck() {
      return reading.stuck();
    },
    // Only the locks pane shows them: ranked when first read, once per metrics map.
    get hotShards() {
      return hottestShards(metrics, input.hotShardLimit ?? 20);
    },
    get decisions() {
      return decisionCounts(metrics);
    },
    malformed: sortedMalformed(snapshot, previous),
    unmatchedMetrics: input.unmatchedMetrics ?? [],
    internal,
  };
}

/**
 * The unsettled shards: the previous view's list brought up to date, else a new one. The watch's hint lists migration
 * record changes too; a scan of the entries does not, so then the records are compared.
 */
function unsettledShards(input: ViewInput, firstSeen: ReadonlyMap<number, FirstSeen>, pass: ShardPass, same: ViewInternals | undefined): MigrationList {
  const { snapshot, now } = input;
  const hint = input.changedShards ?? null;
  const kept = same?.storage.migrations;
  if (kept !== undefined && kept.update(snapshot, firstSeen, now, hint ?? pass.changed!, hint !== null)) return kept;
  return new MigrationList(new Set(snapshot.nodes.keys()), firstSeen, snapshot.migrations, snapshot, now, pass.index.notable);
}

/**
 * Upstream processes among the members: the previous view's while the members are the same and none is upstream's
 * (the shard counts only matter when one is).
 */
function upstreamOf(snapshot: ClusterSnapshot, previous: ClusterView | undefined, pass: ShardPass): UpstreamPresence {
  const before = previous?.upstream;
  const members = previous?.snapshot;
  if (
    before !== undefined &&
    before.nodes.length === 0 &&
    before.gates.length === 0 &&
    members?.nodes === snapshot.nodes &&
    members.nodeInfo === snapshot.nodeInfo &&
    members.gates === snapshot.gates &&
    members.leader === snapshot.leader
  ) {
    return before;
  }
  return upstreamPresence(snapshot, new Map(pass.addresses.map((a, i) => [a, pass.tally.owned[i]!])));
}

/** Members that cannot follow a shard-count change: the previous view's while the members and the layout are the same. */
function cannotFollowOf(snapshot: ClusterSnapshot, previous: ClusterView | undefined): readonly CannotFollow[] {
  const s = previous?.snapshot;
  if (s?.nodes === snapshot.nodes && s.nodeInfo === snapshot.nodeInfo && s.gates === snapshot.gates && s.layout === snapshot.layout) return previous!.cannotFollow;
  return cannotFollowCount(snapshot);
}

/**
 * Where each shard's load figures come from, and the shard load columns filled: in full, for the changed shards, or
 * for the changed shards and the dirty nodes' shards.
 */
function shardLoad(
  pass: ShardPass,
  snapshot: ClusterSnapshot,
  metrics: ReadonlyMap<string, NodeMetrics>,
  same: ViewInternals | undefined,
  dirty: Set<number> | null,
): LoadSources {
  const { addresses, columns, index, changed } = pass;
  if (same === undefined || changed === null) {
    const sources = loadSources(snapshot, addresses, metrics);
    fillShardLoad(columns, sources);
    return sources;
  }
  const sources = dirty === null ? loadSources(snapshot, addresses, metrics) : patchLoadSources(same.loadSources, snapshot, addresses, metrics, dirty);
  updateShardLoad(columns, index, sources, same.loadSources, changed, ...(dirty === null ? [] : [dirty]));
  return sources;
}

/** Thousands of forged keys must not cost a sort per frame: reused while the snapshot's entries are the same. */
function sortedMalformed(snapshot: ClusterSnapshot, previous: ClusterView | undefined): ClusterView['malformed'] {
  if (previous?.snapshot.malformed === snapshot.malformed) return previous.malformed;
  return [...snapshot.malformed.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Node indexes to look at again: those of the hinted addresses, those changed shards named, the leaders. */
function dirtyNodes(
  changed: Iterable<string>,
  nodeIndex: ReadonlyMap<string, number>,
  touched: ReadonlySet<number>,
  leaders: readonly (string | null | undefined)[],
): Set<number> {
  const dirty = new Set(touched);
  for (const a of [...changed, ...leaders]) {
    const i = a === null || a === undefined ? undefined : nodeIndex.get(a);
    if (i !== undefined) dirty.add(i);
  }
  return dirty;
}

/**
 * Nodes listed whether or not a shard names them; addresses only shards name join during the shard pass. With the
 * hint of the addresses whose records or metrics changed, only those are looked up.
 */
function listedAddresses(
  snapshot: ClusterSnapshot,
  metrics: ReadonlyMap<string, NodeMetrics>,
  before: ViewInternals | undefined,
  changedNodes: Iterable<string> | null,
): ViewInternals['listed'] {
  const held = before?.listed;
  if (held !== undefined && sameRecords(held, snapshot)) {
    if (held.metrics === metrics) return held;
    if (changedNodes !== null) {
      // Scraped nodes are registered ones, so the metrics rarely add an address.
      let all = held.all;
      for (const a of changedNodes) {
        if (all.has(a) || !metrics.has(a)) continue;
        if (all === held.all) all = new Set(all);
        (all as Set<string>).add(a);
      }
      return { ...held, all, metrics };
    }
  }
  const fromRecords =
    held !== undefined && sameRecords(held, snapshot)
      ? held.fromRecords
      : new Set<string>([...snapshot.nodes.keys(), ...snapshot.nodeInfo.keys(), ...snapshot.drains.keys()]);
  let all = fromRecords;
  for (const a of metrics.keys()) {
    if (all.has(a)) continue;
    if (all === fromRecords) all = new Set(all);
    (all as Set<string>).add(a);
  }
  return { ...recordsOf(snapshot), fromRecords, all, metrics };
}

type RecordMaps = Pick<ClusterSnapshot, 'nodes' | 'nodeInfo' | 'drains'>;

function recordsOf(snapshot: ClusterSnapshot): RecordMaps {
  return { nodes: snapshot.nodes, nodeInfo: snapshot.nodeInfo, drains: snapshot.drains };
}

function sameRecords(a: RecordMaps, snapshot: ClusterSnapshot): boolean {
  return a.nodes === snapshot.nodes && a.nodeInfo === snapshot.nodeInfo && a.drains === snapshot.drains;
}

/** The hottest shards over every node's latest figures, per metrics map: views rebuilt between two scrapes share them. */
const hotShardMemo = new WeakMap<ReadonlyMap<string, NodeMetrics>, { readonly limit: number; readonly rows: readonly HotShardView[] }>();

/** One node's hot shards with its address, per scrape: a new metrics map repeats most nodes' figures. */
const nodeHotShards = new WeakMap<NodeFigures, readonly HotShardView[]>();

function hottestShards(metrics: ReadonlyMap<string, NodeMetrics>, limit: number): readonly HotShardView[] {
  const memo = hotShardMemo.get(metrics);
  if (memo?.limit === limit) return memo.rows;
  const rows: HotShardView[] = [];
  metrics.forEach((m, node) => {
    const figures = latestFigures(m);
    if (figures === null || figures.hotShards.length === 0) return;
    let own = nodeHotShards.get(figures);
    if (own === undefined) nodeHotShards.set(figures, (own = figures.hotShards.map((h) => ({ ...h, node }))));
    rows.push(...own);
  });
  rows.sort((a, b) => b.waitSeconds - a.waitSeconds || a.shardId - b.shardId || compareAddresses(a.node, b.node));
  rows.length = Math.min(rows.length, limit);
  hotShardMemo.set(metrics, { limit, rows });
  return rows;
}

/** Decisions summed over the nodes by outcome and reason, per metrics map, most first. */
const decisionMemo = new WeakMap<ReadonlyMap<string, NodeMetrics>, readonly DecisionCount[]>();

function decisionCounts(metrics: ReadonlyMap<string, NodeMetrics>): readonly DecisionCount[] {
  let counts = decisionMemo.get(metrics);
  if (counts !== undefined) return counts;
  const sums = new Map<string, DecisionCount>();
  metrics.forEach((m) => {
    for (const d of latestFigures(m)?.decisions ?? []) {
      const key = `${d.outcome}\u0000${d.reason}`;
      sums.set(key, { ...d, count: (sums.get(key)?.count ?? 0) + d.count });
    }
  });
  counts = [...sums.values()].filter((d) => d.count > 0).sort((a, b) => b.count - a.count || a.outcome.localeCompare(b.outcome) || a.reason.localeCompare(b.reason));
  decisionMemo.set(metrics, counts);
  return counts;
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
