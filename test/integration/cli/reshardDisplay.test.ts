/**
 * `status` and `locate` during a shard-count change, against a bare etcd holding the record and the shard keys of a
 * split 8 -> 16 with two pairs done (no node processes: nothing else writes while the CLI reads), then the completed
 * count 16. No explicit count is configured: the cluster's record decides.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { encodeShardCount } from '../../../src/core/keyspace/shardCount.js';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { type CliResult, json, runCli } from './cliRunner.js';

const N1 = 'n1:1';
const UP = 'up:1';
let etcd: EtcdCluster;
let client: EtcdClient;
let prefix: string;
let env: Record<string, string>;

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
const put = (key: string, value: string, lease?: string): Promise<unknown> => client.put(`${prefix}/${key}`, value, lease === undefined ? {} : { lease });

/** A regular object ID whose shard under 16 is `want`. */
function idInShard(want: number): string {
  for (let i = 0; ; i++) if (fnv1a32(`user-${i}`) % 16 === want) return `user-${i}`;
}

beforeAll(async () => {
  etcd = await startEtcd('cli-reshard');
  client = createEtcdClient({ endpoints: etcd.endpoints });
  prefix = uniquePrefix('cli-reshard');
  const { id: lease } = await client.grantLease(600);
  // N1 is a goverse-node that follows the record; UP an upstream node (no nodeinfo): it cannot follow.
  await put(`nodes/${N1}`, N1, lease);
  await put(`nodes/${UP}`, UP, lease);
  const info = { nodeId: 'n1', opsUrl: '', apiUrl: `http://${N1}`, version: '1', weight: 1, startedAt: Date.now(), state: 'running', reshard: 1, shardCount: 8 };
  await put(`nodeinfo/${N1}`, encodeRecord(info), lease);
  await put('leader', N1);
  const transition = { kind: 'split', from: 8, to: 16, state: 'running', startedAt: Date.now() - 60_000, by: 'op@test', id: 'it-1' } as const;
  await put('shard-count', encodeShardCount({ count: 8, transition, reshards: 0 }));
  for (const id of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) await put(`shard/${id}`, `${N1},${N1}`);
  env = { GOVERSE_ETCD_ENDPOINTS: etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: prefix, GOVERSE_ETCD_TIMEOUT: '10s' };
}, 60_000);

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

describe('during a split 8 -> 16 with pairs 0 and 1 done', () => {
  it('status reports the count in force, the phase, the pairs done, the absent high shards and who cannot follow', async () => {
    const [doc, table] = await Promise.all([cli('status', '-o', 'json'), cli('status')]);
    // Every shard of the layout is owned: the absent high shards are not unowned (exit 0, not 4).
    expect(doc.code).toBe(0);
    const s = json<Record<string, Record<string, unknown>>>(doc);
    expect(s.shardCount).toMatchObject({
      count: 8,
      source: 'record',
      transition: { kind: 'split', state: 'running', from: 8, to: 16, goal: 'split', pairs: 8, done: 2, by: 'op@test', id: 'it-1' },
      cannotFollow: [{ address: UP, kind: 'node', reason: 'upstream-node', advertised: null }],
      cannotFollowMatters: true,
    });
    expect(s.shardCount!.transition).toEqual(expect.objectContaining({ ageMs: expect.any(Number) }));
    expect(s.shards).toMatchObject({ total: 10, owned: 10, unowned: 0, absent: 6 });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("count     8 shards (from the cluster's record)");
    expect(table.stdout).toMatch(/reshard {3}split 8 -> 16 running: 2\/8 pairs done \(25%\), started 1m\d*s? ago by op@test; 6 high shards absent/);
    expect(table.stdout).toContain(`follow    1 member cannot follow a shard-count change: node ${UP} (upstream node (no nodeinfo))`);
  });

  it('locate gives the shard under both counts and the one serving now', async () => {
    const split = idInShard(9);
    const pending = idInShard(13);
    const [a, b, fixed, table] = await Promise.all([
      cli('locate', split, '-o', 'json'),
      cli('locate', pending, '-o', 'json'),
      cli('locate', 'shard#12/x', '-o', 'json'),
      cli('locate', pending),
    ]);
    expect(json(a)).toMatchObject({
      objectId: split,
      count: 8,
      shard: 9,
      target: N1,
      current: N1,
      alive: true,
      transition: { kind: 'split', state: 'running', from: 8, to: 16, shardFrom: 1, shardTo: 9, serving: 'to' },
    });
    expect(json(b)).toMatchObject({ shard: 5, target: N1, transition: { shardFrom: 5, shardTo: 13, serving: 'from' } });
    expect(json(fixed)).toMatchObject({ format: 'fixed-shard', shard: 4, transition: { shardFrom: 4, shardTo: 12, serving: 'from' } });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('count    8 -> 16 (split running)');
    expect(table.stdout).toContain('shard    5 (under 8: 5, under 16: 13; the shard under 8 serves now)');
  });
});

describe('after the split completed', () => {
  it('status and locate answer for the new count alone', async () => {
    for (let id = 10; id < 16; id++) await put(`shard/${id}`, `${N1},${N1}`);
    await put('shard-count', encodeShardCount({ count: 16, transition: null, reshards: 1 }));
    const pending = idInShard(13);
    const [doc, located, beyond] = await Promise.all([cli('status', '-o', 'json'), cli('locate', pending, '-o', 'json'), cli('locate', 'shard#16/x')]);
    expect(doc.code).toBe(0);
    const s = json<Record<string, Record<string, unknown>>>(doc);
    expect(s.shardCount).toMatchObject({ count: 16, reshards: 1, transition: null, cannotFollowMatters: true });
    expect(s.shards).toMatchObject({ total: 16, owned: 16, absent: 0 });
    expect(json(located)).toMatchObject({ count: 16, shard: 13, transition: null, target: N1 });
    expect(beyond.code).toBe(2);
    expect(beyond.stderr).toMatch(/shard 16 is out of range \[0, 16\)/);
  });
});
