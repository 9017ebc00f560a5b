/**
 * Issue 4 acceptance, stuck migrations: each limbo state is produced on purpose on 3 goverse-node processes (shard
 * values written by CAS, nodes frozen) and recovered by the leader, or for a shard pinned to a dead node reported;
 * and the age of a stuck migration reads the same for a long-running watcher and for processes started later.
 * Lease TTL 10 s (a node frozen for a few seconds stays alive, even on a loaded machine), stuck timeout 1 s (= the release timeout).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/core/clock.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import type { LogRecord } from '../../../src/core/log/logger.js';
import { planOperation } from '../../../src/core/operations/operations.js';
import { type FirstSeen, listMigrations, trackFirstSeen } from '../../../src/core/planner/stuck.js';
import { ClusterWatcher } from '../../../src/edge/etcd/watcher.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { casShard, leaderOf, logRecords, metricOf, ownedBy, ShardHistory, waitBalanced } from './clusterTools.js';

const NUM_SHARDS = 32;
const STUCK_MS = 1000;
const ENV = { GOVERSE_LEASE_TTL: '10s', GOVERSE_STUCK_TIMEOUT: '1s', GOVERSE_SHARD_CHECK_INTERVAL: '200ms' };

let etcd: EtcdCluster;
let cluster: NodeCluster;
let ops: ClusterOperations;
let keys: Keyspace;
let leader: TestNode;
/** Two nodes that are not the leader: freezing them never stops the leader. */
let a: TestNode;
let c: TestNode;
/** A long-running watcher with its own first sightings, as the node metrics and the console keep them. */
let watcher: ClusterWatcher;
let firstSeen: ReadonlyMap<number, FirstSeen> = new Map();
const used = new Set<number>();

beforeAll(async () => {
  etcd = await startEtcd('cluster-limbo');
  cluster = await NodeCluster.start({ etcd, nodes: 3, numShards: NUM_SHARDS, label: 'limbo', env: ENV });
  // Its migration records expire after 2 s unless the leader (stuck timeout 1 s) adopts them, a quarter of it after
  // seeing their migrations.
  ops = new ClusterOperations({ client: cluster.client, keys: cluster.keys, stuckTimeoutMs: 2 * STUCK_MS });
  keys = new Keyspace(cluster.prefix);
  await waitBalanced(cluster, cluster.nodes, 2);
  // Each test moves a shard by hand; paused, the count strategy never moves one back midway. A pause holds back
  // rebalancing only: reassign and stuck recovery go on.
  await ops.execute(planOperation({ kind: 'pause', forMs: 600_000, reason: 'limbo tests' }, { snapshot: await cluster.snapshot(), now: Date.now(), by: 'test@limbo' }));
  const l = (await leaderOf(cluster))!;
  leader = cluster.nodes.find((n) => n.address === l.address)!;
  [a, c] = cluster.nodes.filter((n) => n !== leader) as [TestNode, TestNode];
  watcher = new ClusterWatcher({ client: cluster.client, keys: cluster.keys, numShards: NUM_SHARDS, clock: systemClock });
  watcher.subscribe((ev) => {
    if (ev.type === 'snapshot') firstSeen = trackFirstSeen(firstSeen, ev.snapshot, Date.now());
  });
  await watcher.start();
});

afterAll(async () => {
  await watcher?.stop();
  await cluster?.close();
  await etcd?.close();
});

/** A shard settled on `node` that no earlier test touched. */
async function freshShardOf(node: TestNode): Promise<number> {
  const snap = await cluster.waitStable({ timeoutMs: 15_000 });
  const e = ownedBy(snap, node.address).find((x) => !used.has(x.id));
  if (e === undefined) throw new Error(`no unused shard on ${node.address}`);
  used.add(e.id);
  return e.id;
}

function stuckLines(shard: number): LogRecord[] {
  return logRecords(leader).filter((r) => r.msg === 'stuck migration' && r.shard === shard);
}

