/**
 * The cluster history on a real etcd: the snapshot's range leaves it out, an operation's entry commits in the
 * transaction of its change (or right after it when that cannot be), the trim keeps it within its count and age
 * bounds, and the feed follows it, listing again when etcd cancels its watch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { type HistoryDraft, historyId } from '../../../src/core/history/entry.js';
import { HistoryTimeline } from '../../../src/core/history/timeline.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { planOperation, type OperationRequest } from '../../../src/core/operations/operations.js';
import { createEtcdClient, type EtcdClient, MAX_TXN_OPS } from '../../../src/edge/etcd/client.js';
import { readSnapshot } from '../../../src/edge/etcd/readSnapshot.js';
import { HistoryFeed, readHistory } from '../../../src/edge/history/historyFeed.js';
import { HistoryLog } from '../../../src/edge/history/historyLog.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { waitFor } from '../../harness/waitFor.js';

const NODES = ['10.0.0.1:7001', '10.0.0.2:7001'];
const NOW = Date.UTC(2026, 0, 31, 14, 0, 0);

let etcd: EtcdCluster;
let client: EtcdClient;

beforeAll(async () => {
  etcd = await startEtcd('history');
  client = createEtcdClient({ endpoints: etcd.endpoints });
});

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

const clockAt = (t: { now: number }): Clock => ({ now: () => t.now, monotonic: () => 0 });
const draft = (at: number, i = 0): HistoryDraft => ({ at, actor: 'test', source: 'cli', action: 'pin', shards: [i], reason: `entry ${i}`, outcome: 'written' });

/** A cluster of `shards` shards (stable, round-robin) under a fresh prefix; no processes, members under a lease. */
async function seeded(shards: number): Promise<Keyspace> {
  const keys = new Keyspace(uniquePrefix('history'));
  const { id: lease } = await client.grantLease(600);
  const ops = [
    ...NODES.map((n) => ({ type: 'put' as const, key: keys.node(n), value: n, lease })),
    ...Array.from({ length: shards }, (_, id) => ({ type: 'put' as const, key: keys.shard(id), value: `${NODES[id % 2]},${NODES[id % 2]}` })),
  ];
  for (let i = 0; i < ops.length; i += MAX_TXN_OPS) await client.txn({ compares: [], success: ops.slice(i, i + MAX_TXN_OPS) });
  return keys;
}

async function entries(keys: Keyspace) {
  const t = new HistoryTimeline(keys, Number.MAX_SAFE_INTEGER);
  const list = await readHistory(client, keys);
  t.apply({ kind: 'reset', kvs: list.kvs });
  return { entries: t.entries, kvs: list.kvs, malformed: [...t.malformed.values()] };
}

