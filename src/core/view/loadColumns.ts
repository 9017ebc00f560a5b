import type { LoadRecord } from '../keyspace/records.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import type { ShardColumns } from './clusterViewTypes.js';
import { latestFigures, type NodeFigures, type NodeMetrics } from './nodeMetrics.js';
import type { ShardLayout } from './shardIndex.js';

/**
 * Where per-shard objects and call rates come from, per node index. A node whose figures list every shard it reports
 * (a scrape of its /metrics) or that wrote a load record reports 0 for the shards it owns and does not list; figures
 * count only from the shard's current owner, since a former owner's report may still list a shard it handed over.
 * Scrapes are fresher than load records (reported every few seconds, smoothed), so they win.
 */
export interface LoadSources {
  readonly objectsKnown: Uint8Array;
  readonly callsKnown: Uint8Array;
  readonly load: readonly (LoadRecord | undefined)[];
  readonly figures: readonly (NodeFigures | null)[];
}

/** Figures of the top shards only (through Prometheus) say nothing about the shards they leave out. */
function complete(f: NodeFigures | null): f is NodeFigures {
  return f !== null && f.shardsListed === 'all';
}

export function loadSources(snapshot: ClusterSnapshot, addresses: readonly string[], metrics: ReadonlyMap<string, NodeMetrics>): LoadSources {
  const load = addresses.map((a) => snapshot.load.get(a));
  const figures = addresses.map((a) => latestFigures(metrics.get(a)));
  return {
    objectsKnown: Uint8Array.from(figures, (f, i) => ((complete(f) && f.objects !== null) || load[i] !== undefined ? 1 : 0)),
    callsKnown: Uint8Array.from(figures, (f, i) => ((complete(f) && f.callRate !== null) || load[i] !== undefined ? 1 : 0)),
    load,
    figures,
  };
}

/** Objects and call rate of every shard (the node columns already set). */
export function fillShardLoad(columns: ShardColumns, sources: LoadSources): void {
  const { objectsKnown, callsKnown, load, figures } = sources;
  const { current, objects, calls } = columns;
  const n = current.length;
  for (let id = 0; id < n; id++) {
    const c = current[id]!;
    objects[id] = c >= 0 && objectsKnown[c] === 1 ? 0 : Number.NaN;
    calls[id] = c >= 0 && callsKnown[c] === 1 ? 0 : Number.NaN;
  }
  // Indexed loops and forEach: destructuring iterators over every shard per rebuild shows in profiles.
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

/** The previous sources with those of the `dirty` node indexes taken again (the others cannot have changed). */
export function patchLoadSources(
  before: LoadSources,
  snapshot: ClusterSnapshot,
  addresses: readonly string[],
  metrics: ReadonlyMap<string, NodeMetrics>,
  dirty: Iterable<number>,
): LoadSources {
  const load = before.load.slice();
  const figures = before.figures.slice();
  const objectsKnown = before.objectsKnown.slice();
  const callsKnown = before.callsKnown.slice();
  for (const i of dirty) {
    const f = latestFigures(metrics.get(addresses[i]!));
    load[i] = snapshot.load.get(addresses[i]!);
    figures[i] = f;
    objectsKnown[i] = (complete(f) && f.objects !== null) || load[i] !== undefined ? 1 : 0;
    callsKnown[i] = (complete(f) && f.callRate !== null) || load[i] !== undefined ? 1 : 0;
  }
  return { objectsKnown, callsKnown, load, figures };
}

/**
 * The columns of the previous view brought up to date in place: the shards that changed hands, and every shard of a
 * node whose figures or load record differ from those the columns were filled from (`before`), among `nodes` (all
 * when omitted). Nodes are the same as before (same indexes).
 */
export function updateShardLoad(
  columns: ShardColumns,
  layout: ShardLayout,
  sources: LoadSources,
  before: LoadSources,
  changed: readonly number[],
  nodes?: Iterable<number>,
): void {
  for (const id of changed) fillOneShardLoad(id, columns, sources);
  for (const i of nodes ?? sources.figures.keys()) {
    const same =
      sources.figures[i] === before.figures[i] &&
      sources.load[i] === before.load[i] &&
      sources.objectsKnown[i] === before.objectsKnown[i] &&
      sources.callsKnown[i] === before.callsKnown[i];
    // A node's shards are its band: every shard it owns (and those only targeted at it, which owners elsewhere fill).
    if (!same) for (const id of layout.shardsIn(i)) fillOneShardLoad(id, columns, sources);
  }
}

/** Objects and call rate of one shard, as fillShardLoad gives them. */
function fillOneShardLoad(id: number, columns: ShardColumns, sources: LoadSources): void {
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
