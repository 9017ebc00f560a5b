import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { ShardWriter } from '../../../src/edge/etcd/shardWriter.js';
import { ClusterWatcher } from '../../../src/edge/etcd/watcher.js';
import { type EtcdCluster, startEtcdCluster } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { waitFor } from '../../harness/waitFor.js';

let cluster: EtcdCluster;
let client: EtcdClient;

beforeAll(async () => {
  cluster = await startEtcdCluster(3, 'cluster');
  client = createEtcdClient({ endpoints: cluster.endpoints, callTimeoutMs: 3000 });
});

afterAll(async () => {
  await client?.close();
  await cluster?.close();
});

describe('etcd layer on a 3-member cluster', () => {
  it('keeps reading, writing and watching while any one member is stopped', async () => {
    const prefix = uniquePrefix('cluster');
    const keys = new Keyspace(prefix);
    const watcher = new ClusterWatcher({ client, keys, numShards: 64 });
    const writer = new ShardWriter({ client, keys });
    await watcher.start();
    const seen: number[] = [];
    watcher.subscribe((e) => {
      if (e.type === 'snapshot' && e.cause === 'watch') {
        for (const c of e.changes) if (c.kind === 'shard' && c.after) seen.push(c.after.modRevision);
      }
    });
    const written: number[] = [];
    try {
      for (const [round, member] of cluster.members.entries()) {
        await member.stop();
        // A read, then CAS writes of every shard based on the watcher's view, then the watch must see them all.
        const { kvs } = await client.rangePrefix(keys.root);
        expect(kvs).toHaveLength(round === 0 ? 0 : 64);
        const snap = watcher.snapshot;
        const report = await writer.write(
          Array.from({ length: 64 }, (_, id) => ({
            shardId: id,
            expectedModRevision: snap.shards[id]?.modRevision ?? 0,
            value: { target: `round-${round}`, current: '', flags: [] },
          })),
        );
        expect(report).toMatchObject({ written: 64, failed: 0, conflicts: 0 });
        const rev = report.results[0]!.status === 'written' ? report.results[0]!.modRevision : 0;
        written.push(rev);
        await waitFor(`the watcher to see round ${round} with ${member.name} stopped`, () =>
          watcher.snapshot.shards.every((s) => s?.target === `round-${round}`),
        );
        await member.start();
      }
      // One change event per shard per round, in order, none lost or repeated.
      expect(seen).toHaveLength(64 * 3);
      expect(new Set(seen)).toEqual(new Set(written));
    } finally {
      await watcher.stop();
    }
  });
});
