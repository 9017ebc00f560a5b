/**
 * Upstream compatibility and bad input, against a bare etcd holding a keyspace written the way upstream Goverse
 * writes it (no goverse-node processes: nothing else writes while the CLI reads and writes).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseShardValue } from '../../../src/core/keyspace/shardValue.js';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { managedTempDir } from '../../harness/processes.js';
import { type CliResult, json, runCli } from './cliRunner.js';

const SHARDS = 16;
let etcd: EtcdCluster;
let client: EtcdClient;
let prefix: string;
let env: Record<string, string>;

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
const value = async (key: string): Promise<string | undefined> => (await client.get(`${prefix}/${key}`))?.value;

/** Upstream's values, byte for byte: legacy one-part values, `,`, flags anywhere, unknown flags, spaces. */
const UPSTREAM: Readonly<Record<string, string>> = {
  'nodes/n1:1': 'n1:1',
  'nodes/n2:1': 'n2:1',
  leader: 'n1:1',
  'shard/0': 'n1:1',
  'shard/1': ',',
  'shard/2': 'f=pinned,n1:1,n1:1',
  'shard/3': 'n1:1,n1:1,f=pinned,f=experimental',
  'shard/4': ' n2:1 , n2:1 ',
  'shard/5': 'n1:1,n2:1,f=x',
  'shard/6': 'gone:1,gone:1',
  'shard/7': 'n2:1,gone:1',
  'shard/8': 'gone:1,',
  'shard/abc': 'n1:1,n1:1',
  'shard/99': 'n1:1,n1:1',
};

beforeAll(async () => {
  etcd = await startEtcd('cli-compat');
  client = createEtcdClient({ endpoints: etcd.endpoints });
  prefix = uniquePrefix('cli-compat');
  // Upstream nodes register under a lease (nodes without one are not live members).
  const { id: lease } = await client.grantLease(600);
  for (const [key, v] of Object.entries(UPSTREAM)) await client.put(`${prefix}/${key}`, v, key.startsWith('nodes/') ? { lease } : {});
  // A sibling cluster whose prefix starts with ours: never read, never written.
  await client.put(`${prefix}-sibling/nodes/zz:1`, 'zz:1');
  await client.put(`${prefix}-sibling/shard/0`, 'zz:1,zz:1');
  env = { GOVERSE_ETCD_ENDPOINTS: etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: prefix, GOVERSE_NUM_SHARDS: String(SHARDS) };
}, 60_000);

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

async function revision(): Promise<number> {
  return (await client.rangePrefix('/')).revision;
}

