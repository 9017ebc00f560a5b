import type { LoadRecord } from '../keyspace/records.js';
import { isPinned } from '../keyspace/shardValue.js';
import { compareAddresses, nodeWeight, plannerContext } from '../planner/context.js';
import type { ImbalanceFigures } from '../planner/imbalance.js';
import { type FirstSeen, listMigrations, type Migration, stuckAmong, type StuckShard } from '../planner/stuck.js';
import { type ClusterSnapshot, leaderAddress, type MalformedEntry, type ShardEntry } from '../snapshot/snapshot.js';
import { type BalancerInput, type BalancerView, balancerView } from './balancer.js';
import { type HotShardFigures, latestFigures, type NodeFigures, type NodeMetrics } from './nodeMetrics.js';
import { classifyShard, SHARD_FLAG, SHARD_STATE_INDEX, SHARD_STATES, type ShardFilterState, type ShardState } from './shardState.js';

export interface ViewInput {
  readonly snapshot: ClusterSnapshot;
  /** Epoch ms. */
  readonly now: number;
  readonly stuckTimeoutMs: number;
  readonly balancer: BalancerInput;
  /** Per node address, its latest scrape summary (`summarizeScrape`); a node missing here shows metrics `none`. */
  readonly metrics?: ReadonlyMap<string, NodeMetrics>;
  /** Explicit metrics URLs that could not be matched to a node, and why. */
  readonly unmatchedMetrics?: readonly { readonly url: string; readonly reason: string }[];
  /** First sightings of migrations without a record (`trackFirstSeen`), kept by watchers; one-shot commands omit it. */
  readonly firstSeen?: ReadonlyMap<number, FirstSeen>;
  /** The view built before from an earlier input, so unchanged expensive parts are reused. */
  readonly previous?: ClusterView;
  /** How many of the hottest lock-contended shards to keep (default 20). */
  readonly hotShardLimit?: number;
}

/** Whether a node's metrics could be read, and if not, why. */
export type MetricsStatus =
  | { readonly kind: 'ok'; readonly url: string; readonly atMs: number }
  | { readonly kind: 'unreachable' | 'malformed'; readonly url: string; readonly atMs: number; readonly reason: string }
  | { readonly kind: 'none'; readonly reason: string };

/** `eligible` for new targets, why an alive node is not, or `dead` (not registered, only named by records). */
export type NodeStatus = 'eligible' | 'draining' | 'stopping' | 'dead';

/**
 * One node. The metrics figures (`ready` ... `lockTimeouts`) are those of its latest scrape (the last good one while
 * it does not answer); `objects` and `callRate` fall back to its load record in etcd. null: unknown, never 0.
 */
export interface NodeView
  extends Pick<NodeFigures, 'ready' | 'objects' | 'callRate' | 'lockAcquisitions' | 'lockWaitP99Ms' | 'writeLocksHeld' | 'lockTimeouts'> {
  /** Position in `ClusterView.nodes`; the value stored in `ShardColumns.target` and `.current`. */
  readonly index: number;
  readonly address: string;
  /** From nodeinfo (our nodes); null for upstream nodes. */
  readonly nodeId: string | null;
  readonly alive: boolean;
  readonly leader: boolean;
  readonly status: NodeStatus;
  readonly draining: boolean;
  readonly stopping: boolean;
  readonly weight: number;
  readonly shardsTarget: number;
  readonly shardsOwned: number;
  readonly shardsPinned: number;
  /** Weighted ideal share of shards (0 when not eligible). */
  readonly ideal: number;
  readonly targetsOverIdeal: number | null;
  /** From the load record: CPU in cores and resident memory. */
  readonly cpu: number | null;
  readonly rssBytes: number | null;
  readonly version: string | null;
  readonly startedAt: number | null;
  readonly metrics: MetricsStatus;
}

/**
 * Per-shard figures as flat arrays indexed by shard ID, so 8192 shards cost no objects per rebuild. Node columns hold
 * an index into `ClusterView.nodes` (-1 for none).
 */
