import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SHARD_WRITE_RETRY } from '../../../src/core/config/shardWriteRetry.js';
import { UnavailableError } from '../../../src/core/errors.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { parseShardValue } from '../../../src/core/keyspace/shardValue.js';
import { createEtcdClient, type EtcdClient, type EtcdFailureCategory } from '../../../src/edge/etcd/client.js';
import { GuardFailedError, type ShardChange, ShardWriter, type ShardWriteResult } from '../../../src/edge/etcd/shardWriter.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { waitFor } from '../../harness/waitFor.js';

let etcd: EtcdCluster;
let client: EtcdClient;

beforeAll(async () => {
  etcd = await startEtcd('writer');
  client = createEtcdClient({ endpoints: etcd.endpoints, callTimeoutMs: 2000 });
});

afterEach(async () => {
  if (!etcd.member().running) await etcd.member().start();
});

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

const fresh = (ids: number[], target: (id: number) => string): ShardChange[] =>
  ids.map((shardId) => ({ shardId, expectedModRevision: 0, value: { target: target(shardId), current: '', flags: ['pinned', 'x-later'] } }));

async function readShards(keys: Keyspace): Promise<Map<number, { raw: string; modRevision: number }>> {
  const { kvs } = await client.rangePrefix(`${keys.root}shard/`);
  return new Map(kvs.map((kv) => [Number(kv.key.slice(kv.key.lastIndexOf('/') + 1)), { raw: kv.value, modRevision: kv.modRevision }]));
}

describe('ShardWriter on etcd', () => {
  it('writes 8192 shards, keeping flags, with ModRevisions that match etcd', async () => {
    const prefix = uniquePrefix('writer-all');
    const keys = new Keyspace(prefix);
    const writer = new ShardWriter({ client, keys });
    const report = await writer.write(fresh(Array.from({ length: 8192 }, (_, i) => i), (id) => `node-${id % 4}`));
    expect(report).toMatchObject({ written: 8192, failed: 0, conflicts: 0 });
    const stored = await readShards(keys);
    expect(stored.size).toBe(8192);
    for (const r of report.results) {
      const s = stored.get(r.shardId)!;
      expect(r).toEqual({ status: 'written', shardId: r.shardId, modRevision: s.modRevision, raw: s.raw });
    }
    expect(parseShardValue(stored.get(7)!.raw).value).toEqual({ target: 'node-3', current: '', flags: ['pinned', 'x-later'] });
  });

  it('reports per-shard conflicts against a concurrent writer while the other shards commit', async () => {
    const prefix = uniquePrefix('writer-race');
    const keys = new Keyspace(prefix);
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    const initial = await new ShardWriter({ client, keys }).write(fresh(ids, () => 'old'));
    const revOf = new Map(initial.results.map((r) => [r.shardId, r.status === 'written' ? r.modRevision : -1]));
    const claim = (id: number, node: string): ShardChange => ({
      shardId: id,
      expectedModRevision: revOf.get(id)!,
      value: { target: 'old', current: node, flags: ['pinned', 'x-later'] },
    });
    const other = createEtcdClient({ endpoints: etcd.endpoints });
    try {
      const contested = ids.filter((id) => id % 3 === 0);
      const [a, b] = await Promise.all([
        new ShardWriter({ client, keys }).write(ids.map((id) => claim(id, 'A'))),
        new ShardWriter({ client: other, keys }).write(contested.map((id) => claim(id, 'B'))),
      ]);
      const stored = await readShards(keys);
      const byId = (results: readonly ShardWriteResult[]): Map<number, ShardWriteResult> => new Map(results.map((r) => [r.shardId, r]));
      const ra = byId(a.results);
      const rb = byId(b.results);
      expect(a.failed + b.failed).toBe(0);
      for (const id of ids) {
        const mine = ra.get(id)!;
        const theirs = rb.get(id);
        const winner = stored.get(id)!.raw.split(',')[1];
        if (theirs === undefined) {
          expect(mine.status).toBe('written');
          continue;
        }
        // Exactly one writer won each contested shard; the loser saw the winner's value.
        expect([mine.status, theirs.status].sort()).toEqual(['conflict', 'written']);
        const loser = mine.status === 'conflict' ? mine : theirs;
        expect(loser.status === 'conflict' && loser.current?.raw).toBe(stored.get(id)!.raw);
        expect(winner).toBe(mine.status === 'written' ? 'A' : 'B');
      }
      expect(a.written + b.written).toBe(1000);
    } finally {
      await other.close();
    }
  });

  it('fails a burst with GuardFailedError once the guard key moved', async () => {
    const prefix = uniquePrefix('writer-guard');
    const keys = new Keyspace(prefix);
    const won = await client.put(keys.leader, 'me');
    const writer = new ShardWriter({ client, keys });
    const ok = await writer.write(fresh([1, 2], () => 'a'), { guard: [{ key: keys.leader, modRevision: won.revision }] });
    expect(ok.written).toBe(2);
    await client.put(keys.leader, 'usurper');
    const report = await writer.write(fresh([3, 4], () => 'a'), { guard: [{ key: keys.leader, modRevision: won.revision }] });
    expect(report.guardFailure).toBeInstanceOf(GuardFailedError);
    expect(report.failed).toBe(2);
    expect((await readShards(keys)).has(3)).toBe(false);
  });

  it('completes a burst once etcd is back within the deadline', async () => {
    const prefix = uniquePrefix('writer-outage');
    const keys = new Keyspace(prefix);
    let retries = 0;
    const writer = new ShardWriter({ client, keys, retry: { ...DEFAULT_SHARD_WRITE_RETRY, deadlineMs: 30_000 }, metrics: { onRetry: () => void retries++ } });
    await etcd.member().kill();
    const burst = writer.write(fresh(Array.from({ length: 2000 }, (_, i) => i), () => 'n'));
    await waitFor('the writer to retry against the dead etcd', () => retries >= 3);
    await etcd.member().start();
    const report = await burst;
    expect(report).toMatchObject({ written: 2000, failed: 0, conflicts: 0 });
    expect((await readShards(keys)).size).toBe(2000);
  });

  it('fails the burst with a clear typed error when etcd stays down past the deadline', async () => {
    const prefix = uniquePrefix('writer-down');
    const failures = new Map<EtcdFailureCategory, number>();
    const writer = new ShardWriter({
      client,
      keys: new Keyspace(prefix),
      retry: { ...DEFAULT_SHARD_WRITE_RETRY, deadlineMs: 1500 },
      metrics: { onWriteFailures: (c, n) => failures.set(c, (failures.get(c) ?? 0) + n) },
    });
    await etcd.member().kill();
    const started = performance.now();
    const report = await writer.write(fresh(Array.from({ length: 300 }, (_, i) => i), () => 'n'));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(report.failed).toBe(300);
    const first = report.results[0]!;
    expect(first.status === 'failed' && first.error).toBeInstanceOf(UnavailableError);
    expect(first.status === 'failed' && first.error.message).toMatch(/gave up after 1500 ms/);
    expect(failures).toEqual(new Map([['connection_error', 300]]));
  });
});
