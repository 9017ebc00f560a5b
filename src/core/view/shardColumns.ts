/**
 * The view's per-shard columns: the node index columns and flags from the snapshot's shard entries (a full pass, or
 * an incremental one over the entries changed since the previous view), the states and counts tallied from them,
 * and the reads over them (one shard's row, a filtered selection).
 */
import { isPinned } from '../keyspace/shardValue.js';
import { compareAddresses } from '../planner/context.js';
import { pairLowCount } from '../sharding/layout.js';
import type { ClusterSnapshot, ShardEntry } from '../snapshot/snapshot.js';
import type { ClusterView, ShardColumns, ShardCounts, ShardFilter, ShardRow } from './clusterViewTypes.js';
import { classifyShard, SHARD_FLAG, SHARD_STATE_INDEX, SHARD_STATES } from './shardState.js';

export interface ShardPass {
  /** Node addresses, byte-wise sorted; `columns.target` and `.current` index into it. */
  readonly addresses: readonly string[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  readonly columns: ShardColumns;
  readonly tally: Tally;
  /** Shards whose entry differs from the previous view's (incremental pass); null after a full pass. */
  readonly changed: readonly number[] | null;
}

export interface Tally {
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
export function fullPass(snapshot: ClusterSnapshot, listed: ReadonlySet<string>): ShardPass {
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
export function incrementalPass(snapshot: ClusterSnapshot, previous: ClusterView, listed: ReadonlySet<string>): ShardPass | null {
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

/**
 * States and every count, from the index columns alone (and, during a shard-count transition, which high shards have a
 * key: those without are `absent`, outside the layout, and left out of every count but `absent`).
 */
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
  const low = pairLowCount(snapshot.layout) ?? snapshot.numShards;
  for (let id = 0; id < snapshot.numShards; id++) {
    const t = target[id]!;
    const c = current[id]!;
    const f = flags[id]!;
    const s = id >= low && snapshot.shards[id] === undefined ? SHARD_STATE_INDEX.absent : classifyShard(t, c, alive);
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
  const absent = perState[SHARD_STATE_INDEX.absent]!;
  const n = snapshot.numShards - absent;
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
      absent,
      inMigration,
      pinned: pinnedTotal,
      withWarnings,
    },
  };
}

/** Shards listMigrations must look at: in migration, or pinned to a target that is not alive. From the columns alone. */
export function migrationCandidates(columns: ShardColumns, alive: Uint8Array): number[] {
  const { flags, target } = columns;
  const out: number[] = [];
  for (let id = 0; id < flags.length; id++) {
    const f = flags[id]!;
    if ((f & SHARD_FLAG.inMigration) !== 0 || ((f & SHARD_FLAG.pinned) !== 0 && target[id]! >= 0 && alive[target[id]!] !== 1)) out.push(id);
  }
  return out;
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
    ageSource: view.migrationIndex.get(id)?.ageSource ?? null,
    reason: view.stuckIndex.get(id)?.reason ?? null,
    modRevision: entry?.modRevision ?? 0,
    raw: entry?.raw ?? null,
    warnings: entry?.warnings ?? [],
    objects: Number.isNaN(objects) ? null : objects,
    calls: Number.isNaN(calls) ? null : calls,
  };
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
