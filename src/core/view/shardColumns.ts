/**
 * The view's per-shard columns: the node index columns and flags from the snapshot's shard entries (a full pass, or
 * an incremental one over the entries changed since the previous view), the states and counts tallied from them, the
 * shards grouped by owner (ShardIndex), and the reads over them (one shard's row, a filtered selection).
 */
import { isPinned } from '../keyspace/shardValue.js';
import { compareAddresses } from '../planner/context.js';
import type { Migration } from '../planner/stuck.js';
import { pairLowCount } from '../sharding/layout.js';
import type { ClusterSnapshot, ShardEntry } from '../snapshot/snapshot.js';
import type { ClusterView, ShardColumns, ShardCounts, ShardFilter, ShardRow } from './clusterViewTypes.js';
import { ShardIndex } from './shardIndex.js';
import { classifyShard, SHARD_FLAG, SHARD_STATE_INDEX, SHARD_STATES } from './shardState.js';

export interface ShardPass {
  /** Node addresses, byte-wise sorted; `columns.target` and `.current` index into it. */
  readonly addresses: readonly string[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  readonly columns: ShardColumns;
  readonly tally: Tally;
  readonly index: ShardIndex;
  /** Shards whose entry differs from the previous view's (incremental pass); null after a full pass. */
  readonly changed: readonly number[] | null;
  /** Node indexes a changed shard named, before or after (incremental pass). */
  readonly touched: ReadonlySet<number>;
}

/** Shard counts per node and in all, from the index columns; an incremental pass adjusts them shard by shard. */
export class Tally {
  readonly targets: Int32Array;
  readonly owned: Int32Array;
  readonly pinned: Int32Array;
  private readonly perState = new Int32Array(SHARD_STATES.length);
  private ownedAlive = 0;
  private inMigration = 0;
  private pinnedTotal = 0;
  private withWarnings = 0;

  /** `from`: a tally to continue from (its per-node figures are copied, never shared). */
  constructor(
    /** Per node index: 1 when registered. */
    readonly alive: Uint8Array,
    private readonly numShards: number,
    from?: Tally,
  ) {
    const m = alive.length;
    this.targets = from === undefined ? new Int32Array(m) : from.targets.slice();
    this.owned = from === undefined ? new Int32Array(m) : from.owned.slice();
    this.pinned = from === undefined ? new Int32Array(m) : from.pinned.slice();
    if (from !== undefined) {
      this.perState.set(from.perState);
      this.ownedAlive = from.ownedAlive;
      this.inMigration = from.inMigration;
      this.pinnedTotal = from.pinnedTotal;
      this.withWarnings = from.withWarnings;
    }
  }

  /** Counts a shard in (`sign` 1) or out (-1): its target, current, flags and state. */
  count(t: number, c: number, f: number, s: number, sign: 1 | -1): void {
    this.perState[s]! += sign;
    if (t >= 0) {
      this.targets[t]! += sign;
      if ((f & SHARD_FLAG.pinned) !== 0) this.pinned[t]! += sign;
    }
    if (c >= 0) {
      this.owned[c]! += sign;
      if (this.alive[c] === 1) this.ownedAlive += sign;
    }
    if ((f & SHARD_FLAG.pinned) !== 0) this.pinnedTotal += sign;
    if ((f & SHARD_FLAG.inMigration) !== 0) this.inMigration += sign;
    if ((f & SHARD_FLAG.warnings) !== 0) this.withWarnings += sign;
  }

  /** Shards in the layout now: a transition's absent high shards are outside it, in no count but `absent`. */
  get total(): number {
    return this.numShards - this.perState[SHARD_STATE_INDEX.absent]!;
  }

