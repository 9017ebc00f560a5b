import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterMember } from '../../../src/cluster/member.js';
import { ShardLock } from '../../../src/cluster/shardLock.js';
import { systemClock } from '../../../src/core/clock.js';
import { DEFAULT_SHARD_WRITE_RETRY } from '../../../src/core/config/shardWriteRetry.js';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { defaultPlannerSettings, type MemberSettings } from '../../../src/core/planner/settings.js';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { waitFor } from '../../harness/waitFor.js';

const NUM_SHARDS = 64;

function settings(): MemberSettings {
  return {
    numShards: NUM_SHARDS,
    leaseTtlSeconds: 2,
    fenceMarginMs: 500,
    fencing: 'enforced',
    shardCheckIntervalMs: 200,
    shutdownTimeoutMs: 5000,
    strategy: 'count',
    planner: { ...defaultPlannerSettings(NUM_SHARDS), stabilityMs: 300, batchSize: 8 },
    lockTimeoutMs: 2000,
    shardWrite: DEFAULT_SHARD_WRITE_RETRY,
  };
}

describe('ClusterMember (in-process members, real etcd)', () => {
  let etcd: EtcdCluster;
  const clients: EtcdClient[] = [];
  const members: ClusterMember[] = [];
  const sink = new MemorySink();

  beforeAll(async () => {
    etcd = await startEtcd('member');
  });
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.stop('fast').catch(() => undefined)));
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await etcd?.close();
  });

  async function startMember(prefix: string, address: string): Promise<ClusterMember> {
    const client = createEtcdClient({ endpoints: etcd.endpoints });
    clients.push(client);
    const m = new ClusterMember({
      client,
      keys: new Keyspace(prefix),
      address,
      settings: settings(),
      nodeInfo: { nodeId: address, opsUrl: '', apiUrl: '', version: 'test', weight: 1, startedAt: Date.now() },
      lock: new ShardLock({ numShards: NUM_SHARDS }),
      clock: systemClock,
      logger: createLogger(sink, 'debug', { node: address }),
    });
    members.push(m);
    await m.start();
    return m;
  }

  const complete = (m: ClusterMember, alive: readonly string[]) => () => {
    const snap = m.snapshot;
    const counts = new Map<string, number>();
    for (let i = 0; i < NUM_SHARDS; i++) {
      const e = snap.shards[i];
      if (e === undefined || e.target !== e.current || !alive.includes(e.current)) return false;
      counts.set(e.current, (counts.get(e.current) ?? 0) + 1);
    }
    return counts;
  };

  it('assigns every shard to one of three members, evenly, and fails over after a member dies', async () => {
    const prefix = uniquePrefix('member');
    const addrs = ['n1:1', 'n2:1', 'n3:1'];
    const ms = await Promise.all(addrs.map((a) => startMember(prefix, a)));
    const counts = await waitFor('a complete, balanced mapping', () => {
      const c = complete(ms[0]!, addrs)();
      return c && c.size === 3 && Math.max(...c.values()) - Math.min(...c.values()) <= 4 ? c : false;
    }, { describe: () => `${JSON.stringify([...(complete(ms[0]!, addrs)() || new Map())])} ${ms[0]!.snapshot.shards.slice(0, 8).map((e) => e?.raw).join(' ')}` });
    expect([...counts.values()].reduce((a, b) => a + b)).toBe(NUM_SHARDS);
    // Every owner serves exactly its shards, once the balancer's last moves have landed (a member drops a shard it
    // is releasing before its etcd write shows it, so mid-move the two differ for a moment).
    const mismatches = (): string[] =>
      ms.flatMap((m) =>
        Array.from({ length: NUM_SHARDS }, (_, i) => i)
          .filter((i) => (m.shardEpoch(i) !== null) !== (m.snapshot.shards[i]!.current === m.address))
          .map((i) => `${m.address} shard ${i}`),
      );
    await waitFor('every member to serve exactly the shards it owns in etcd', () => mismatches().length === 0, {
      describe: () => mismatches().slice(0, 10).join(', '),
    });
    // Graceful stop of one member hands its shards over.
    const victim = ms[2]!;
    const report = await victim.stop('graceful');
    expect(report.left).toEqual([]);
    await waitFor('survivors own everything', () => complete(ms[0]!, addrs.slice(0, 2))());
  });

  it('moves a shard retargeted by hand', async () => {
    const prefix = uniquePrefix('retarget');
    const addrs = ['a:1', 'b:1'];
    const ms = await Promise.all(addrs.map((a) => startMember(prefix, a)));
    await waitFor('complete', () => complete(ms[0]!, addrs)());
    const shard = ms[0]!.snapshot.shards.find((e) => e?.current === 'a:1')!;
    const res = await clients[0]!.txn({
      compares: [{ key: `${prefix}/shard/${shard.id}`, modRevision: shard.modRevision }],
      success: [{ type: 'put', key: `${prefix}/shard/${shard.id}`, value: 'b:1,a:1' }],
    });
    expect(res.succeeded).toBe(true);
    await waitFor('b owns the shard', () => ms[1]!.shardEpoch(shard.id) !== null && ms[0]!.snapshot.shards[shard.id]!.raw === 'b:1,b:1');
    expect(ms[0]!.shardEpoch(shard.id)).toBeNull();
  });
});
