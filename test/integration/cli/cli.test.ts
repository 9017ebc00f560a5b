/**
 * Every scripted subcommand against a real cluster (one etcd, three goverse-node processes, 64 shards), run as the
 * built binary: JSON contracts, exit codes, and for each mutation the dry-run, read-only, conflict and real paths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import type { Kv } from '../../../src/core/snapshot/snapshot.js';
import { NodeCluster } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { type CliResult, InteractiveCli, json, runCli } from './cliRunner.js';

const SHARDS = 64;
let cluster: NodeCluster;
let env: Record<string, string>;
let n0: string;
let n1: string;
let n2: string;

const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
const get = (key: string): Promise<Kv | null> => cluster.client.get(`${cluster.prefix}/${key}`);
const put = (key: string, value: string): Promise<unknown> => cluster.client.put(`${cluster.prefix}/${key}`, value);

interface Change {
  id: number | string;
  key: string;
  old: string | null;
  new: string | null;
  modRevision: number;
  written: boolean;
  outcome: string;
  found?: string | null;
}
type MutationDoc = { changes: Change[]; skipped: unknown[]; dryRun: boolean; conflicts: number };

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 3, numShards: SHARDS, label: 'cli' });
  await cluster.waitStable();
  [n0, n1, n2] = cluster.nodes.map((n) => n.address) as [string, string, string];
  env = {
    GOVERSE_ETCD_ENDPOINTS: cluster.etcd.endpoints.join(','),
    GOVERSE_ETCD_PREFIX: cluster.prefix,
    GOVERSE_NUM_SHARDS: String(SHARDS),
    GOVERSE_ETCD_TIMEOUT: '10s',
  };
}, 90_000);

afterAll(async () => {
  await cluster?.close();
});

describe('read commands', () => {
  it('print their JSON contracts and exit 0 on a healthy cluster', async () => {
    await waitFor('every node ready', async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => r.status === 200), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    // Settled: the leader says balanced, so no shard moves while the commands read.
    await waitFor('the balancer settled', async () => JSON.parse((await get('rebalance/status'))?.value ?? '{}').state === 'balanced', {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const snap = await cluster.snapshot();
    const owner5 = snap.shards[5]!.current;
    const [status, statusTable, nodes, shards, filtered, stuck, located, watch, plan] = await Promise.all([
      cli('status', '-o', 'json'),
      cli('status'),
      cli('nodes', '-o', 'json'),
      cli('shards', '-o', 'json'),
      cli('shards', '--node', owner5, '--state', 'stable,pinned', '--ids', '1,5,10-20', '-o', 'json'),
      cli('stuck', '--timeout', '30s', '-o', 'json'),
      cli('locate', 'user-1', '-o', 'json'),
      cli('watch', '-n', '2', '-i', '300ms', '-o', 'json'),
      cli('rebalance', 'plan', '-o', 'json'),
    ]);

    expect(status.code).toBe(0);
    const s = json<Record<string, never>>(status);
    expect(cluster.nodes.map((n) => n.address)).toContain(s.leader);
    expect(s.nodes).toMatchObject({ alive: 3 });
    expect(s.shards).toMatchObject({ total: SHARDS, owned: SHARDS, migrating: 0, unclaimed: 0, stuck: 0, pinned: 0 });
    expect(s.balancer).toEqual(expect.objectContaining({ state: expect.any(String), reason: expect.any(String) }));
    expect(s.revision).toBeGreaterThan(0);

    expect(statusTable.code).toBe(0);
    expect(statusTable.stdout).toContain(`${SHARDS}/${SHARDS} owned`);
    expect(statusTable.stdout).not.toContain('\u001b[');

    expect(nodes.code).toBe(0);
    const ns = json<{ nodes: Record<string, unknown>[] }>(nodes).nodes;
    expect(ns.map((n) => n.address).sort()).toEqual([n0, n1, n2].sort());
    for (const n of ns) {
      expect(n).toMatchObject({ alive: true, ready: true, metrics: { reachable: true, status: 'ok' } });
      expect(n).toEqual(expect.objectContaining({ shardsTarget: expect.any(Number), shardsOwned: expect.any(Number), leader: expect.any(Boolean) }));
    }
    expect(ns.filter((n) => n.leader)).toHaveLength(1);
    expect(ns.reduce((sum, n) => sum + (n.shardsOwned as number), 0)).toBe(SHARDS);

    expect(shards.code).toBe(0);
    const rows = json<{ shards: Record<string, unknown>[] }>(shards).shards;
    expect(rows).toHaveLength(SHARDS);
    const after = await cluster.snapshot();
    for (const r of rows) {
      const entry = after.shards[r.id as number]!;
      expect(r).toEqual(expect.objectContaining({ flags: [], state: expect.any(String), modRevision: expect.any(Number) }));
      if (r.modRevision === entry.modRevision) expect(r).toMatchObject({ target: entry.target, current: entry.current });
      else expect(r.modRevision).toBeLessThan(entry.modRevision);
    }

    const picked = json<{ shards: { id: number; target: string; current: string }[] }>(filtered).shards;
    expect(picked.map((r) => r.id)).toContain(5);
    for (const r of picked) {
      expect([1, 5, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]).toContain(r.id);
      expect([r.target, r.current]).toContain(owner5);
    }

    expect(stuck.code).toBe(0);
    expect(json(stuck)).toMatchObject({ timeoutMs: 30_000, stuck: [] });

    expect(located.code).toBe(0);
    const shard = fnv1a32('user-1') % SHARDS;
    expect(json(located)).toMatchObject({
      objectId: 'user-1',
      format: 'regular',
      shard,
      node: null,
      target: snap.shards[shard]!.target,
      current: snap.shards[shard]!.current,
    });

    expect(watch.code).toBe(0);
    const lines = watch.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ schemaVersion: 1, shards: { total: SHARDS } });

    expect(plan.code).toBe(0);
    expect(json(plan)).toMatchObject({ strategy: 'count', kind: 'skip', moves: [] });
  });

  it('exit 4 for stuck shards and for shards without an alive owner', async () => {
    // Pinned to a node that is gone, unowned, migrating for ten minutes: only reported, never repaired automatically.
    await put('shard/7', 'dead:1,,f=pinned');
    await put('migration/7', encodeRecord({ since: Date.now() - 600_000, target: 'dead:1', from: '' }));
    const [stuck, status, shards] = await Promise.all([cli('stuck', '-o', 'json'), cli('status', '-o', 'json'), cli('shards', '--state', 'stuck', '-o', 'json')]);
    expect(stuck.code).toBe(4);
    const doc = json<{ timeoutMs: number; stuck: Record<string, unknown>[] }>(stuck);
    expect(doc.timeoutMs).toBe(60_000);
    expect(doc.stuck).toHaveLength(1);
    expect(doc.stuck[0]).toMatchObject({ id: 7, state: 'pinned-to-dead', target: 'dead:1', current: '' });
    expect(doc.stuck[0]!.ageMs).toBeGreaterThanOrEqual(600_000);
    expect(doc.stuck[0]!.reason).toMatch(/pinned to dead:1/);
    expect(status.code).toBe(4);
    expect(json(status)).toMatchObject({ shards: { owned: SHARDS - 1, stuck: 1, pinned: 1 } });
    expect(json<{ shards: { id: number }[] }>(shards).shards.map((r) => r.id)).toEqual([7]);

    // Not alive: refused (3) unless forced; an alive target repairs it.
    const refused = await cli('reassign', '7', '--to', 'dead:1', '--dry-run');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/dead:1 is not alive; use --force/);
    const forced = await cli('reassign', '7', '--to', 'dead:1', '--force', '--dry-run', '-o', 'json');
    expect(forced.code).toBe(0);
    expect(json<MutationDoc>(forced).skipped).toEqual([{ shardId: 7, reason: 'already targeted at dead:1' }]);
    const repaired = await cli('reassign', '7', '--to', n0, '-o', 'json');
    expect(repaired.code).toBe(0);
    expect(json<MutationDoc>(repaired).changes[0]).toMatchObject({ id: 7, old: 'dead:1,,f=pinned', new: `${n0},,f=pinned`, written: true });
    await waitFor('shard 7 claimed by its new target', async () => (await get('shard/7'))?.value === `${n0},${n0},f=pinned`, { timeoutMs: 20_000 });
    expect((await cli('unpin', '7')).code).toBe(0);
    await cluster.waitStable();
  });

  it('fail with exit 1 naming the endpoints when etcd is unreachable', async () => {
    const r = await runCli(['status', '--etcd', '127.0.0.1:1', '--timeout', '1s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/etcd at 127\.0\.0\.1:1 within 1s/);
  });
});

/** One mutation's four paths; `disturb` changes what the mutation compares against while it waits for the answer. */
interface MutationCase {
  readonly name: string;
  readonly args: readonly string[];
  /** Keys (under the prefix) the dry run and the refused run must leave alone. */
  readonly keys: readonly string[];
  readonly disturb: () => Promise<unknown>;
  /** After the real run. */
  readonly verify: (doc: MutationDoc) => Promise<void>;
}

