import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PREFIX, Keyspace } from '../../../src/core/keyspace/keys.js';
import { buildSnapshot, type ClusterChange } from '../../../src/core/snapshot/snapshot.js';
import { createEtcdClient, type EtcdClient, MAX_TXN_OPS } from '../../../src/edge/etcd/client.js';
import { diffSnapshots } from '../../../src/core/snapshot/diff.js';
import { ClusterWatcher, type ListReason, type SnapshotUpdate, type WatcherStatus } from '../../../src/edge/etcd/watcher.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { TcpProxy } from '../../harness/tcpProxy.js';
import { waitFor } from '../../harness/waitFor.js';

const NUM_SHARDS = 8192;

/** A watcher plus everything it published, for assertions. */
class Recorder {
  readonly updates: SnapshotUpdate[] = [];
  readonly statuses: WatcherStatus[] = [];
  readonly lists: ListReason[] = [];
  readonly reconnects: string[] = [];
  readonly watcher: ClusterWatcher;

  /** When each update was published (performance.now()). */
  readonly publishedAt: number[] = [];

  constructor(client: EtcdClient, prefix: string, resyncIntervalMs = 600_000, coalesceMs = 0) {
    this.watcher = new ClusterWatcher({
      client,
      keys: new Keyspace(prefix),
      numShards: NUM_SHARDS,
      resyncIntervalMs,
      coalesceMs,
      retryBackoffMs: { initial: 20, max: 200 },
      metrics: { onList: (r) => this.lists.push(r), onReconnect: (o) => this.reconnects.push(o) },
    });
    this.watcher.subscribe((e) => {
      if (e.type === 'status') return void this.statuses.push(e.status);
      this.updates.push(e);
      this.publishedAt.push(performance.now());
    });
  }

  /** Revisions of every shard write published by the watch, in publication order. */
  shardWriteRevisions(): number[] {
    return this.updates
      .filter((u) => u.cause === 'watch')
      .flatMap((u) => u.changes)
      .flatMap((c) => (c.kind === 'shard' && c.after !== undefined ? [c.after.modRevision] : []));
  }
}

let etcd: EtcdCluster;
let client: EtcdClient;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  etcd = await startEtcd('watcher');
  client = createEtcdClient({ endpoints: etcd.endpoints });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

async function started(r: Recorder): Promise<Recorder> {
  cleanups.push(() => r.watcher.stop());
  await r.watcher.start();
  return r;
}

async function putShards(c: EtcdClient, keys: Keyspace, ids: readonly number[], value: (id: number) => string): Promise<void> {
  for (let i = 0; i < ids.length; i += MAX_TXN_OPS) {
    const success = ids.slice(i, i + MAX_TXN_OPS).map((id) => ({ type: 'put' as const, key: keys.shard(id), value: value(id) }));
    await c.txn({ compares: [], success });
  }
}

/** The watcher's view equals a fresh read of etcd. */
async function expectInSync(r: Recorder, c: EtcdClient, prefix: string): Promise<void> {
  const keys = new Keyspace(prefix);
  await waitFor(
    'the watcher to match a fresh list',
    async () => {
      const { kvs, revision } = await c.rangePrefix(keys.root);
      const fresh = buildSnapshot(prefix, NUM_SHARDS, kvs, revision);
      return diffSnapshots(r.watcher.snapshot, fresh).length === 0 && r.watcher.status.kind === 'synced';
    },
    { describe: () => JSON.stringify(r.watcher.status) },
  );
}

function expectStrictlyIncreasing(revisions: readonly number[]): void {
  for (let i = 1; i < revisions.length; i++) {
    if (revisions[i]! <= revisions[i - 1]!) {
      throw new Error(`revision ${revisions[i]} published after ${revisions[i - 1]} (index ${i})`);
    }
  }
}