async function waitSettledOn(shard: number, allowed: readonly TestNode[], timeoutMs = STUCK_MS * 3 + 5000): Promise<string> {
  const addresses = allowed.map((n) => n.address);
  let raw = '';
  await waitFor(
    `shard ${shard} settled on one of ${addresses.join(', ')}`,
    async () => {
      const e = (await cluster.snapshot()).shards[shard];
      raw = e?.raw ?? '';
      return e !== undefined && e.target === e.current && addresses.includes(e.current);
    },
    { timeoutMs, intervalMs: 20, describe: () => raw },
  );
  return raw;
}

const interventions = (action: string) => metricOf(leader, 'goverse_stuck_interventions_total', { action });

describe('stuck migrations: every limbo state, produced and recovered', () => {
  it('target-unclaimed (the target is alive but frozen): retargeted to another node', async () => {
    const shard = await freshShardOf(a);
    const retargets = await interventions('retarget');
    c.freeze();
    try {
      await casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, target: c.address }));
      await waitSettledOn(shard, [leader, a]);
    } finally {
      c.thaw();
    }
    expect(stuckLines(shard).map((r) => [r.level, r.state, r.target, r.current])).toEqual([['error', 'target-unclaimed', c.address, '']]);
    expect(stuckLines(shard)[0]!.ageMs).toBeGreaterThanOrEqual(STUCK_MS);
    expect(await interventions('retarget')).toBeGreaterThan(retargets);
  });

  it('owner-dead (the owner is gone, the target frozen): the owner is cleared, then the shard retargeted', async () => {
    const shard = await freshShardOf(a);
    const [clears, retargets] = [await interventions('clear-owner'), await interventions('retarget')];
    c.freeze();
    try {
      await casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, target: c.address, current: '127.0.0.1:1' }));
      await waitSettledOn(shard, [leader, a]);
    } finally {
      c.thaw();
    }
    expect(stuckLines(shard).map((r) => [r.state, r.current])).toEqual([
      ['owner-dead', '127.0.0.1:1'],
      ['target-unclaimed', ''],
    ]);
    expect(await interventions('clear-owner')).toBeGreaterThan(clears);
    expect(await interventions('retarget')).toBeGreaterThan(retargets);
  });

  it('owner-not-releasing (the owner is alive but frozen): a release is requested, then the migration cancelled', async () => {
    const shard = await freshShardOf(a);
    const [requests, cancels] = [await interventions('request-release'), await interventions('cancel')];
    const history = await ShardHistory.start(cluster);
    let sawRequest = false;
    a.freeze();
    try {
      await casShard(cluster.client, cluster.prefix, shard, (v) => ({ ...v, target: c.address }));
      await waitFor('the migration cancelled', async () => {
        sawRequest ||= (await cluster.client.get(keys.releaseRequest(shard)))?.value.includes(a.address) === true;
        return (await cluster.snapshot()).shards[shard]?.target === a.address;
      }, { timeoutMs: STUCK_MS * 3 + 5000, intervalMs: 20 });
    } finally {
      a.thaw();
    }
    await waitSettledOn(shard, [a]);
    await history.stop();
    expect(sawRequest).toBe(true);
    expect(history.of(shard)).toEqual([`${c.address},${a.address}`, `${a.address},${a.address}`]);
    expect(stuckLines(shard).map((r) => [r.state, r.target, r.current])).toEqual([['owner-not-releasing', c.address, a.address]]);
    expect(await interventions('request-release')).toBeGreaterThan(requests);
    expect(await interventions('cancel')).toBeGreaterThan(cancels);
    // The leader tidies the obsolete request away.
    await waitFor('release request deleted', async () => (await cluster.client.get(keys.releaseRequest(shard))) === null);
  });

  it('target-dead and no-target: the leader gives the shard an alive target at once', async () => {
    const dead = await freshShardOf(a);
    const none = await freshShardOf(a);
    const started = performance.now();
    await casShard(cluster.client, cluster.prefix, dead, (v) => ({ ...v, target: '127.0.0.1:2' }));
    await casShard(cluster.client, cluster.prefix, none, (v) => ({ ...v, target: '' }));
    await waitSettledOn(dead, cluster.nodes);
    // A shard without target adopts its owner: no data moves.
    expect(await waitSettledOn(none, cluster.nodes)).toBe(`${a.address},${a.address}`);
    expect(performance.now() - started).toBeLessThan(STUCK_MS + 2000);
  });

  it('pinned-to-dead: reported once as stuck, never moved; the same age for a long-running watcher and later processes', async () => {
    const byHand = await freshShardOf(a);
    const byOperation = await freshShardOf(a);
    const detected = await metricOf(leader, 'goverse_stuck_migrations_detected_total', { state: 'pinned-to-dead' });
    const history = await ShardHistory.start(cluster);
    const writtenAt = Date.now();
    // By hand, as an upstream node or an operator with etcdctl would: no migration record.
    await casShard(cluster.client, cluster.prefix, byHand, (v) => ({ target: '127.0.0.1:3', current: v.current, flags: ['pinned'] }));
    // Through the operations: pin, then a forced retarget to a node that is not alive, which writes the record.
    const ctx = async () => ({ snapshot: await cluster.snapshot(), now: Date.now(), by: 'test@limbo' });
    await ops.execute(planOperation({ kind: 'pin', shards: [byOperation] }, await ctx()));
    const retarget = await ops.execute(planOperation({ kind: 'retarget', shards: [byOperation], to: '127.0.0.1:3', refusals: 'override' }, await ctx()));
    expect(retarget.changes[0]!.outcome).toBe('written');
    const written = await cluster.client.get(keys.migration(byOperation));
    expect(written?.lease).not.toBe('0');

    await waitFor('both reported as stuck', () => stuckLines(byHand).length > 0 && stuckLines(byOperation).length > 0, { timeoutMs: STUCK_MS + 5000 });
    // The owner released them (the target is elsewhere) and nothing else moved them, across many leader passes.
    await waitFor('the stuck gauge on a node', async () => (await metricOf(a, 'goverse_shards_stuck', { state: 'pinned-to-dead' })) === 2);
    const later = await cluster.snapshot();
    expect(later.shards[byHand]!.raw).toBe('127.0.0.1:3,,f=pinned');
    expect(later.shards[byOperation]!.raw).toBe('127.0.0.1:3,,f=pinned');
    await history.stop();
    expect(history.of(byHand)).toEqual([`127.0.0.1:3,${a.address},f=pinned`, '127.0.0.1:3,,f=pinned']);
    for (const shard of [byHand, byOperation]) {
      expect(stuckLines(shard).map((r) => [r.state, r.target])).toEqual([['pinned-to-dead', '127.0.0.1:3']]);
    }
    expect(await metricOf(leader, 'goverse_stuck_migrations_detected_total', { state: 'pinned-to-dead' })).toBe(detected + 2);

    // Ages: the long-running watcher (first sightings, then the records) and a fresh read (records only) agree.
    await waitFor('the leader backfilled the record of the hand-made migration', async () => (await cluster.client.get(keys.migration(byHand))) !== null);
    await waitFor('the watcher has the record', () => watcher.snapshot.migrations.has(byHand));
    const now = Date.now();
    const long = listMigrations(watcher.snapshot, firstSeen, now);
    const fresh = listMigrations(await cluster.snapshot(), new Map(), now);
    for (const shard of [byHand, byOperation]) {
      const l = long.find((m) => m.shardId === shard)!;
      const f = fresh.find((m) => m.shardId === shard)!;
      expect(f.ageSource).toBe('record');
      expect(l.since).toBe(f.since);
      expect(Math.abs(f.since! - writtenAt)).toBeLessThan(1000);
    }
    // The leader holds the operation's record under its own lease, as it was: it lasts as long as the migration.
    const adopted = await cluster.client.get(keys.migration(byOperation));
    expect(adopted?.lease).not.toBe(written!.lease);
    expect(adopted?.value).toBe(written!.value);

    // A goverse-node started now reports the same ages in its /metrics as a node that watched them begin.
    const [newcomer] = await cluster.addNodes(1, ENV);
    const age = async (n: TestNode, shard: number) => metricOf(n, 'goverse_shard_migration_age_seconds', { shard: String(shard) });
    for (const shard of [byHand, byOperation]) {
      const [older, newer] = await Promise.all([age(a, shard), age(newcomer!, shard)]);
      expect(older).toBeGreaterThan(STUCK_MS / 1000);
      expect(Math.abs(older - newer)).toBeLessThan(0.5);
    }
  });
});