  get counts(): Omit<ShardCounts, 'stuck'> {
    const n = this.total;
    return {
      total: n,
      owned: this.ownedAlive,
      unowned: n - this.ownedAlive,
      stable: this.perState[SHARD_STATE_INDEX.stable]!,
      migrating: this.perState[SHARD_STATE_INDEX.migrating]!,
      unclaimed: this.perState[SHARD_STATE_INDEX.unclaimed]!,
      noTarget: this.perState[SHARD_STATE_INDEX['no-target']]!,
      orphaned: this.perState[SHARD_STATE_INDEX.orphaned]!,
      absent: this.perState[SHARD_STATE_INDEX.absent]!,
      inMigration: this.inMigration,
      pinned: this.pinnedTotal,
      withWarnings: this.withWarnings,
    };
  }
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

/**
 * Not plainly stable: the map marks it, and it may be in migration (stuck shards are in migration). An absent shard
 * is not: the map shows the absent shards as their band, and they have no entry to be in migration.
 */
function isNotable(state: number, flags: number): boolean {
  return (state !== SHARD_STATE_INDEX.stable && state !== SHARD_STATE_INDEX.absent) || (flags & SHARD_FLAG.pinned) !== 0;
}

/**
 * A shard's state: during a shard-count transition, a high shard (`id >= low`) without a key is `absent` (outside the
 * layout, served by its low shard); otherwise as its target and owner say.
 */
function stateOf(id: number, entry: ShardEntry | undefined, t: number, c: number, alive: Uint8Array, low: number): number {
  return id >= low && entry === undefined ? SHARD_STATE_INDEX.absent : classifyShard(t, c, alive);
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
  const { state, flags, target, current } = columns;
  for (let id = 0; id < n; id++) {
    const t = target[id]!;
    const c = current[id]!;
    if (t >= 0) target[id] = renumber[t]!;
    if (c >= 0) current[id] = renumber[c]!;
  }
  const tally = new Tally(
    Uint8Array.from(addresses, (a) => (snapshot.nodes.has(a) ? 1 : 0)),
    n,
  );
  const low = pairLowCount(snapshot.layout) ?? n;
  for (let id = 0; id < n; id++) {
    const s = stateOf(id, snapshot.shards[id], target[id]!, current[id]!, tally.alive, low);
    state[id] = s;
    tally.count(target[id]!, current[id]!, flags[id]!, s, 1);
  }
  const index = new ShardIndex(addresses.length, current, target, (id) => state[id] === SHARD_STATE_INDEX.absent, (id) => isNotable(state[id]!, flags[id]!));
  return { addresses, nodeIndex, columns, tally, index, changed: null, touched: new Set() };
}

/**
 * The previous view's columns and index, updated in place for the changed shards only, while the node list and the
 * alive set are unchanged: work in proportion to the shards that changed, not to the cluster. `changedHint`, when
 * given, lists every shard whose entry may differ from the previous view's snapshot (the watch's changes); without
 * it every entry is compared. Null when a full pass is needed: the node list changed, a changed shard names an
 * address not listed, or an address only shards named is no longer named. Past the checks of the node list, the
 * previous view's storage is taken over (retired) whatever the outcome: its shard columns must not be read again.
 */
export function incrementalPass(
  snapshot: ClusterSnapshot,
  previous: ClusterView,
  listed: ReadonlySet<string>,
  changedHint: Iterable<number> | null,
): ShardPass | null {
  const storage = previous.internal.storage;
  if (storage.retired) return null;
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
  // Which shards may be absent changes with the transition: every shard's state may.
  const low = pairLowCount(snapshot.layout) ?? snapshot.numShards;
  if (low !== (pairLowCount(previous.snapshot.layout) ?? snapshot.numShards)) return null;

  const before = previous.snapshot.shards;
  const { nodeIndex } = previous;
  const n = snapshot.numShards;
  // Checked before anything is written, so a fall back to the full pass leaves nothing half-updated.
  const changed: number[] = [];
  const known = (entry: ShardEntry | undefined): boolean =>
    entry === undefined || ((entry.target === '' || nodeIndex.has(entry.target)) && (entry.current === '' || nodeIndex.has(entry.current)));
  if (changedHint === null) {
    for (let id = 0; id < n; id++) {
      if (snapshot.shards[id] === before[id]) continue;
      if (!known(snapshot.shards[id])) return null;
      changed.push(id);
    }
  } else {
    for (const id of changedHint) {
      if (!(id >= 0 && id < n) || snapshot.shards[id] === before[id]) continue;
      if (!known(snapshot.shards[id])) return null;
      changed.push(id);
    }
  }

  storage.retired = true;
  const { columns, index } = storage;
  const tally = new Tally(storage.tally.alive, n, storage.tally);
  const { state, flags, target, current } = columns;
  const touched = new Set<number>();
  for (const id of previous.internal.stuckIds) flags[id]! &= ~SHARD_FLAG.stuck;
  for (const id of changed) {
    touched.add(target[id]!).add(current[id]!);
    tally.count(target[id]!, current[id]!, flags[id]!, state[id]!, -1);
    const entry = snapshot.shards[id];
    const t = entry === undefined || entry.target === '' ? -1 : nodeIndex.get(entry.target)!;
    const c = entry === undefined || entry.current === '' ? -1 : nodeIndex.get(entry.current)!;
    const f = entry === undefined ? 0 : valueFlags(entry);
    const s = stateOf(id, entry, t, c, tally.alive, low);
    flags[id] = f;
    target[id] = t;
    current[id] = c;
    state[id] = s;
    tally.count(t, c, f, s, 1);
    touched.add(t).add(c);
    index.move(id, c, t, s === SHARD_STATE_INDEX.absent);
    index.setNotable(id, isNotable(s, f));
  }
  for (let i = 0; i < addresses.length; i++) {
    if (!listed.has(addresses[i]!) && tally.targets[i]! + tally.owned[i]! === 0) return null;
  }
  touched.delete(-1);
  return { addresses, nodeIndex, columns, tally, index, changed, touched };
}

/** A shard's migration in the view (its state and age, and what the age rests on); undefined when settled. */
export function shardMigration(view: ClusterView, id: number): Migration | undefined {
  return view.internal.reading.migration(id);
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
    ageMs: shardMigration(view, id)?.ageMs ?? null,
    ageSource: shardMigration(view, id)?.ageSource ?? null,
    reason: view.internal.reading.stuckShard(id)?.reason ?? null,
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