export interface ShardColumns {
  /** Index into SHARD_STATES. */
  readonly state: Uint8Array;
  /** SHARD_FLAG bits. */
  readonly flags: Uint8Array;
  readonly target: Int32Array;
  readonly current: Int32Array;
  /** Objects per shard (NaN when unknown). */
  readonly objects: Float64Array;
  /** Calls per second per shard (NaN when unknown). */
  readonly calls: Float64Array;
}

export interface ShardCounts {
  readonly total: number;
  /** CurrentNode set and alive. */
  readonly owned: number;
  readonly unowned: number;
  readonly stable: number;
  /**
   * The state `migrating`: owned by one alive node, targeted at another. The one figure called "migrating" (the
   * console's header, `status`, `watch`); the other states and `inMigration` are counted apart.
   */
  readonly migrating: number;
  readonly unclaimed: number;
  readonly noTarget: number;
  readonly orphaned: number;
  /** TargetNode != CurrentNode, whatever the state. */
  readonly inMigration: number;
  readonly pinned: number;
  readonly stuck: number;
  /** Values parsed with warnings. */
  readonly withWarnings: number;
}

export interface HotShardView extends HotShardFigures {
  readonly node: string;
}

/** The console data model: one immutable, pre-aggregated view of the cluster, rendered by the console and the CLI. */
export interface ClusterView {
  readonly snapshot: ClusterSnapshot;
  readonly now: number;
  readonly stuckTimeoutMs: number;
  readonly leader: { readonly address: string; readonly alive: boolean } | null;
  /** Alive nodes and every address a record names, byte-wise sorted. */
  readonly nodes: readonly NodeView[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  readonly gates: readonly string[];
  readonly shards: ShardColumns;
  readonly counts: ShardCounts;
  readonly imbalance: Omit<ImbalanceFigures, 'nodes'>;
  readonly balancer: BalancerView;
  /** Every unsettled shard (in migration, or pinned to a node that is not alive: what can get stuck), oldest first. */
  readonly migrations: readonly Migration[];
  /** Migrations at least `stuckTimeoutMs` old, oldest first, each with its reason. */
  readonly stuck: readonly StuckShard[];
  /** The most lock-contended shards over every node, by wait time. */
  readonly hotShards: readonly HotShardView[];
  /** Keys under the prefix that could not be decoded, by key. */
  readonly malformed: readonly MalformedEntry[];
  readonly unmatchedMetrics: readonly { readonly url: string; readonly reason: string }[];
  /** Internal index for shardRow. */
  readonly migrationIndex: ReadonlyMap<number, Migration>;
  readonly stuckIndex: ReadonlyMap<number, StuckShard>;
  /** Internal: what the per-shard objects and calls were filled from, so that the next rebuild can reuse them. */
  readonly loadFrom: { readonly metrics: ReadonlyMap<string, NodeMetrics>; readonly load: ClusterSnapshot['load'] };
}

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
  const sources = shardLoadSources(snapshot, addresses, figures);
  // Same scrapes and load records as the previous view: only the shards that changed hands need their figures again.
  if (pass.changed !== null && previous?.loadFrom.metrics === metrics && previous.loadFrom.load === snapshot.load) {
    columns.objects.set(previous.shards.objects);
    columns.calls.set(previous.shards.calls);
    for (const id of pass.changed) fillOneShardLoad(id, columns, sources);
  } else {
    fillShardLoad(snapshot.numShards, columns, sources);
  }

