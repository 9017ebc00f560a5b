import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { formatShardValue } from '../../../../src/core/keyspace/shardValue.js';
import { imbalance } from '../../../../src/core/planner/imbalance.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { applyEvents, buildSnapshot, type ClusterSnapshot, type KvEvent } from '../../../../src/core/snapshot/snapshot.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';
import { buildClusterView, type ClusterView, type NodeMetrics, summarizeScrape } from '../../../../src/core/view/index.js';

const P = '/goverse';
const NUM_SHARDS = 24;
const ADDRESSES = ['n1:1', 'n2:1', 'n3:1', 'gone:1', 'other:1'];

/** Per-shard figures a node reports: [shard, objects, calls], duplicates included (the last one counts). */
const perShard = fc.array(
  fc.tuple(fc.integer({ min: 0, max: NUM_SHARDS - 1 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 9 })),
  { maxLength: 8 },
);

/** One change: a shard value, a node joining or leaving, a drain, a weight, a load record, a node's scrape. */
const change = fc.oneof(
  fc.record({
    kind: fc.constant('shard' as const),
    id: fc.integer({ min: 0, max: NUM_SHARDS - 1 }),
    target: fc.constantFrom('', ...ADDRESSES),
    current: fc.constantFrom('', ...ADDRESSES),
    pinned: fc.boolean(),
    remove: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('node' as const), address: fc.constantFrom(...ADDRESSES), up: fc.boolean() }),
  fc.record({ kind: fc.constant('drain' as const), address: fc.constantFrom(...ADDRESSES), on: fc.boolean() }),
  fc.record({ kind: fc.constant('weight' as const), address: fc.constantFrom(...ADDRESSES), weight: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('load' as const), address: fc.constantFrom(...ADDRESSES), shards: perShard }),
  // A scrape round: the metrics map the view is built from is replaced.
  fc.record({ kind: fc.constant('metrics' as const), address: fc.constantFrom(...ADDRESSES), shards: perShard }),
);
type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

let rev = 0;
let metrics = new Map<string, NodeMetrics>();

/** A node's scrape with objects per shard (no calls: rates need two scrapes). */
function scraped(shards: readonly (readonly [number, number, number])[]): NodeMetrics {
  const lines = ['# TYPE goverse_objects_total gauge', ...shards.map(([id, objects]) => `goverse_objects_total{shard="${id}"} ${objects}`)];
  return summarizeScrape({ kind: 'ok', url: 'http://x/metrics', atMs: 0, families: parsePrometheusText(`${lines.join('\n')}\n`) });
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
  const put = (key: string, value: string): KvEvent => ({ type: 'put', kv: { key: `${P}/${key}`, value, modRevision: rev, createRevision: rev, lease: '0' } });
  const del = (key: string): KvEvent => ({ type: 'delete', key: `${P}/${key}`, modRevision: rev });
  switch (c.kind) {
    case 'shard':
      return c.remove ? del(`shard/${c.id}`) : put(`shard/${c.id}`, formatShardValue({ target: c.target, current: c.current, flags: c.pinned ? ['pinned'] : [] }));
    case 'node':
      return c.up ? put(`nodes/${c.address}`, c.address) : del(`nodes/${c.address}`);
    case 'drain':
      return c.on ? put(`drain/${c.address}`, encodeRecord({ at: 0, by: 't' })) : del(`drain/${c.address}`);
    case 'weight':
      return put(`nodeinfo/${c.address}`, encodeRecord({ nodeId: c.address, opsUrl: '', apiUrl: '', version: '1', weight: c.weight, startedAt: 0, state: 'running' }));
    case 'load':
      return put(`load/${c.address}`, encodeRecord({ at: 0, cpu: null, rssBytes: null, shards: c.shards, truncated: 0 }));
  }
}

function build(snapshot: ClusterSnapshot, previous?: ClusterView): ClusterView {
  return buildClusterView({
    snapshot,
    now: 1000,
    stuckTimeoutMs: 0,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(NUM_SHARDS) },
    metrics,
    ...(previous ? { previous } : {}),
  });
}

/** Everything a view derives from the snapshot, comparable with toEqual. */
function essence(v: ClusterView): unknown {
  return { nodes: v.nodes, counts: v.counts, imbalance: v.imbalance, shards: v.shards, stuck: v.stuck };
}

describe('buildClusterView incremental rebuilds', () => {
  it('equal a full rebuild after any sequence of changes (per-shard load included), and match the planner\'s imbalance figures', () => {
    fc.assert(
      fc.property(fc.array(fc.array(change, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 8 }), (batches) => {
        metrics = new Map();
        let snapshot = buildSnapshot(P, NUM_SHARDS, [], 0);
        let view = build(snapshot);
        for (const batch of batches) {
          snapshot = applyEvents(snapshot, batch.flatMap(event), rev).snapshot;
          const incremental = build(snapshot, view);
          const full = build(snapshot);
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
});