describe('an upstream keyspace', () => {
  it('is read correctly: legacy values, flags anywhere, unknown flags, malformed keys, no sibling prefix', async () => {
    const [shards, status, nodes] = await Promise.all([cli('shards', '-o', 'json'), cli('status', '-o', 'json'), cli('nodes', '-o', 'json')]);
    expect(shards.code).toBe(0);
    const rows = new Map(json<{ shards: { id: number }[] }>(shards).shards.map((r) => [r.id, r]));
    expect(rows.get(0)).toMatchObject({ target: 'n1:1', current: '', flags: [], state: 'unclaimed', modRevision: expect.any(Number) });
    expect(rows.get(1)).toMatchObject({ target: '', current: '', flags: [], state: 'no-target' });
    expect(rows.get(2)).toMatchObject({ target: 'n1:1', current: 'n1:1', flags: ['pinned'], state: 'stable', pinned: true });
    expect(rows.get(3)).toMatchObject({ flags: ['pinned', 'experimental'], pinned: true });
    expect(rows.get(4)).toMatchObject({ target: 'n2:1', current: 'n2:1', state: 'stable' });
    expect(rows.get(5)).toMatchObject({ target: 'n1:1', current: 'n2:1', flags: ['x'], state: 'migrating' });
    expect(rows.get(6)).toMatchObject({ state: 'orphaned' });
    expect(rows.get(7)).toMatchObject({ state: 'orphaned' });
    expect(rows.get(9)).toMatchObject({ target: '', current: '', modRevision: 0, state: 'no-target' });

    // Owned by an alive node: 2, 3, 4 and 5; the malformed keys are reported; the sibling's node is not ours.
    expect(status.code).toBe(4);
    expect(json(status)).toMatchObject({ leader: 'n1:1', nodes: { alive: 2 }, shards: { total: SHARDS, owned: 4, pinned: 2, orphaned: 3 }, malformed: 2 });
    const ns = json<{ nodes: { address: string; alive: boolean; metrics: { reachable: boolean; reason: string } }[] }>(nodes).nodes;
    expect(ns.map((n) => n.address)).toEqual(['gone:1', 'n1:1', 'n2:1']);
    expect(ns.find((n) => n.address === 'n1:1')!.metrics).toMatchObject({ reachable: false, reason: expect.stringMatching(/--metrics-url/) });
  });

  it('stays readable by upstream after our writes: flags kept in order, byte-level format, nothing else touched', async () => {
    const untouched = ['shard/abc', 'shard/99'];
    const before = await Promise.all(untouched.map((k) => client.get(`${prefix}/${k}`)));
    const sibling = await client.get(`${prefix}-sibling/shard/0`);
    // Not-alive paths: pin a shard whose nodes are gone, drain a node that is not alive, release a dead owner.
    const results = await Promise.all([
      cli('pin', '0', '-o', 'json'),
      cli('unpin', '2', '-o', 'json'),
      cli('reassign', '3', '--to', 'n2:1', '-o', 'json'),
      cli('pin', '5,6', '-o', 'json'),
      cli('release', '7', '-o', 'json'),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    // The leader n1:1 publishes no nodeinfo: an upstream node, which ignores drain marks, so the drain is refused.
    const refused = await cli('drain', 'gone:1', '-o', 'json');
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(/the leader n1:1 is an upstream Goverse node, which ignores drain marks.*goverse-top pin/);
    expect(await value('drain/gone:1')).toBeUndefined();
    expect(await value('shard/8')).toBe('gone:1,');
    // Without a leader (ours may be the next), the drain's writes keep upstream's format too.
    await client.delete(`${prefix}/leader`);
    const drained = await cli('drain', 'gone:1', '-o', 'json');
    expect(drained.code, drained.stderr).toBe(0);

    const expected: Record<string, string> = {
      'shard/0': 'n1:1,,f=pinned',
      'shard/2': 'n1:1,n1:1',
      'shard/3': 'n2:1,n1:1,f=pinned,f=experimental',
      'shard/5': 'n1:1,n2:1,f=x,f=pinned',
      // Pinned to a dead node, so the drain leaves it (and says so).
      'shard/6': 'gone:1,gone:1,f=pinned',
      // The dead owner released: the alive target can claim it.
      'shard/7': 'n2:1,',
    };
    for (const [key, v] of Object.entries(expected)) {
      const stored = await value(key);
      expect(stored, key).toBe(v);
      // Upstream's parser reads our value back without warnings.
      expect(parseShardValue(stored!).warnings, key).toEqual([]);
    }
    // The drain of the dead node retargets its unpinned shard to an alive node and skips the pinned one.
    const eight = parseShardValue((await value('shard/8'))!).value;
    expect(eight).toMatchObject({ current: '', flags: [] });
    expect(['n1:1', 'n2:1']).toContain(eight.target);
    const drain = json<{ skipped: { shardId: number }[]; changes: { id: number | string }[] }>(drained);
    expect(drain.skipped).toEqual([expect.objectContaining({ shardId: 6 })]);
    expect(drain.changes.map((c) => c.id)).toEqual([8, 'gone:1']);
    expect(JSON.parse((await value('drain/gone:1'))!)).toMatchObject({ by: expect.stringContaining('@') });
    // Our own records sit in keys upstream ignores.
    expect(JSON.parse((await value('migration/3'))!)).toMatchObject({ target: 'n2:1', from: 'n1:1' });

    expect(await Promise.all(untouched.map((k) => client.get(`${prefix}/${k}`)))).toEqual(before);
    expect(await client.get(`${prefix}-sibling/shard/0`)).toEqual(sibling);
  });
});

describe('bad input', () => {
  it('gets a clear message and exit 2, and nothing is written', async () => {
    const dir = managedTempDir('cli-bad-input');
    const badYaml = join(dir, 'bad.yaml');
    writeFileSync(badYaml, 'cluster:\n  shards: [unclosed\n');
    const badValue = join(dir, 'value.yaml');
    writeFileSync(badValue, 'version: 1\ncluster:\n  shards: -4\n');
    const cases: [string[], RegExp][] = [
      [['pin', '16'], /shard 16 is out of range \[0, 16\)/],
      [['pin', '3-1'], /bad shard range "3-1"/],
      [['unpin', '1,x'], /bad shard ID or range "x"/],
      [['release', ''], /shard list is empty/],
      [['reassign', '1', '--to', 'nosuch:1'], /unknown node "nosuch:1"/],
      [['drain', 'nosuch:1'], /unknown node "nosuch:1"/],
      [['shards', '--node', 'nosuch:1'], /unknown node "nosuch:1"/],
      [['shards', '--state', 'broken'], /unknown shard state "broken"/],
      [['stuck', '--timeout', '5parsecs'], /invalid duration "5parsecs"/],
      [['rebalance', 'pause', '--for', '500ms'], /at least 1s/],
      [['rebalance', 'plan', '--strategy', 'random'], /unknown rebalance strategy "random"/],
      [['watch', '-i', 'soon'], /invalid duration "soon"/],
      [['status', '--config', badYaml], /bad\.yaml/],
      [['status', '--config', badValue], /cluster\.shards/],
      [['status', '--config', join(dir, 'missing.yaml')], /no such file/],
      [['status', '--etcd', 'not a host'], /flag --etcd/],
      [['status', '-o', 'yaml'], /flag --output/],
      [['status', '--bogus'], /unknown option '--bogus'/],
      [['locate', 'shard#x/1'], /invalid object ID "shard#x\/1"/],
      [['demo', '--nodes', '0'], /invalid --nodes "0"/],
    ];
    const before = await revision();
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i]!;
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    expect(await revision()).toBe(before);
  });

  it('an unreachable etcd fails within the timeout naming the endpoints (exit 1); locate --offline still answers', async () => {
    const offline = { GOVERSE_ETCD_ENDPOINTS: '127.0.0.1:9,127.0.0.1:11', GOVERSE_NUM_SHARDS: String(SHARDS) };
    const [down, located] = await Promise.all([
      runCli(['shards', '--timeout', '1s'], offline),
      runCli(['locate', 'shard#3/abc', '--offline', '-o', 'json'], offline),
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/etcd at 127\.0\.0\.1:9, 127\.0\.0\.1:11 within 1s/);
    // Node start-up included; a 5 s default timeout would not fit.
    expect(down.ms).toBeLessThan(12_000);
    expect(located.code).toBe(0);
    expect(json(located)).toMatchObject({ objectId: 'shard#3/abc', format: 'fixed-shard', shard: 3, node: null, target: null, current: null });
  });
});
