/**
 * Migrations on real nodes under a steady counter load: three shards moving at once between three different pairs of
 * nodes (a ring A→B, B→C, C→A) fail calls only retriably and lose no acknowledged increment, and never have an object
 * live on two nodes; and a node's `/ready` reports its claim ratio through a migration it receives (one shard short
 * while the previous owner holds it, whole once claimed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import type { TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { allEvents, CounterLoad, liveIntervals, overlaps, Scenario } from './acceptance.js';

const NUM_SHARDS = 64;

let scenario: Scenario;

beforeAll(async () => {
  scenario = await Scenario.start('node-concurrent-migrations', NUM_SHARDS);
});

afterAll(async () => {
  await scenario?.close();
});

/** Object IDs that hash into `shard`. */
function idsIn(shard: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (fnv1a32(`cm-${i}`) % NUM_SHARDS === shard) out.push(`cm-${i}`);
  return out;
}

/** The first shard owned (target and current) by each node, in node order. */
async function oneShardEach(nodes: readonly TestNode[]): Promise<number[]> {
  const snap = await scenario.cluster.snapshot();
  return nodes.map((n) => snap.shards.findIndex((e) => e != null && e.target === n.address && e.current === n.address));
}

async function claimRatio(node: TestNode): Promise<string> {
  const { body } = await node.ready();
  return (body.shards as { ratio: string }).ratio;
}

describe('migrations under load', () => {
  it('between three different pairs of nodes at once lose nothing and fail calls only retriably', async () => {
    const { cluster, client, retries } = scenario;
    const [a, b, c] = cluster.nodes;
    const shards = await oneShardEach([a!, b!, c!]);
    expect(shards.every((s) => s >= 0)).toBe(true);
    // Pinned first, so the balancer neither moves them before the test does nor back afterwards.
    await scenario.operate({ kind: 'pin', shards });
    const ids = shards.flatMap((s) => idsIn(s, 2));
    const load = await CounterLoad.start(client, ids, 2);
    const destinations = [b!, c!, a!];
    let retriesBefore = 0;
    try {
      await load.progress(150, 'load before the migrations');
      retriesBefore = retries.length;
      const results = await Promise.all(
        shards.map((shard, i) => scenario.operate({ kind: 'retarget', shards: [shard], to: destinations[i]!.address, refusals: 'refuse' })),
      );
      expect(results.map((r) => r.failed)).toEqual([0, 0, 0]);
      await waitFor(
        'the three shards claimed by their new owners',
        async () => {
          const snap = await cluster.snapshot();
          return shards.every((s, i) => snap.shards[s]?.current === destinations[i]!.address);
        },
        { timeoutMs: 30_000 },
      );
      await load.progress(150, 'load after the migrations');
    } finally {
      await load.stop();
    }
    await load.expectIntact();
    for (const r of retries.slice(retriesBefore)) expect((r.error as { retriable?: boolean }).retriable, String(r.error)).toBe(true);
    const events = allEvents(cluster.nodes);
    for (const id of ids) expect(overlaps(liveIntervals(events, 'Counter', id)), id).toEqual([]);
  });

  it("report the receiving node's claim ratio on /ready: one short while the previous owner holds the shard, whole after", async () => {
    const { cluster } = scenario;
    const [from, to] = cluster.nodes;
    const [shard] = await oneShardEach([from!]);
    await scenario.operate({ kind: 'pin', shards: [shard!] });
    const owned = async () => (await cluster.snapshot()).shards.filter((e) => e?.target === to!.address && e.current === to!.address).length;
    const before = await owned();
    await waitFor(`${to!.address} ready with ${before}/${before}`, async () => (await claimRatio(to!)) === `${before}/${before}`, { timeoutMs: 10_000 });
    // A stopped previous owner cannot release: the shard stays targeted at the receiver and unclaimed.
    from!.freeze();
    try {
      await scenario.operate({ kind: 'retarget', shards: [shard!], to: to!.address, refusals: 'refuse' });
      await waitFor(`${to!.address} reports ${before}/${before + 1}`, async () => (await claimRatio(to!)) === `${before}/${before + 1}`, {
        timeoutMs: 10_000,
      });
    } finally {
      from!.thaw();
    }
    await waitFor(`${to!.address} reports ${before + 1}/${before + 1}`, async () => (await claimRatio(to!)) === `${before + 1}/${before + 1}`, {
      timeoutMs: 20_000,
    });
    expect((await to!.ready()).status).toBe(200);
  });
});
