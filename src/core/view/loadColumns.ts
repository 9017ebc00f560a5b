import type { LoadRecord } from '../keyspace/records.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import type { ShardColumns } from './clusterViewTypes.js';
import type { NodeFigures } from './nodeMetrics.js';

/**
 * Fills the per-shard objects and calls columns (indexed by shard, node columns already set) from the nodes' scrape
 * figures and load records. `reuse`: the previous view's columns, when its scrapes and load records are the ones of
 * this view, and the shards whose entry changed since (only those are computed again).
 */
export function fillLoadColumns(
  snapshot: ClusterSnapshot,
  addresses: readonly string[],
  figures: readonly (NodeFigures | null)[],
  columns: ShardColumns,
  reuse: { readonly shards: ShardColumns; readonly changed: readonly number[] } | null,
): void {
  const sources = shardLoadSources(snapshot, addresses, figures);
  if (reuse !== null) {
    columns.objects.set(reuse.shards.objects);
    columns.calls.set(reuse.shards.calls);
    for (const id of reuse.changed) fillOneShardLoad(id, columns, sources);
  } else {
    fillShardLoad(snapshot.numShards, columns, sources);
  }
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