describe('the cluster history on etcd', () => {
  it('is left out of the snapshot\'s range; a key count counts every key whatever the limit', async () => {
    const keys = await seeded(4);
    const log = new HistoryLog({ client, keys, bounds: { maxEntries: 100, maxAgeMs: 3_600_000 }, clock: clockAt({ now: NOW }) });
    expect(await log.append([draft(NOW, 0), draft(NOW, 1), draft(NOW, 2)])).toBe(true);
    const whole = await client.rangePrefix(keys.root);
    const without = await client.rangePrefix(keys.root, { except: keys.historyRoot });
    expect(whole.kvs.length - without.kvs.length).toBe(3);
    expect(without.kvs.some((kv) => kv.key.startsWith(keys.historyRoot))).toBe(false);
    expect(without.kvs.some((kv) => kv.key === keys.shard(3))).toBe(true);
    expect((await readSnapshot(client, keys, 4)).malformed.size).toBe(0);
    const counted = await client.keysBetween(keys.historyRoot, `${keys.historyRoot}~`, 1);
    expect(counted.count).toBe(3);
    expect(counted.keys).toHaveLength(1);
  });

  it('records an operation in the transaction of its change; a write of several transactions right after it', async () => {
    const keys = await seeded(300);
    const history = new HistoryLog({ client, keys, bounds: { maxEntries: 100, maxAgeMs: 3_600_000 }, clock: clockAt({ now: Date.now() }) });
    const ops = new ClusterOperations({ client, keys, history: { log: history, who: { actor: 'alice@ops-1', source: 'cli' } } });
    const run = async (request: OperationRequest) => {
      const plan = planOperation(request, { snapshot: await readSnapshot(client, keys, 300), now: Date.now(), by: 'alice@ops-1' });
      return ops.execute(plan);
    };

    await run({ kind: 'pin', shards: [1, 2] });
    let h = await entries(keys);
    expect(h.entries).toHaveLength(1);
    expect(h.entries[0]).toMatchObject({ actor: 'alice@ops-1', source: 'cli', action: 'pin', shards: [[1, 2]], outcome: 'written' });
    const pinnedAt = (await client.get(keys.shard(1)))!.modRevision;
    expect(h.kvs[0]!.modRevision).toBe(pinnedAt);

    // A drain: its shard retargets first, then its record, which carries the entry.
    await run({ kind: 'drain', node: NODES[0]! });
    h = await entries(keys);
    const drain = h.entries.find((e) => e.action === 'drain')!;
    expect(drain).toMatchObject({ node: NODES[0], outcome: 'written', shardCount: 149 });
    expect(h.kvs.find((kv) => kv.key.endsWith(drain.id))!.modRevision).toBe((await client.get(keys.drain(NODES[0]!)))!.modRevision);

    // 150 unpinned shards of the other node take two transactions: one entry, after them, for all of them.
    const many = Array.from({ length: 150 }, (_, i) => 2 * i + 1).filter((id) => id !== 1);
    await run({ kind: 'pin', shards: many });
    h = await entries(keys);
    const big = h.entries.at(-1)!;
    expect(big).toMatchObject({ action: 'pin', shardCount: 149, outcome: 'written' });
    const lastShard = Math.max(...(await Promise.all(many.map(async (id) => (await client.get(keys.shard(id)))!.modRevision))));
    expect(h.kvs.at(-1)!.modRevision).toBeGreaterThan(lastShard);
  });

  it('records what an attempt wrote after a lost compare: the other shards, partial', async () => {
    const keys = await seeded(4);
    const history = new HistoryLog({ client, keys, bounds: { maxEntries: 100, maxAgeMs: 3_600_000 }, clock: clockAt({ now: Date.now() }) });
    const ops = new ClusterOperations({ client, keys, history: { log: history, who: { actor: 'bob@ops-2', source: 'console' } } });
    const plan = planOperation({ kind: 'pin', shards: [0, 1, 2] }, { snapshot: await readSnapshot(client, keys, 4), now: Date.now(), by: 'bob' });
    await client.put(keys.shard(1), `${NODES[0]},${NODES[1]}`);
    const result = await ops.execute(plan);
    expect(result.conflicts).toBe(1);
    const h = await entries(keys);
    expect(h.entries).toHaveLength(1);
    expect(h.entries[0]).toMatchObject({ source: 'console', shards: [[0, 0], [2, 2]], outcome: 'partial', reason: 'pin 3 shards (2 of 3 changes written)' });
    expect(h.kvs[0]!.modRevision).toBe((await client.get(keys.shard(0)))!.modRevision);
  });

  it('stays within its count bound (the oldest go) and its age bound (in each append, and by the trim)', async () => {
    const keys = await seeded(0);
    const time = { now: NOW };
    const log = new HistoryLog({ client, keys, bounds: { maxEntries: 10, maxAgeMs: 60_000 }, clock: clockAt(time) });
    for (let i = 0; i < 25; i++) expect(await log.append([draft(NOW + i, i)])).toBe(true);
    await client.put(keys.history('not-an-entry'), 'x');
    await log.trim();
    let h = await entries(keys);
    expect(h.entries.map((e) => e.reason)).toEqual(Array.from({ length: 10 }, (_, i) => `entry ${15 + i}`));
    expect(h.malformed.map((m) => m.key)).toEqual([keys.history('not-an-entry')]);

    // An append 50 s later expires nothing; 61 s after the newest, it expires them all in its own transaction.
    time.now = NOW + 50_000;
    await log.append([draft(time.now, 100)]);
    expect((await entries(keys)).entries).toHaveLength(11);
    time.now = NOW + 24 + 60_001;
    await log.append([draft(time.now, 101)]);
    h = await entries(keys);
    expect(h.entries.map((e) => e.reason)).toEqual(['entry 100', 'entry 101']);

    // An idle history ages out by the trim alone.
    time.now += 120_000;
    await log.trim();
    expect((await entries(keys)).entries).toEqual([]);
    // Nothing left to trim: no write at all.
    const before = (await client.rangePrefix(keys.root)).revision;
    await log.trim();
    expect((await client.rangePrefix(keys.root)).revision).toBe(before);
  });

  it('the feed delivers new entries as they are written, and lists again when etcd cancels its watch', async () => {
    const keys = await seeded(0);
    const log = new HistoryLog({ client, keys, bounds: { maxEntries: 100, maxAgeMs: 3_600_000 }, clock: clockAt({ now: Date.now() }) });
    await log.append([draft(Date.now(), 1)]);
    const start = await readHistory(client, keys);
    await log.append([draft(Date.now(), 2)]);
    // Compacted past the revision the feed starts from: its watch is cancelled, and it lists again.
    await client.compact((await client.rangePrefix(keys.root)).revision);
    const timeline = new HistoryTimeline(keys, 1000);
    const seen: string[] = [];
    const feed = new HistoryFeed({ client, keys, onUpdate: (u) => seen.push(...timeline.apply(u).map((e) => e.reason)) });
    await feed.start(start);
    await waitFor('the entry written before the compaction', () => seen.includes('entry 2'), { timeoutMs: 10_000 });
    await log.append([draft(Date.now(), 3)]);
    await waitFor('the entry written after', () => seen.includes('entry 3'), { timeoutMs: 10_000 });
    await feed.stop();
    expect(seen).toEqual(['entry 1', 'entry 2', 'entry 3']);
    expect(historyId(0, 'a') < timeline.entries[0]!.id).toBe(true);
  });
});