describe('ClusterWatcher', () => {
  it('loads a snapshot of 8192 shards, and nothing from a sibling prefix', async () => {
    // The real default prefix with the real sibling: this etcd is private to this file and no other test uses it.
    const prefix = DEFAULT_PREFIX;
    const keys = new Keyspace(prefix);
    await putShards(client, keys, Array.from({ length: NUM_SHARDS }, (_, i) => i), (id) => `node-${id % 7},node-${id % 5},f=x`);
    await client.put('/goverse-test/shard/1', 'intruder,');
    await client.put('/goversetest/nodes/a', 'a');
    const r = await started(new Recorder(client, prefix));
    const snap = r.watcher.snapshot;
    expect(snap.shards.filter((s) => s !== undefined)).toHaveLength(NUM_SHARDS);
    expect(snap.shards[100]).toMatchObject({ target: 'node-2', current: 'node-0', flags: ['x'], raw: 'node-2,node-0,f=x' });
    expect(snap.nodes.size).toBe(0);
    expect(snap.malformed.size).toBe(0);
    expect(r.watcher.status).toMatchObject({ kind: 'synced', revision: snap.revision });
    expect(r.updates).toHaveLength(1);
    expect(r.updates[0]!.cause).toBe('initial');
    // Writes to the sibling prefix during the watch do not show up either.
    await client.put('/goverse-test/shard/2', 'intruder,');
    const { revision } = await client.put(keys.shard(5), 'n,n');
    await waitFor('the shard 5 update', () => r.watcher.snapshot.revision >= revision);
    expect(r.updates.slice(1).flatMap((u) => u.changes)).toEqual([
      expect.objectContaining({ kind: 'shard', id: 5 }),
    ]);
  });

  it('delivers every one of 1000 concurrent updates once, in revision order', async () => {
    const prefix = uniquePrefix('burst');
    const keys = new Keyspace(prefix);
    const r = await started(new Recorder(client, prefix));
    const writer = createEtcdClient({ endpoints: etcd.endpoints });
    cleanups.push(() => writer.close());
    const acked = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => writer.put(keys.shard(i % 300), `n${i},`).then((res) => res.revision)),
    );
    const last = Math.max(...acked);
    await waitFor('the last update', () => r.watcher.snapshot.revision >= last);
    const seen = r.shardWriteRevisions();
    expectStrictlyIncreasing(seen);
    expect(seen).toEqual([...acked].sort((a, b) => a - b));
    await expectInSync(r, client, prefix);
  });

  it('coalesces a burst into batches at least coalesceMs apart when asked, still losing and reordering nothing', async () => {
    const prefix = uniquePrefix('coalesce');
    const keys = new Keyspace(prefix);
    const coalesceMs = 200;
    const r = await started(new Recorder(client, prefix, 600_000, coalesceMs));
    const writer = createEtcdClient({ endpoints: etcd.endpoints });
    cleanups.push(() => writer.close());
    const acked: number[] = [];
    // Sequential writes: each its own watch response, 300 of them over a few hundred ms at least.
    for (let i = 0; i < 300; i++) acked.push((await writer.put(keys.shard(i % 50), `n${i},`)).revision);
    await waitFor('the last update', () => r.watcher.snapshot.revision >= acked.at(-1)!);
    expect(r.shardWriteRevisions()).toEqual(acked);
    const watchAt = r.publishedAt.filter((_, i) => r.updates[i]!.cause === 'watch');
    expect(watchAt.length).toBeLessThan(acked.length / 2);
    // Timers never fire early, so batches are spaced by the window at least (1 ms for the clock's rounding).
    for (let i = 1; i < watchAt.length; i++) expect(watchAt[i]! - watchAt[i - 1]!).toBeGreaterThanOrEqual(coalesceMs - 1);
    await expectInSync(r, client, prefix);
  });

  it('loses and duplicates nothing when etcd is killed (-9) and restarted mid-watch', async () => {
    const prefix = uniquePrefix('kill');
    const keys = new Keyspace(prefix);
    const r = await started(new Recorder(client, prefix));
    const writer = createEtcdClient({ endpoints: etcd.endpoints, callTimeoutMs: 2000 });
    cleanups.push(() => writer.close());
    const acked: number[] = [];
    let next = 0;
    // 8 writers put until 600 writes are acknowledged, retrying through the outage.
    const writeLoop = async (): Promise<void> => {
      while (acked.length < 600) {
        const i = next++;
        for (;;) {
          try {
            acked.push((await writer.put(keys.shard(i % 500), `n${i},`)).revision);
            break;
          } catch {
            await waitFor('etcd to be back', () => etcd.member().running, { timeoutMs: 30_000 });
          }
        }
      }
    };
    const loops = Array.from({ length: 8 }, writeLoop);
    await waitFor('200 acknowledged writes', () => acked.length >= 200);
    await etcd.member().kill();
    await waitFor('the watcher to notice the outage', () => r.watcher.status.kind === 'reconnecting');
    await etcd.member().start();
    await Promise.all(loops);
    const last = Math.max(...acked);
    await waitFor('the last acknowledged write', () => r.watcher.snapshot.revision >= last, { timeoutMs: 20_000 });
    const seen = r.shardWriteRevisions();
    expectStrictlyIncreasing(seen);
    const seenSet = new Set(seen);
    expect(acked.filter((rev) => !seenSet.has(rev))).toEqual([]);
    await expectInSync(r, client, prefix);
    // Resumed from its revision: no re-list was needed.
    expect(r.lists).toEqual(['initial']);
    expect(r.reconnects).toContain('reconnected');
    expect(r.statuses.map((s) => s.kind)).toContain('reconnecting');
  });

  it('heals its snapshot from the fresh reads of a lost CAS, never going back and keeping its revision', async () => {
    const prefix = uniquePrefix('heal');
    const keys = new Keyspace(prefix);
    await putShards(client, keys, [1, 2], () => 'a:1,a:1');
    const r = await started(new Recorder(client, prefix));
    const snap = r.watcher.snapshot;
    // A CAS lost to a write the watch has not delivered yet: its failure branch read the winner at a later revision.
    const read = snap.revision + 1000;
    const winner = { key: keys.shard(1), value: 'b:1,a:1', modRevision: read - 1, createRevision: 1, lease: '0' };
    r.watcher.heal([{ type: 'put', kv: winner }], read);
    expect(r.watcher.snapshot.shards[1]).toMatchObject({ target: 'b:1', current: 'a:1', modRevision: read - 1 });
    expect(r.watcher.snapshot.revision).toBe(snap.revision);
    expect(r.updates.at(-1)).toMatchObject({ cause: 'heal', changes: [{ kind: 'shard', id: 1 }] });
    // Reads no newer than what the snapshot reflects change nothing.
    r.watcher.heal([{ type: 'put', kv: { ...winner, key: keys.shard(2), modRevision: snap.revision } }], snap.revision);
    expect(r.watcher.snapshot.shards[2]?.raw).toBe('a:1,a:1');
    // A watch event older than the healed value is a replay of what the read already covered: it changes nothing.
    const older = await client.put(keys.shard(1), 'c:1,c:1');
    await waitFor('the watch to pass the write', () => r.watcher.snapshot.revision >= older.revision);
    expect(r.watcher.snapshot.shards[1]?.raw).toBe('b:1,a:1');
  });

  it('re-lists when etcd compacted past its revision while it was cut off', async () => {
    const prefix = uniquePrefix('compact');
    const keys = new Keyspace(prefix);
    await putShards(client, keys, [1, 2, 3], () => 'a,a');
    const proxy = await TcpProxy.start(etcd.member().clientPort);
    cleanups.push(() => proxy.close());
    const viaProxy = createEtcdClient({ endpoints: [proxy.endpoint] });
    cleanups.push(() => viaProxy.close());
    const r = await started(new Recorder(viaProxy, prefix));
    const before = r.watcher.snapshot.revision;

    proxy.block();
    await waitFor('the watcher to notice the partition', () => r.watcher.status.kind === 'reconnecting');
    await client.put(keys.shard(2), 'b,b');
    await client.delete(keys.shard(3));
    const { revision } = await client.put(keys.node('n1:1'), 'n1:1', { lease: (await client.grantLease(60)).id });
    await client.compact(revision);
    proxy.unblock();

    await waitFor('a re-list after the cancelled watch', () => r.lists.includes('cancelled'), { timeoutMs: 20_000 });
    await expectInSync(r, client, prefix);
    expect(r.watcher.snapshot.revision).toBeGreaterThanOrEqual(revision);
    const relist = r.updates.find((u) => u.cause === 'cancelled')!;
    const summary = relist.changes.map((c: ClusterChange) => (c.kind === 'shard' ? `shard ${c.id}` : c.kind));
    expect(summary.sort()).toEqual(['node-joined', 'shard 2', 'shard 3']);
    expect(r.statuses.some((s) => s.kind === 'stale')).toBe(true);
    expect(before).toBeLessThan(revision);

    // And it keeps watching from the new revision.
    const after = await client.put(keys.shard(1), 'c,c');
    await waitFor('an update after the re-list', () => r.watcher.snapshot.revision >= after.revision);
    expect(r.watcher.snapshot.shards[1]?.raw).toBe('c,c');
  });
});

