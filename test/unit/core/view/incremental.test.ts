import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { encodeShardCount } from '../../../../src/core/keyspace/shardCount.js';
import { formatShardValue } from '../../../../src/core/keyspace/shardValue.js';
import { imbalance } from '../../../../src/core/planner/imbalance.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { Sightings } from '../../../../src/core/planner/sightings.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type KvEvent } from '../../../../src/core/snapshot/snapshot.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';
import { buildClusterView, type ClusterView, type NodeMetrics, summarizeScrape } from '../../../../src/core/view/index.js';

const P = '/goverse';
const NUM_SHARDS = 32;
const ADDRESSES = ['n1:1', 'n2:1', 'n3:1', 'gone:1', 'other:1'];

/** Per-shard figures a node reports: [shard, objects, calls], duplicates included (the last one counts). */
const perShard = fc.array(
  fc.tuple(fc.integer({ min: 0, max: NUM_SHARDS - 1 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 9 })),
  { maxLength: 8 },
);

/** One change: a shard value, a node joining or leaving, a drain, a weight, a load record, a node's scrape, the count. */
const change = fc.oneof(
  fc.record({
    kind: fc.constant('shard' as const),
    id: fc.integer({ min: 0, max: NUM_SHARDS - 1 }),
    target: fc.constantFrom('', ...ADDRESSES),
    current: fc.constantFrom('', ...ADDRESSES),
    // Settled on its target half the time, so shards turn stable and back.
    settled: fc.boolean(),
    pinned: fc.boolean(),
    remove: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('node' as const), address: fc.constantFrom(...ADDRESSES), up: fc.boolean() }),
  fc.record({ kind: fc.constant('drain' as const), address: fc.constantFrom(...ADDRESSES), on: fc.boolean() }),
  fc.record({ kind: fc.constant('weight' as const), address: fc.constantFrom(...ADDRESSES), weight: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('load' as const), address: fc.constantFrom(...ADDRESSES), shards: perShard }),
  // A migration record: its start dates the migration when it names the shard's target.
  fc.record({
    kind: fc.constant('record' as const),
    id: fc.integer({ min: 0, max: NUM_SHARDS - 1 }),
    target: fc.constantFrom(...ADDRESSES),
    // For the shard's target as it stands, most of the time: only such a record dates its migration.
    ofTarget: fc.boolean(),
    since: fc.integer({ min: 0, max: 2000 }),
    remove: fc.boolean(),
  }),
  // A scrape round: the metrics map the view is built from is replaced.
  fc.record({ kind: fc.constant('metrics' as const), address: fc.constantFrom(...ADDRESSES), shards: perShard }),
  // The shard-count record: a split from half the shards or a merge to half of them (the high half's shards without a
  // key are absent meanwhile), or none.
  fc.record({ kind: fc.constant('count' as const), transition: fc.constantFrom('none' as const, 'split' as const, 'merge' as const) }),
);
type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

let rev = 0;
let metrics = new Map<string, NodeMetrics>();
/** The snapshot the next batch applies to. */
let latest: ClusterSnapshot;

/** When the batch being made happens: scrapes are dated then, and turn stale as time passes. */
let clock = 0;

/** A node's scrape with objects per shard (no calls: rates need two scrapes). */
function scraped(shards: readonly (readonly [number, number, number])[]): NodeMetrics {
  const lines = ['# TYPE goverse_objects_total gauge', ...shards.map(([id, objects]) => `goverse_objects_total{shard="${id}"} ${objects}`)];
  const summary = summarizeScrape({ kind: 'ok', url: 'http://x/metrics', atMs: clock, families: parsePrometheusText(`${lines.join('\n')}\n`) });
  return summary.kind === 'ok' ? { ...summary, staleAfterMs: 700 } : summary;
}