  const ctx = plannerContext(snapshot);
  const leaderNow = leaderAddress(snapshot.leader);
  const nodes = addresses.map((address, index): NodeView => {
    const info = snapshot.nodeInfo.get(address);
    const load = snapshot.load.get(address);
    const f = figures[index] ?? null;
    const eligible = ctx.index.has(address);
    const weight = nodeWeight(snapshot, address);
    const ideal = eligible ? (snapshot.numShards * weight) / ctx.totalWeight : 0;
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
      metrics: metricsStatus(metrics.get(address), alive),
    };
  });

  const hotShards = hottestShards(metrics, input.hotShardLimit ?? 20);

  return {
    snapshot,
    now,
    stuckTimeoutMs,
    leader: leaderNow === null ? null : { address: leaderNow, alive: snapshot.nodes.has(leaderNow) },
    nodes,
    nodeIndex,
    gates: [...snapshot.gates.keys()].sort(compareAddresses),
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

/** Shards listMigrations must look at: in migration, or pinned to a target that is not alive. From the columns alone. */
function migrationCandidates(columns: ShardColumns, alive: Uint8Array): number[] {
  const { flags, target } = columns;
  const out: number[] = [];
  for (let id = 0; id < flags.length; id++) {
    const f = flags[id]!;
    if ((f & SHARD_FLAG.inMigration) !== 0 || ((f & SHARD_FLAG.pinned) !== 0 && target[id]! >= 0 && alive[target[id]!] !== 1)) out.push(id);
  }
  return out;
}

function oldestFirst(a: Migration, b: Migration): number {
  return a.since - b.since || a.shardId - b.shardId;
}

function metricsStatus(m: NodeMetrics | undefined, alive: boolean): MetricsStatus {
  if (m === undefined) return alive ? NOT_SCRAPED : { kind: 'none', reason: 'node not alive' };
  if (m.kind === 'ok') return { kind: 'ok', url: m.url, atMs: m.atMs };
  if (m.kind === 'none') return m;
  return { kind: m.kind, url: m.url, atMs: m.atMs, reason: m.reason };
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

interface ShardPass {
  /** Node addresses, byte-wise sorted; `columns.target` and `.current` index into it. */
  readonly addresses: readonly string[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  readonly columns: ShardColumns;
  readonly tally: Tally;
  /** Shards whose entry differs from the previous view's (incremental pass); null after a full pass. */
  readonly changed: readonly number[] | null;
}

interface Tally {
  /** Per node index. */
  readonly alive: Uint8Array;
  readonly targets: Int32Array;
  readonly owned: Int32Array;
  readonly pinned: Int32Array;
  readonly counts: Omit<ShardCounts, 'stuck'>;
}

function newColumns(n: number): ShardColumns {
  return {
    state: new Uint8Array(n),
    flags: new Uint8Array(n),
    target: new Int32Array(n).fill(-1),
    current: new Int32Array(n).fill(-1),
    objects: new Float64Array(n),
    calls: new Float64Array(n),
  };
}

/** Flags that depend on the value alone (stuck depends on time and is set afterwards). */
function valueFlags(entry: ShardEntry): number {
  return (
    (isPinned(entry) ? SHARD_FLAG.pinned : 0) |
    (entry.target !== entry.current ? SHARD_FLAG.inMigration : 0) |
    (entry.warnings.length > 0 ? SHARD_FLAG.warnings : 0)
  );
}

/** Every shard from scratch: node indexes are assigned as addresses appear, then renumbered in sorted order. */
function fullPass(snapshot: ClusterSnapshot, listed: ReadonlySet<string>): ShardPass {
  const n = snapshot.numShards;
  const columns = newColumns(n);
  const seen: string[] = [...listed];
  const provisional = new Map(seen.map((a, i) => [a, i]));
  const indexOf = (address: string): number => {
    let i = provisional.get(address);
    if (i === undefined) {
      i = seen.length;
      seen.push(address);
      provisional.set(address, i);
    }
    return i;
  };
  for (let id = 0; id < n; id++) {
    const entry = snapshot.shards[id];
    if (entry === undefined) continue;
    columns.flags[id] = valueFlags(entry);
    if (entry.target !== '') columns.target[id] = indexOf(entry.target);
    if (entry.current !== '') columns.current[id] = entry.current === entry.target ? columns.target[id]! : indexOf(entry.current);
  }
  const addresses = [...seen].sort(compareAddresses);
  const nodeIndex = new Map(addresses.map((a, i) => [a, i]));
  const renumber = Int32Array.from(seen, (a) => nodeIndex.get(a)!);
  for (let id = 0; id < n; id++) {
    const t = columns.target[id]!;
    const c = columns.current[id]!;
    if (t >= 0) columns.target[id] = renumber[t]!;
    if (c >= 0) columns.current[id] = renumber[c]!;
  }
  return { addresses, nodeIndex, columns, tally: tallyShards(snapshot, addresses, columns), changed: null };
}

/**
 * The previous view's columns with only the changed shards (entries replaced since) recomputed, while the node list
 * and the alive set are unchanged. Null when a full pass is needed: the node list changed, a changed shard names an
 * address not listed, or an address only shards named is no longer named.
 */
function incrementalPass(snapshot: ClusterSnapshot, previous: ClusterView, listed: ReadonlySet<string>): ShardPass | null {
  const addresses = previous.nodes.map((node) => node.address);
  let aliveCount = 0;
  for (const node of previous.nodes) {
    if (node.alive !== snapshot.nodes.has(node.address)) return null;
    if (node.alive) aliveCount++;
    // Named by shards only: kept while some shard still names it (checked after the tally).
    if (!listed.has(node.address) && node.shardsTarget + node.shardsOwned === 0) return null;
  }
  if (aliveCount !== snapshot.nodes.size) return null;
  for (const a of listed) if (!previous.nodeIndex.has(a)) return null;

  const p = previous.shards;
  const columns: ShardColumns = {
    state: p.state.slice(),
    flags: p.flags.slice(),
    target: p.target.slice(),
    current: p.current.slice(),
    objects: new Float64Array(p.objects.length),
    calls: new Float64Array(p.calls.length),
  };
  for (const s of previous.stuck) columns.flags[s.shardId]! &= ~SHARD_FLAG.stuck;
  const before = previous.snapshot.shards;
  const { nodeIndex } = previous;
  const changed: number[] = [];
  for (let id = 0; id < snapshot.numShards; id++) {
    const entry = snapshot.shards[id];
    if (entry === before[id]) continue;
    changed.push(id);
    if (entry === undefined) {
      columns.flags[id] = 0;
      columns.target[id] = -1;
      columns.current[id] = -1;
      continue;
    }
    const t = entry.target === '' ? -1 : nodeIndex.get(entry.target);
    const c = entry.current === '' ? -1 : nodeIndex.get(entry.current);
    if (t === undefined || c === undefined) return null;
    columns.flags[id] = valueFlags(entry);
    columns.target[id] = t;
    columns.current[id] = c;
  }
  const tally = tallyShards(snapshot, addresses, columns);
  for (let i = 0; i < addresses.length; i++) {
    if (!listed.has(addresses[i]!) && tally.targets[i]! + tally.owned[i]! === 0) return null;
  }
  return { addresses, nodeIndex, columns, tally, changed };
}

/** States and every count, from the index columns alone. */
function tallyShards(snapshot: ClusterSnapshot, addresses: readonly string[], columns: ShardColumns): Tally {
  const alive = Uint8Array.from(addresses, (a) => (snapshot.nodes.has(a) ? 1 : 0));
  const m = addresses.length;
  const targets = new Int32Array(m);
  const owned = new Int32Array(m);
  const pinned = new Int32Array(m);
  const perState = new Int32Array(SHARD_STATES.length);
  let ownedAlive = 0;
  let inMigration = 0;
  let pinnedTotal = 0;
  let withWarnings = 0;
  const { state, flags, target, current } = columns;
  for (let id = 0; id < snapshot.numShards; id++) {
    const t = target[id]!;
    const c = current[id]!;
    const f = flags[id]!;
    const s = classifyShard(t, c, alive);
    state[id] = s;
    perState[s]!++;
    if (t >= 0) {
      targets[t]!++;
      if ((f & SHARD_FLAG.pinned) !== 0) pinned[t]!++;
    }
    if (c >= 0) {
      owned[c]!++;
      if (alive[c] === 1) ownedAlive++;
    }
    if ((f & SHARD_FLAG.pinned) !== 0) pinnedTotal++;
    if ((f & SHARD_FLAG.inMigration) !== 0) inMigration++;
    if ((f & SHARD_FLAG.warnings) !== 0) withWarnings++;
  }
  const n = snapshot.numShards;
  return {
    alive,
    targets,
    owned,
    pinned,
    counts: {
      total: n,
      owned: ownedAlive,
      unowned: n - ownedAlive,
      stable: perState[SHARD_STATE_INDEX.stable]!,
      migrating: perState[SHARD_STATE_INDEX.migrating]!,
      unclaimed: perState[SHARD_STATE_INDEX.unclaimed]!,
      noTarget: perState[SHARD_STATE_INDEX['no-target']]!,
      orphaned: perState[SHARD_STATE_INDEX.orphaned]!,
      inMigration,
      pinned: pinnedTotal,
      withWarnings,
    },
  };
}

/**
 * Where per-shard objects and call rates come from, per node index. A node that reports per-shard figures at all
 * reports 0 for the shards it owns and does not list; figures count only from the shard's current owner, since a
 * former owner's report may still list a shard it handed over. Scrapes are fresher than load records (reported every
 * few seconds, smoothed), so they win.
 */
interface ShardLoadSources {
  readonly objectsKnown: Uint8Array;
  readonly callsKnown: Uint8Array;
  readonly load: readonly (LoadRecord | undefined)[];
  readonly figures: readonly (NodeFigures | null)[];
}

function shardLoadSources(snapshot: ClusterSnapshot, addresses: readonly string[], figures: readonly (NodeFigures | null)[]): ShardLoadSources {
  const load = addresses.map((a) => snapshot.load.get(a));
  return {
    objectsKnown: Uint8Array.from(figures, (f, i) => ((f !== null && f.objects !== null) || load[i] !== undefined ? 1 : 0)),
    callsKnown: Uint8Array.from(figures, (f, i) => ((f !== null && f.callRate !== null) || load[i] !== undefined ? 1 : 0)),
    load,
    figures,
  };
}

/** Objects and call rate of every shard. */
function fillShardLoad(n: number, columns: ShardColumns, sources: ShardLoadSources): void {
  const { objectsKnown, callsKnown, load, figures } = sources;
  const { current, objects, calls } = columns;
  for (let id = 0; id < n; id++) {
    const c = current[id]!;
    objects[id] = c >= 0 && objectsKnown[c] === 1 ? 0 : Number.NaN;
    calls[id] = c >= 0 && callsKnown[c] === 1 ? 0 : Number.NaN;
  }
  // Indexed loops and forEach: destructuring iterators over 8192 entries per rebuild shows in profiles.
  for (let i = 0; i < load.length; i++) {
    const entries = load[i]?.shards ?? [];
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      const id = e[0];
      if (id >= n || current[id] !== i) continue;
      objects[id] = e[1];
      calls[id] = e[2];
    }
  }
  for (let i = 0; i < figures.length; i++) {
    const f = figures[i];
    if (f === null || f === undefined) continue;
    f.shardObjects.forEach((o, id) => {
      if (id < n && current[id] === i) objects[id] = o;
    });
    f.shardCallRates.forEach((r, id) => {
      if (id < n && current[id] === i) calls[id] = r;
    });
  }
}

/** Objects and call rate of one shard, as fillShardLoad gives them. */
function fillOneShardLoad(id: number, columns: ShardColumns, sources: ShardLoadSources): void {
  const c = columns.current[id]!;
  let objects = c >= 0 && sources.objectsKnown[c] === 1 ? 0 : Number.NaN;
  let calls = c >= 0 && sources.callsKnown[c] === 1 ? 0 : Number.NaN;
  if (c >= 0) {
    const record = sources.load[c];
    const entry = record === undefined ? undefined : loadIndex(record).get(id);
    if (entry !== undefined) {
      objects = entry[1];
      calls = entry[2];
    }
    const f = sources.figures[c];
    objects = f?.shardObjects.get(id) ?? objects;
    calls = f?.shardCallRates.get(id) ?? calls;
  }
  columns.objects[id] = objects;
  columns.calls[id] = calls;
}

/** A load record's entries by shard ID (the last one wins, as in fillShardLoad); built once per record. */
const loadIndexes = new WeakMap<LoadRecord, Map<number, LoadRecord['shards'][number]>>();

function loadIndex(record: LoadRecord): Map<number, LoadRecord['shards'][number]> {
  let index = loadIndexes.get(record);
  if (index === undefined) {
    index = new Map();
    for (const e of record.shards) index.set(e[0], e);
    loadIndexes.set(record, index);
  }
  return index;
}

/** One shard in full, for tables, JSON and the console's details. */
export interface ShardRow {
  readonly id: number;
  readonly target: string;
  readonly current: string;
  readonly flags: readonly string[];
  readonly state: ShardState;
  readonly pinned: boolean;
  readonly stuck: boolean;
  /** Age of the migration (null when not in migration). */
  readonly ageMs: number | null;
  /** The stuck reason (null when not stuck). */
  readonly reason: string | null;
  /** 0 when the key is absent. */
  readonly modRevision: number;
  /** The stored value (null when the key is absent). */
  readonly raw: string | null;
  readonly warnings: readonly string[];
  readonly objects: number | null;
  readonly calls: number | null;
}

export function shardRow(view: ClusterView, id: number): ShardRow {
  const entry = view.snapshot.shards[id];
  const flags = view.shards.flags[id]!;
  const objects = view.shards.objects[id]!;
  const calls = view.shards.calls[id]!;
  return {
    id,
    target: entry?.target ?? '',
    current: entry?.current ?? '',
    flags: entry?.flags ?? [],
    state: SHARD_STATES[view.shards.state[id]!]!,
    pinned: (flags & SHARD_FLAG.pinned) !== 0,
    stuck: (flags & SHARD_FLAG.stuck) !== 0,
    ageMs: view.migrationIndex.get(id)?.ageMs ?? null,
    reason: view.stuckIndex.get(id)?.reason ?? null,
    modRevision: entry?.modRevision ?? 0,
    raw: entry?.raw ?? null,
    warnings: entry?.warnings ?? [],
    objects: Number.isNaN(objects) ? null : objects,
    calls: Number.isNaN(calls) ? null : calls,
  };
}

export interface ShardFilter {
  /** Shards whose target or current is this node. */
  readonly node?: string;
  /** Any of these states or flags. */
  readonly states?: readonly ShardFilterState[];
  /** Only these IDs (ascending, in range). */
  readonly ids?: readonly number[];
}

/** The IDs of the shards matching every given criterion, ascending. */
export function selectShards(view: ClusterView, filter: ShardFilter): number[] {
  const node = filter.node === undefined ? undefined : (view.nodeIndex.get(filter.node) ?? -2);
  const states = filter.states;
  let stateMask = 0;
  let flagMask = 0;
  for (const s of states ?? []) {
    if (s === 'pinned') flagMask |= SHARD_FLAG.pinned;
    else if (s === 'stuck') flagMask |= SHARD_FLAG.stuck;
    else stateMask |= 1 << SHARD_STATE_INDEX[s];
  }
  const { state, flags, target, current } = view.shards;
  const out: number[] = [];
  const consider = (id: number): void => {
    if (node !== undefined && target[id] !== node && current[id] !== node) return;
    if (states !== undefined && ((1 << state[id]!) & stateMask) === 0 && (flags[id]! & flagMask) === 0) return;
    out.push(id);
  };
  if (filter.ids !== undefined) {
    for (const id of filter.ids) if (id >= 0 && id < view.snapshot.numShards) consider(id);
  } else {
    for (let id = 0; id < view.snapshot.numShards; id++) consider(id);
  }
  return out;
}
