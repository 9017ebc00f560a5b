import { describe, expect, it } from 'vitest';
import { encodeRecord, type BalancerStatusRecord, type LoadRecord } from '../../../../src/core/keyspace/records.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';
import { defaultPlannerSettings } from '../../../../src/core/planner/settings.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import {
  buildClusterView,
  type ClusterView,
  type NodeMetrics,
  parseShardFilterStates,
  selectShards,
  SHARD_FLAG,
  SHARD_STATES,
  shardRow,
  summarizeScrape,
  type ViewInput,
} from '../../../../src/core/view/index.js';

const P = '/goverse';
const NOW = 1_700_000_000_000;

/** Keys as etcd would return them, with increasing revisions; member keys under a lease, as members register. */
function snapshotOf(numShards: number, entries: Record<string, string>, leases: Record<string, string> = {}): ClusterSnapshot {
  let rev = 0;
  const kvs: Kv[] = Object.entries(entries).map(([key, value]) => {
    rev++;
    return { key: `${P}/${key}`, value, modRevision: rev, createRevision: rev, lease: leases[key] ?? (/^(nodes|gates)\//.test(key) ? '1' : '0') };
  });
  return buildSnapshot(P, numShards, kvs, rev);
}

function view(snapshot: ClusterSnapshot, extra: Partial<ViewInput> = {}): ClusterView {
  return buildClusterView({
    snapshot,
    now: NOW,
    stuckTimeoutMs: 60_000,
    balancer: { strategy: 'count', settings: defaultPlannerSettings(snapshot.numShards) },
    ...extra,
  });
}

function nodeInfo(opsUrl: string, state: 'running' | 'stopping' = 'running', weight = 1): string {
  return encodeRecord({ nodeId: `id-${opsUrl}`, opsUrl, apiUrl: 'http://api', version: '1.0', weight, startedAt: 5, state });
}

const a = 'a:1';
const b = 'b:1';
const c = 'c:1';
const dead = 'dead:1';

/** Eight shards, one per interesting case. */
function mixed(): ClusterSnapshot {
  return snapshotOf(10, {
    [`nodes/${a}`]: a,
    [`nodes/${b}`]: b,
    [`nodes/${c}`]: c,
    leader: a,
    [`nodeinfo/${a}`]: nodeInfo('http://127.0.0.1:9001'),
    [`nodeinfo/${c}`]: nodeInfo('http://127.0.0.1:9003', 'stopping'),
    [`drain/${b}`]: encodeRecord({ at: 1, by: 'op' }),
    'shard/0': `${a},${a}`, // stable
    'shard/1': `${b},${a}`, // migrating
    'shard/2': `${a},`, // unclaimed
    'shard/3': ',', // no target (upstream's stuck-shard write)
    'shard/4': `${dead},${a}`, // orphaned: dead target
    'shard/5': `${a},${dead}`, // orphaned: dead owner
    'shard/6': `f=pinned,${a},${a}`, // pinned anywhere, stable
    'shard/7': a, // legacy one-part value: target only
    'shard/8': `${a},${a},f=future,f=pinned`, // unknown flag kept
    // shard 9: no key
    'shard/x': 'junk', // malformed key
  });
}

describe('buildClusterView: shards', () => {
  it('classifies every shard and counts states and flags', () => {
    const v = view(mixed());
    const states = [...v.shards.state].map((s) => SHARD_STATES[s]);
    expect(states).toEqual(['stable', 'migrating', 'unclaimed', 'no-target', 'orphaned', 'orphaned', 'stable', 'unclaimed', 'stable', 'no-target']);
    expect(v.counts).toMatchObject({
      total: 10,
      owned: 5, // 0, 1, 4, 6, 8 (5 has a dead owner)
      unowned: 5,
      stable: 3,
      migrating: 1,
      unclaimed: 2,
      noTarget: 2,
      orphaned: 2,
      inMigration: 5, // 1, 2, 4, 5, 7
      pinned: 2,
      stuck: 0,
    });
    expect(v.shards.flags[6]! & SHARD_FLAG.pinned).toBeTruthy();
    expect(v.shards.flags[1]! & SHARD_FLAG.inMigration).toBeTruthy();
    expect(v.shards.target[9]).toBe(-1);
    expect(v.nodes[v.shards.current[1]!]!.address).toBe(a);
    expect(v.nodes[v.shards.target[4]!]!.address).toBe(dead);
  });

  it('gives shard rows with flags in order, ModRevision and raw value; absent keys read as empty', () => {
    const v = view(mixed());
    expect(shardRow(v, 8)).toMatchObject({ id: 8, target: a, current: a, flags: ['future', 'pinned'], state: 'stable', pinned: true, raw: `${a},${a},f=future,f=pinned` });
    expect(shardRow(v, 7)).toMatchObject({ target: a, current: '', state: 'unclaimed', ageMs: null, ageSource: 'unknown' });
    expect(shardRow(v, 8)).toMatchObject({ ageMs: null, ageSource: null });
    expect(shardRow(v, 9)).toMatchObject({ target: '', current: '', flags: [], state: 'no-target', modRevision: 0, raw: null });
    expect(shardRow(v, 0).modRevision).toBeGreaterThan(0);
  });

  it('reports malformed keys as data', () => {
    const v = view(mixed());
    expect(v.malformed.map((m) => m.key)).toEqual([`${P}/shard/x`]);
  });

  it('filters by node, state, flag and IDs', () => {
    const v = view(mixed());
    expect(selectShards(v, { node: b })).toEqual([1]);
    expect(selectShards(v, { states: ['orphaned'] })).toEqual([4, 5]);
    expect(selectShards(v, { states: ['pinned', 'no-target'] })).toEqual([3, 6, 8, 9]);
    expect(selectShards(v, { node: a, ids: [0, 1, 2, 3] })).toEqual([0, 1, 2]);
    expect(selectShards(v, { node: 'nobody:1' })).toEqual([]);
  });

  it('parses filter states and names the accepted ones', () => {
    expect(parseShardFilterStates('stuck, pinned,stuck')).toEqual(['stuck', 'pinned']);
    expect(() => parseShardFilterStates('stale')).toThrow(/unknown shard state "stale".*stable, migrating/);
  });
});

describe('buildClusterView: nodes', () => {
  it('lists alive nodes and every address a record names, with status, leader and shard counts', () => {
    const v = view(mixed());
    expect(v.nodes.map((n) => n.address)).toEqual([a, b, c, dead]);
    const [na, nb, nc, nd] = v.nodes;
    expect(na).toMatchObject({ alive: true, leader: true, status: 'eligible', nodeId: 'id-http://127.0.0.1:9001', shardsTarget: 6, shardsOwned: 5, shardsPinned: 2 });
    expect(na!.ideal).toBe(10); // the only eligible node
    expect(nb).toMatchObject({ alive: true, leader: false, status: 'draining', draining: true, shardsTarget: 1, shardsOwned: 0, ideal: 0 });
    expect(nc).toMatchObject({ status: 'stopping', stopping: true });
    expect(nd).toMatchObject({ alive: false, status: 'dead', shardsTarget: 1, shardsOwned: 1 });
    expect(nd!.metrics).toEqual({ kind: 'none', reason: 'node not alive' });
    expect(na!.metrics).toEqual({ kind: 'none', reason: 'not scraped' });
    expect(v.leader).toEqual({ address: a, alive: true });
  });
});

const SCRAPE_1 = `# TYPE goverse_node_ready gauge
goverse_node_ready 1
# TYPE goverse_objects_total gauge
goverse_objects_total{node="a:1",type="Counter",shard="0"} 3
goverse_objects_total{node="a:1",type="Counter",shard="1"} 2
goverse_objects_total{node="a:1",type="Counter",shard="node"} 7
# TYPE goverse_method_calls_total counter
goverse_method_calls_total{node="a:1",object_type="Counter",method_name="Inc",status="success"} 100
# TYPE goverse_shard_method_calls_total counter
goverse_shard_method_calls_total{shard="0"} 60
goverse_shard_method_calls_total{shard="1"} 40
# TYPE goverse_shard_lock_wait_seconds histogram
goverse_shard_lock_wait_seconds_bucket{mode="read",le="0.001"} 90
goverse_shard_lock_wait_seconds_bucket{mode="read",le="0.1"} 100
goverse_shard_lock_wait_seconds_bucket{mode="read",le="+Inf"} 100
goverse_shard_lock_wait_seconds_sum{mode="read"} 0.5
goverse_shard_lock_wait_seconds_count{mode="read"} 100
# TYPE goverse_shard_lock_acquisitions_total counter
goverse_shard_lock_acquisitions_total{mode="read"} 100
# TYPE goverse_shard_write_locks_held gauge
goverse_shard_write_locks_held 1
# TYPE goverse_shard_lock_timeouts_total counter
goverse_shard_lock_timeouts_total{mode="read"} 2
goverse_shard_lock_timeouts_total{mode="write"} 1
# TYPE goverse_shard_lock_contended gauge
goverse_shard_lock_contended{shard="1",stat="waits"} 4
goverse_shard_lock_contended{shard="1",stat="wait_seconds"} 0.2
goverse_shard_lock_contended{shard="1",stat="max_wait_seconds"} 0.1
goverse_shard_lock_contended{shard="1",stat="timeouts"} 0
`;

/** Two seconds later: 40 more calls (30 on shard 0, 10 on shard 1), 100 more lock waits, all slow. */
const SCRAPE_2 = SCRAPE_1.replace('status="success"} 100', 'status="success"} 140')
  .replace('{shard="0"} 60', '{shard="0"} 90')
  .replace('{shard="1"} 40', '{shard="1"} 50')
  .replace('le="0.001"} 90', 'le="0.001"} 90')
  .replace('le="0.1"} 100', 'le="0.1"} 200')
  .replace('le="+Inf"} 100', 'le="+Inf"} 200');

function ok(text: string, atMs: number): ReturnType<typeof summarizeScrape> {
  return summarizeScrape({ kind: 'ok', url: 'http://127.0.0.1:9001/metrics', atMs, families: parsePrometheusText(text) });
}

describe('summarizeScrape', () => {
  it('reads gauges at once and rates from two scrapes', () => {
    const first = ok(SCRAPE_1, NOW);
    expect(first.kind).toBe('ok');
    if (first.kind !== 'ok') return;
    expect(first.figures).toMatchObject({ ready: true, objects: 12, callRate: null, writeLocksHeld: 1, lockTimeouts: 3, lockAcquisitions: 100 });
    expect(first.figures.lockWaitP99Ms).toBeCloseTo(1 + 99 * 0.9, 5); // inside the (1 ms, 100 ms] bucket, cumulative
    expect([...first.figures.shardObjects]).toEqual([
      [0, 3],
      [1, 2],
    ]);
    expect(first.figures.shardCallRates.size).toBe(0);
    expect(first.figures.hotShards).toEqual([{ shardId: 1, waits: 4, waitSeconds: 0.2, maxWaitSeconds: 0.1, timeouts: 0 }]);

    const second = summarizeScrape(
      { kind: 'ok', url: first.url, atMs: NOW + 2000, families: parsePrometheusText(SCRAPE_2) },
      first,
    );
    if (second.kind !== 'ok') throw new Error('expected ok');
    expect(second.figures.callRate).toBe(20);
    expect([...second.figures.shardCallRates]).toEqual([
      [0, 15],
      [1, 5],
    ]);
    // Over the interval every wait fell in (1 ms, 100 ms].
    expect(second.figures.lockWaitP99Ms).toBeCloseTo(1 + 99 * 0.99, 5);
  });

  it('treats a counter that went down as a restart', () => {
    const first = ok(SCRAPE_2, NOW);
    const second = summarizeScrape({ kind: 'ok', url: 'u', atMs: NOW + 1000, families: parsePrometheusText(SCRAPE_1) }, first);
    if (second.kind !== 'ok') throw new Error('expected ok');
    expect(second.figures.callRate).toBe(100);
  });

  it('keeps the last good figures through a failed scrape and resumes rates after it', () => {
    const first = ok(SCRAPE_1, NOW);
    const failed = summarizeScrape({ kind: 'unreachable', url: 'u', atMs: NOW + 1000, reason: 'connect ECONNREFUSED' }, first);
    expect(failed).toMatchObject({ kind: 'unreachable', reason: 'connect ECONNREFUSED', lastOk: first });
    const third = summarizeScrape({ kind: 'ok', url: 'u', atMs: NOW + 4000, families: parsePrometheusText(SCRAPE_2) }, failed);
    if (third.kind !== 'ok') throw new Error('expected ok');
    expect(third.figures.callRate).toBe(10);
  });

  it('gives nulls, not zeros, for series an upstream node does not export', () => {
    const m = ok('# TYPE goverse_shards_total gauge\ngoverse_shards_total{node="a:1"} 3\n', NOW);
    if (m.kind !== 'ok') throw new Error('expected ok');
    expect(m.figures).toMatchObject({ ready: null, objects: null, callRate: null, lockWaitP99Ms: null, writeLocksHeld: null, lockTimeouts: null });
  });
});

describe('buildClusterView: metrics', () => {
  it('merges node figures, marks unreachable and malformed nodes, and never breaks', () => {
    const first = ok(SCRAPE_1, NOW - 2000);
    const metrics = new Map<string, NodeMetrics>([
      [a, summarizeScrape({ kind: 'ok', url: 'http://127.0.0.1:9001/metrics', atMs: NOW, families: parsePrometheusText(SCRAPE_2) }, first)],
      [b, summarizeScrape({ kind: 'unreachable', url: 'http://b/metrics', atMs: NOW, reason: 'timeout after 2s' })],
      [c, summarizeScrape({ kind: 'malformed', url: 'http://c/metrics', atMs: NOW, reason: 'metrics text line 3: bad value' })],
    ]);
    const v = view(mixed(), { metrics });
    const [na, nb, nc] = v.nodes;
    expect(na).toMatchObject({ ready: true, objects: 12, callRate: 20, writeLocksHeld: 1, lockTimeouts: 3 });
    expect(na!.metrics).toMatchObject({ kind: 'ok', url: 'http://127.0.0.1:9001/metrics' });
    expect(nb).toMatchObject({ ready: null, objects: null, callRate: null });
    expect(nb!.metrics).toEqual({ kind: 'unreachable', url: 'http://b/metrics', atMs: NOW, reason: 'timeout after 2s' });
    expect(nc!.metrics).toMatchObject({ kind: 'malformed', reason: 'metrics text line 3: bad value' });
    // Shard 0 is owned by a: its figures count; shard 1 is owned by a too (migrating to b).
    expect(shardRow(v, 0)).toMatchObject({ objects: 3, calls: 15 });
    expect(shardRow(v, 1)).toMatchObject({ objects: 2, calls: 5 });
    // Owned by a but not listed: known zero. Not owned by a scraped node: unknown.
    expect(shardRow(v, 6)).toMatchObject({ objects: 0, calls: 0 });
    expect(shardRow(v, 5)).toMatchObject({ objects: null, calls: null });
    expect(v.hotShards).toEqual([{ node: a, shardId: 1, waits: 4, waitSeconds: 0.2, maxWaitSeconds: 0.1, timeouts: 0 }]);
  });

  it("counts a node's objects only in the shards it owns now: upstream's gauge keeps those of released shards", () => {
    // c owns no shard of mixed(); b owns none either, a owns 0, 1, 4, 6, 8. Its gauge still lists shard 2 (unclaimed).
    const gauge = (node: string, rows: readonly [string, number][]): NodeMetrics =>
      ok(`# TYPE goverse_objects_total gauge\n${rows.map(([shard, n]) => `goverse_objects_total{node="${node}",type="Counter",shard="${shard}"} ${n}`).join('\n')}\n`, NOW);
    const metrics = new Map<string, NodeMetrics>([
      [a, gauge(a, [['0', 3], ['2', 10], ['6', 1], ['node', 7]])],
      [b, gauge(b, [['0', 4], ['1', 5]])],
    ]);
    const v = view(mixed(), { metrics });
    expect(v.nodes.find((n) => n.address === a)).toMatchObject({ objects: 3 + 1 + 7 });
    expect(v.nodes.find((n) => n.address === b)).toMatchObject({ objects: 0 });
    // The per-shard column counts the owner's figure only.
    expect([0, 1, 2].map((id) => shardRow(v, id).objects)).toEqual([3, 0, null]);
  });

  it('ranks hot shards over every node by wait, ties by shard then node, once per scrape round', () => {
    const contended = (rows: readonly [number, number][]): NodeMetrics => {
      const lines = rows.map(([shard, seconds]) => `goverse_shard_lock_contended{shard="${shard}",stat="wait_seconds"} ${seconds}`);
      return ok(`# TYPE goverse_shard_lock_contended gauge\n${lines.join('\n')}\n`, NOW);
    };
    // Inserted in reverse address order: the ranking does not depend on the map's order.
    const metrics = new Map<string, NodeMetrics>([
      [c, contended([[4, 0.5], [2, 0.1]])],
      [b, contended([[2, 0.1]])],
      [a, contended([[3, 0.9], [2, 0.1]])],
    ]);
    const v = view(mixed(), { metrics, hotShardLimit: 4 });
    expect(v.hotShards.map((h) => [h.shardId, h.node])).toEqual([[3, a], [4, c], [2, a], [2, b]]);
    // Rebuilt between two scrapes: the same ranking, not computed again; a new round (a new map) is ranked anew.
    expect(view(mixed(), { metrics, hotShardLimit: 4 }).hotShards).toBe(v.hotShards);
    expect(view(mixed(), { metrics: new Map(metrics), hotShardLimit: 4 }).hotShards).toEqual(v.hotShards);
    expect(view(mixed(), { metrics, hotShardLimit: 2 }).hotShards).toHaveLength(2);
  });

  it('takes per-shard load from load records of the current owner only, and scrapes over them', () => {
    const load = (shards: LoadRecord['shards']): string => encodeRecord({ at: NOW, cpu: 0.5, rssBytes: 1e8, shards, truncated: 0 });
    const snap = snapshotOf(4, {
      [`nodes/${a}`]: a,
      [`nodes/${b}`]: b,
      'shard/0': `${a},${a}`,
      'shard/1': `${b},${b}`,
      'shard/2': `${b},${b}`,
      [`load/${a}`]: load([
        [0, 5, 1.5],
        [1, 9, 9], // a handed shard 1 to b; its stale entry must not count
      ]),
      [`load/${b}`]: load([[1, 4, 2]]),
    });
    const v = view(snap);
    expect(shardRow(v, 0)).toMatchObject({ objects: 5, calls: 1.5 });
    expect(shardRow(v, 1)).toMatchObject({ objects: 4, calls: 2 });
    expect(shardRow(v, 2)).toMatchObject({ objects: 0, calls: 0 });
    expect(shardRow(v, 3)).toMatchObject({ objects: null, calls: null });
    expect(v.nodes[0]).toMatchObject({ objects: 14, callRate: 10.5, cpu: 0.5, rssBytes: 1e8 });
  });
});

describe('buildClusterView: stuck and balancer', () => {
  function stuckCluster(): ClusterSnapshot {
    return snapshotOf(6, {
      [`nodes/${a}`]: a,
      [`nodes/${b}`]: b,
      leader: a,
      'shard/0': `${a},${a}`,
      'shard/1': `${b},${a}`,
      'shard/2': `${b},`,
      'shard/3': `${dead},${a},f=pinned`,
      'shard/4': `${b},${a}`,
      'shard/5': `${a},${a}`,
      'migration/1': encodeRecord({ since: NOW - 120_000, target: b, from: a }),
      'migration/2': encodeRecord({ since: NOW - 300_000, target: b, from: a }),
      'migration/3': encodeRecord({ since: NOW - 200_000, target: dead, from: a }),
      // A record for an earlier target is stale: shard 4's age comes from first sightings instead.
      'migration/4': encodeRecord({ since: NOW - 900_000, target: c, from: a }),
    });
  }

  it('lists stuck shards oldest first with ages and reasons, and flags them', () => {
    const firstSeen = new Map([[4, { target: b, since: NOW - 10_000 }]]);
    const v = view(stuckCluster(), { firstSeen });
    expect(v.stuck.map((s) => [s.shardId, s.state, s.ageMs])).toEqual([
      [2, 'target-unclaimed', 300_000],
      [3, 'pinned-to-dead', 200_000],
      [1, 'owner-not-releasing', 120_000],
    ]);
    expect(v.stuck[1]!.reason).toMatch(/pinned to dead:1/);
    expect(v.migrations.map((m) => m.shardId)).toEqual([2, 3, 1, 4]);
    expect(shardRow(v, 4)).toMatchObject({ stuck: false, ageMs: 10_000, reason: null });
    expect(shardRow(v, 2)).toMatchObject({ stuck: true, ageMs: 300_000 });
    expect(v.counts.stuck).toBe(3);
    expect(selectShards(v, { states: ['stuck'] })).toEqual([1, 2, 3]);
    // A longer timeout finds fewer.
    expect(view(stuckCluster(), { stuckTimeoutMs: 250_000 }).stuck.map((s) => s.shardId)).toEqual([2]);
  });

  it('counts a shard pinned to a node that is gone as stuck although no record dates it; other unknown ages are not', () => {
    // As upstream leaves it: no migration records. Shard 1 is pinned to a dead node, shard 2 migrates.
    const snap = snapshotOf(3, { [`nodes/${a}`]: a, [`nodes/${b}`]: b, 'shard/0': `${a},${a}`, 'shard/1': `${dead},${dead},f=pinned`, 'shard/2': `${b},${a}` });
    const v = view(snap);
    expect(v.migrations.map((m) => [m.shardId, m.ageSource, m.ageMs])).toEqual([
      [1, 'unknown', null],
      [2, 'unknown', null],
    ]);
    expect(v.stuck.map((s) => [s.shardId, s.basis])).toEqual([[1, 'state']]);
    expect(v.counts).toMatchObject({ stuck: 1, orphaned: 1, migrating: 1 });
    expect(shardRow(v, 1)).toMatchObject({ stuck: true, ageMs: null, ageSource: 'unknown', reason: expect.stringMatching(/unknown time/) });
    expect(shardRow(v, 2)).toMatchObject({ stuck: false, ageMs: null, ageSource: 'unknown', reason: null });
  });

  it('uses the leader\'s published status when fresh, else computes the leader step', () => {
    const status: BalancerStatusRecord = {
      leader: a,
      strategy: 'weighted',
      state: 'balanced',
      reason: 'spread 0.05 within threshold 0.2',
      at: NOW - 5000,
      recent: [{ at: NOW - 60_000, strategy: 'weighted', outcome: 'rebalance', reason: 'moved 3', moves: [{ shard: 1, from: a, to: b }] }],
    };
    const base = {
      [`nodes/${a}`]: a,
      [`nodes/${b}`]: b,
      'shard/0': `${a},${a}`,
      'shard/1': `${b},${b}`,
      'rebalance/status': encodeRecord(status),
    };
    const fresh = view(snapshotOf(2, { ...base, leader: a }));
    expect(fresh.balancer).toMatchObject({ source: 'leader', state: 'balanced', reason: status.reason, strategy: 'weighted', at: NOW - 5000 });
    expect(fresh.balancer.recent).toHaveLength(1);

    // Leadership moved to b, which has not published yet: a's record is stale.
    const stale = view(snapshotOf(2, { ...base, leader: b }));
    expect(stale.balancer).toMatchObject({ source: 'computed', leader: b, at: NOW, recent: [] });
    expect(stale.balancer.state).toBe('balanced');

    // Unassigned shards: the computed decision is to reassign.
    const unassigned = view(snapshotOf(4, { [`nodes/${a}`]: a }));
    expect(unassigned.balancer).toMatchObject({ source: 'computed', state: 'acting', code: 'reassign' });
    // Not stable yet, as a watcher saw it.
    const settings = defaultPlannerSettings(4);
    const waiting = view(snapshotOf(4, { [`nodes/${a}`]: a }), { balancer: { strategy: 'count', settings, stableSince: NOW - 1000 } });
    expect(waiting.balancer).toMatchObject({ state: 'waiting', code: 'not-stable' });
  });

  it('shows a pause with its remaining time, and reuses a computed decision for up to a second', () => {
    const snap = snapshotOf(2, {
      [`nodes/${a}`]: a,
      'shard/0': `${a},${a}`,
      'shard/1': `${a},${a}`,
      'rebalance/pause': encodeRecord({ until: NOW + 30_000, by: 'op@host', at: NOW - 1000, reason: 'upgrade' }),
    });
    const first = view(snap);
    expect(first.balancer).toMatchObject({ state: 'paused', pause: { until: NOW + 30_000, by: 'op@host', reason: 'upgrade', remainingMs: 30_000 } });
    const again = buildClusterView({ ...inputOf(first), now: NOW + 500, previous: first });
    expect(again.balancer.at).toBe(NOW);
    expect(again.balancer.pause?.remainingMs).toBe(29_500);
    const later = buildClusterView({ ...inputOf(first), now: NOW + 1500, previous: first });
    expect(later.balancer.at).toBe(NOW + 1500);
  });
});

function inputOf(v: ClusterView): ViewInput {
  return { snapshot: v.snapshot, now: v.now, stuckTimeoutMs: v.stuckTimeoutMs, balancer: { strategy: 'count', settings: defaultPlannerSettings(v.snapshot.numShards) } };
}