/** The etcd event of a change; a scrape changes `metrics` instead and gives none. */
function event(c: Change): KvEvent[] {
  if (c.kind === 'metrics') {
    metrics = new Map(metrics).set(c.address, scraped(c.shards));
    return [];
  }
  return [etcdEvent(c)];
}

function etcdEvent(c: Exclude<Change, { kind: 'metrics' }>): KvEvent {
  rev++;
  const put = (key: string, value: string, lease = '0'): KvEvent => ({ type: 'put', kv: { key: `${P}/${key}`, value, modRevision: rev, createRevision: rev, lease } });
  const del = (key: string): KvEvent => ({ type: 'delete', key: `${P}/${key}`, modRevision: rev });
  switch (c.kind) {
    case 'shard':
      return c.remove ? del(`shard/${c.id}`) : put(`shard/${c.id}`, formatShardValue({ target: c.target, current: c.settled ? c.target : c.current, flags: c.pinned ? ['pinned'] : [] }));
    case 'node':
      // Under a lease: a member key without one is not a live member.
      return c.up ? put(`nodes/${c.address}`, c.address, '7') : del(`nodes/${c.address}`);
    case 'drain':
      return c.on ? put(`drain/${c.address}`, encodeRecord({ at: 0, by: 't' })) : del(`drain/${c.address}`);
    case 'weight':
      return put(`nodeinfo/${c.address}`, encodeRecord({ nodeId: c.address, opsUrl: '', apiUrl: '', version: '1', weight: c.weight, startedAt: 0, state: 'running' }));
    case 'load':
      return put(`load/${c.address}`, encodeRecord({ at: 0, cpu: null, rssBytes: null, shards: c.shards, truncated: 0 }));
    case 'count': {
      const half = NUM_SHARDS / 2;
      const t = c.transition;
      const transition = t === 'none' ? null : { kind: t, from: t === 'split' ? half : NUM_SHARDS, to: t === 'split' ? NUM_SHARDS : half, state: 'running' as const, startedAt: 0, by: 't', id: 't1' };
      return put('shard-count', encodeShardCount({ count: t === 'split' ? half : NUM_SHARDS, transition, reshards: 0 }));
    }
    case 'record': {
      const target = c.ofTarget ? latest.shards[c.id]?.target || c.target : c.target;
      return c.remove ? del(`migration/${c.id}`) : put(`migration/${c.id}`, encodeRecord({ since: c.since, target, from: '' }));
    }
  }
}

/** First sightings of migrations, kept from the changes as the console keeps them (one map, updated in place). */
let sightings = new Sightings();

function build(snapshot: ClusterSnapshot, now: number, previous?: ClusterView, hints?: { shards?: number[]; nodes?: string[] }): ClusterView {
  return buildClusterView({
    snapshot,
    now,
    firstSeen: sightings.firstSeen,
    ...(hints?.shards ? { changedShards: hints.shards } : {}),
    ...(hints?.nodes ? { changedNodes: hints.nodes } : {}),
    stuckTimeoutMs: 500,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(NUM_SHARDS) },
    metrics,
    ...(previous ? { previous } : {}),
  });
}

/** Everything a view derives from the snapshot, comparable with toEqual: the layout by band and position too. */
function essence(v: ClusterView): unknown {
  const { layout } = v;
  const bands = Array.from({ length: layout.bandCount }, (_, b) => [layout.bandStart(b), [...layout.shardsIn(b)]]);
  const positions = Array.from({ length: layout.size }, (_, p) => layout.positionOf(layout.idAt(p)) === p);
  const notable = [...layout.notable].sort((a, b) => a - b);
  const { nodes, nodeCounts, counts, imbalance, shards, migrations, stuck } = v;
  return { nodes, nodeCounts, counts, imbalance, shards, migrations, stuck, bands, positions, notable };
}