async function revisions(keys: readonly string[]): Promise<(number | null)[]> {
  return Promise.all(keys.map(async (k) => (await get(k))?.modRevision ?? null));
}

/** Dry runs and read-only runs of every case at once, then the conflicts, then the real writes. */
async function exercise(cases: readonly MutationCase[]): Promise<void> {
  const before = await Promise.all(cases.map((c) => revisions(c.keys)));
  const quiet = await Promise.all(
    cases.flatMap((c) => [cli(...c.args, '--dry-run', '-o', 'json'), cli(...c.args, '--read-only', '-o', 'json')]),
  );
  for (const [i, c] of cases.entries()) {
    const dry = quiet[2 * i]!;
    const refused = quiet[2 * i + 1]!;
    expect(dry.code, `${c.name} --dry-run: ${dry.stderr}`).toBe(0);
    const doc = json<MutationDoc>(dry);
    expect(doc.dryRun).toBe(true);
    expect(doc.changes.length, `${c.name} plans a change`).toBeGreaterThan(0);
    for (const ch of doc.changes) expect(ch).toMatchObject({ written: false, outcome: 'dry-run' });
    expect(refused.code, `${c.name} --read-only`).toBe(3);
    expect(refused.stderr).toMatch(/refused: read-only mode/);
    expect(refused.stdout).toBe('');
  }
  expect(await Promise.all(cases.map((c) => revisions(c.keys))), 'nothing written by dry runs and refused runs').toEqual(before);

  const waiting = cases.map((c) => new InteractiveCli([...c.args, '--confirm', '-o', 'json'], env));
  await Promise.all(waiting.map((w) => w.prompted()));
  await Promise.all(cases.map((c) => c.disturb()));
  const conflicts = await Promise.all(waiting.map((w) => w.answer('y')));
  for (const [i, c] of cases.entries()) {
    const r = conflicts[i]!;
    expect(r.code, `${c.name} conflict: ${r.stderr}`).toBe(3);
    const doc = json<MutationDoc>(r);
    expect(doc.conflicts).toBeGreaterThan(0);
    const lost = doc.changes.find((ch) => ch.outcome === 'conflict')!;
    expect(lost.written).toBe(false);
    expect(lost).toHaveProperty('found');
  }

  const real = await Promise.all(cases.map((c) => cli(...c.args, '-o', 'json')));
  for (const [i, c] of cases.entries()) {
    expect(real[i]!.code, `${c.name}: ${real[i]!.stderr}`).toBe(0);
    await c.verify(json<MutationDoc>(real[i]!));
  }
}