describe('ClusterWatcher against a wiped etcd', () => {
  let own: EtcdCluster;

  beforeAll(async () => {
    own = await startEtcd('wipe');
  });

  afterAll(async () => {
    await own?.close();
  });

  it('detects the revision going backwards and re-lists', async () => {
    const prefix = uniquePrefix('wipe');
    const keys = new Keyspace(prefix);
    const c = createEtcdClient({ endpoints: own.endpoints });
    cleanups.push(() => c.close());
    for (let i = 0; i < 20; i++) await c.put(keys.shard(i), `old${i},`);
    const r = await started(new Recorder(c, prefix));
    expect(r.watcher.snapshot.shards.filter(Boolean)).toHaveLength(20);

    await own.member().restartWithFreshData();
    await waitFor('a re-list of the wiped etcd', () => r.lists.includes('wiped'), { timeoutMs: 20_000 });
    expect(r.watcher.snapshot.shards.filter(Boolean)).toHaveLength(0);
    const wiped = r.updates.find((u) => u.cause === 'wiped')!;
    expect(wiped.changes.filter((ch) => ch.kind === 'shard' && ch.after === undefined)).toHaveLength(20);

    const { revision } = await c.put(keys.shard(7), 'new,');
    await waitFor('a write to the new etcd', () => r.watcher.snapshot.revision >= revision);
    expect(r.watcher.snapshot.shards[7]?.raw).toBe('new,');
    await expectInSync(r, c, prefix);
  });

  it('bounds staleness with the periodic resync when a wipe goes unnoticed', async () => {
    const prefix = uniquePrefix('resync');
    const keys = new Keyspace(prefix);
    const proxy = await TcpProxy.start(own.member().clientPort);
    cleanups.push(() => proxy.close());
    const c = createEtcdClient({ endpoints: own.endpoints });
    cleanups.push(() => c.close());
    const viaProxy = createEtcdClient({ endpoints: [proxy.endpoint] });
    cleanups.push(() => viaProxy.close());
    await c.put(keys.shard(0), 'old,');
    const r = await started(new Recorder(viaProxy, prefix, 300));
    const seenRevision = r.watcher.snapshot.revision;

    // Cut the watcher off, wipe etcd and write past the watcher's revision: on reconnect nothing looks wrong.
    proxy.block();
    await own.member().restartWithFreshData();
    let rev = 0;
    for (let i = 0; rev <= seenRevision + 2; i++) rev = (await c.put(keys.shard(1 + (i % 10)), `new${i},`)).revision;
    proxy.unblock();

    await waitFor('a periodic resync', () => r.lists.includes('periodic'), { timeoutMs: 20_000 });
    await expectInSync(r, c, prefix);
    expect(r.watcher.snapshot.shards[0]).toBeUndefined();
  });
});