describe('buildClusterView incremental rebuilds', () => {
  it('equal a full rebuild after any sequence of changes (per-shard load included), and match the planner\'s imbalance figures', () => {
    fc.assert(
      fc.property(fc.array(fc.array(change, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), (batches) => {
        metrics = new Map();
        let snapshot = buildSnapshot(P, NUM_SHARDS, [], 0);
        sightings = new Sightings();
        sightings.restart(snapshot, 1000);
        let view = build(snapshot, 1000);
        for (const [i, batch] of batches.entries()) {
          // Time passes, so migrations cross the stuck timeout and scrapes turn stale.
          const now = 1000 + i * 300;
          clock = now;
          latest = snapshot;
          const applied = applyEvents(snapshot, batch.flatMap(event), rev);
          snapshot = applied.snapshot;
          sightings.observe(applied.changes, now);
          // Every other batch names its changed shards and records, as the console does from the watch's changes.
          const shards = i % 2 === 0 ? batch.flatMap((c) => (c.kind === 'shard' || c.kind === 'record' ? [c.id] : [])) : undefined;
          // And, independently, the nodes whose records or metrics changed, as the controller passes them on.
          const nodes = i % 3 !== 1 ? batch.flatMap((c) => ('address' in c ? [c.address] : [])) : undefined;
          const incremental = build(snapshot, now, view, { ...(shards ? { shards } : {}), ...(nodes ? { nodes } : {}) });
          const full = build(snapshot, now);
          expect(essence(incremental)).toEqual(essence(full));
          const { nodes: rows, ...summary } = imbalance(snapshot);
          expect(full.imbalance).toEqual(summary);
          for (const row of rows) {
            const node = full.nodes[full.nodeIndex.get(row.address)!]!;
            expect([node.status, node.shardsTarget, node.shardsOwned, node.shardsPinned, node.ideal]).toEqual([row.status, row.targets, row.owned, row.pinned, row.ideal]);
          }
          view = incremental;
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('follow a shard-count transition: high shards split, merged away, and the transition ending', () => {
    metrics = new Map();
    sightings = new Sightings();
    const half = NUM_SHARDS / 2;
    const kv = (key: string, value: string, lease = '0'): KvEvent => ({ type: 'put', kv: { key: `${P}/${key}`, value, modRevision: ++rev, createRevision: rev, lease } });
    const split = encodeShardCount({ count: half, transition: { kind: 'split', from: half, to: NUM_SHARDS, state: 'running', startedAt: 0, by: 't', id: 't1' }, reshards: 0 });
    const low = Array.from({ length: half }, (_, id) => kv(`shard/${id}`, 'n1:1,n1:1'));
    let snapshot = applyEvents(buildSnapshot(P, NUM_SHARDS, [], 0), [kv('shard-count', split), kv('nodes/n1:1', 'n1:1', '7'), ...low], rev).snapshot;
    sightings.restart(snapshot, 1000);
    let view = build(snapshot, 1000);
    expect(view.counts).toMatchObject({ total: half, absent: half });
    const steps: KvEvent[][] = [
      // Two pairs split, one merged back (its high shard's key deleted), then the transition ends.
      [kv(`shard/${half}`, 'n1:1,n1:1'), kv(`shard/${half + 1}`, 'n1:1,n1:1')],
      [{ type: 'delete', key: `${P}/shard/${half}`, modRevision: ++rev }],
      [kv('shard-count', encodeShardCount({ count: NUM_SHARDS, transition: null, reshards: 1 }))],
    ];
    for (const [i, events] of steps.entries()) {
      const applied = applyEvents(snapshot, events, rev);
      snapshot = applied.snapshot;
      const shards = applied.changes.flatMap((c) => (c.kind === 'shard' ? [c.id] : []));
      const incremental = build(snapshot, 1000 + i, view, { shards });
      expect(essence(incremental)).toEqual(essence(build(snapshot, 1000 + i)));
      view = incremental;
    }
    expect(view.counts).toMatchObject({ total: NUM_SHARDS, absent: 0 });
  });
});