/** Re-puts a key with its own value: the cluster is unchanged, but its ModRevision moves. */
async function touch(key: string): Promise<void> {
  const kv = await get(key);
  await put(key, kv!.value);
}

describe('mutations', () => {
  it('pin, reassign, release, drain and pause: dry run, read-only, conflict and real write', async () => {
    const snap = await cluster.snapshot();
    const onN0 = snap.shards.filter((e) => e!.target === n0).map((e) => e!.id);
    const [pinShard, moveShard, releaseShard] = onN0 as [number, number, number];
    const pinValue = snap.shards[pinShard]!.raw;
    await exercise([
      {
        name: 'pin',
        args: ['pin', String(pinShard)],
        keys: [`shard/${pinShard}`],
        disturb: () => touch(`shard/${pinShard}`),
        verify: async (doc) => {
          // Rebalancing is paused by the pause case before anything is written, so the shard has not moved.
          expect(doc.changes).toEqual([expect.objectContaining({ old: pinValue, new: `${pinValue},f=pinned`, written: true })]);
          expect((await get(`shard/${pinShard}`))!.value).toBe(`${pinValue},f=pinned`);
        },
      },
      {
        name: 'reassign',
        args: ['reassign', String(moveShard), '--to', n2],
        keys: [`shard/${moveShard}`, `migration/${moveShard}`],
        disturb: () => touch(`shard/${moveShard}`),
        verify: async (doc) => {
          expect(doc.changes[0]).toMatchObject({ id: moveShard, new: `${n2},${n0}`, written: true });
          await waitFor('the reassigned shard claimed by its new target', async () => (await get(`shard/${moveShard}`))?.value === `${n2},${n2}`, { timeoutMs: 20_000 });
        },
      },
      {
        name: 'release --force',
        args: ['release', String(releaseShard), '--force'],
        keys: [`shard/${releaseShard}`],
        disturb: () => touch(`shard/${releaseShard}`),
        verify: async (doc) => {
          expect(doc.changes[0]).toMatchObject({ id: releaseShard, old: `${n0},${n0}`, new: `${n0},`, written: true });
          // The target claims it again.
          await waitFor('the released shard claimed again', async () => (await get(`shard/${releaseShard}`))?.value === `${n0},${n0}`, { timeoutMs: 20_000 });
        },
      },
      {
        name: 'drain',
        args: ['drain', n1, '--wait', '--wait-timeout', '60s'],
        keys: [`drain/${n1}`],
        // Someone else drained it meanwhile: the drain record's compare (must be absent) fails.
        disturb: () => put(`drain/${n1}`, encodeRecord({ at: Date.now(), by: 'test' })),
        verify: async () => {
          // --wait returned 0: nothing targeted at or owned by n1.
          const after = await cluster.snapshot();
          expect(after.shards.filter((e) => e!.target === n1 || e!.current === n1)).toEqual([]);
        },
      },
      {
        name: 'rebalance pause',
        args: ['rebalance', 'pause', '--for', '5m', '--reason', 'cli test'],
        keys: ['rebalance/pause'],
        disturb: () => put('rebalance/pause', encodeRecord({ until: Date.now() + 60_000, by: 'test', at: Date.now(), reason: 'race' })),
        verify: async (doc) => {
          expect(doc.changes[0]).toMatchObject({ key: `${cluster.prefix}/rebalance/pause`, written: true });
          const kv = await get('rebalance/pause');
          expect(JSON.parse(kv!.value)).toMatchObject({ reason: 'cli test' });
          // Under a lease, so it expires by itself.
          expect(kv!.lease).not.toBe('0');
        },
      },
    ]);
  });

  it('unpin, undrain and resume: dry run, read-only, conflict and real write', async () => {
    const pinned = (await cluster.snapshot()).shards.find((e) => e!.flags.includes('pinned'))!;
    await exercise([
      {
        name: 'unpin',
        args: ['unpin', String(pinned.id)],
        keys: [`shard/${pinned.id}`],
        disturb: () => touch(`shard/${pinned.id}`),
        verify: async (doc) => {
          expect(doc.changes[0]).toMatchObject({ old: pinned.raw, new: pinned.raw.replace(',f=pinned', ''), written: true });
          expect((await get(`shard/${pinned.id}`))!.value).not.toContain('pinned');
        },
      },
      {
        name: 'undrain',
        args: ['undrain', n1],
        keys: [`drain/${n1}`],
        disturb: () => touch(`drain/${n1}`),
        verify: async (doc) => {
          expect(doc.changes[0]).toMatchObject({ key: `${cluster.prefix}/drain/${n1}`, new: null, written: true });
          expect(await get(`drain/${n1}`)).toBeNull();
        },
      },
      {
        name: 'rebalance resume',
        args: ['rebalance', 'resume'],
        keys: ['rebalance/pause'],
        disturb: () => touch('rebalance/pause'),
        verify: async () => {
          expect(await get('rebalance/pause')).toBeNull();
        },
      },
    ]);
    // Undrained and resumed: the balancer gives n1 shards again.
    await waitFor('n1 owns shards again', async () => (await cluster.snapshot()).shards.some((e) => e!.current === n1), { timeoutMs: 30_000, intervalMs: 200 });
  });

  it('refuse a draining target (3) and answer no to --confirm without writing', async () => {
    await put(`drain/${n2}`, encodeRecord({ at: Date.now(), by: 'test' }));
    const shard = (await cluster.snapshot()).shards.find((e) => e!.target === n0)!;
    const refused = await cli('reassign', String(shard.id), '--to', n2);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/is draining; use --force/);
    const asked = new InteractiveCli(['pin', String(shard.id), '--confirm'], env);
    await asked.prompted();
    // The preview shows the value read then (the balancer may have moved the shard meanwhile) and that value pinned.
    expect(asked.stderr).toMatch(new RegExp(`/shard/${shard.id} +│ (\\S+) +│ \\1,f=pinned `));
    const r = await asked.answer('n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cancelled; nothing written');
    expect((await get(`shard/${shard.id}`))!.value).not.toContain('pinned');
    await cluster.client.delete(`${cluster.prefix}/drain/${n2}`);
  });
});
