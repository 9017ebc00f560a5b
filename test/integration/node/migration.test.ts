/**
 * Acceptance of issue 5: a shard migrating under steady load (retargeted by CAS while clients keep incrementing
 * counters in it) fails calls only retriably and serves them again once it completes, with every acknowledged
 * increment kept; its fixed-shard objects (`shard#N/x`) move with it and are never live on two nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumValues } from '../../../src/core/metrics/query.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import { waitFor } from '../../harness/waitFor.js';
import { allEvents, CounterLoad, liveIntervals, overlaps, Scenario } from './acceptance.js';

const NUM_SHARDS = 64;

let scenario: Scenario;

beforeAll(async () => {
  scenario = await Scenario.start('node-migration', NUM_SHARDS);
});

afterAll(async () => {
  await scenario?.close();
});

/** Retargets the shard by CAS and waits until the new target has claimed it. */
async function migrate(shard: number, to: string): Promise<void> {
  const { cluster } = scenario;
  const result = await scenario.operate({ kind: 'retarget', shards: [shard], to, refusals: 'refuse' });
  expect(result.changes.map((c) => c.outcome)).toEqual(['written']);
  await waitFor(`shard ${shard} claimed by ${to}`, async () => (await cluster.snapshot()).shards[shard]?.current === to, { timeoutMs: 20_000 });
}

describe('a shard migrating under steady load', () => {
  it('fails calls only retriably, serves them after it completes, keeps every acknowledged increment, and moves its fixed-shard objects', async () => {
    const { cluster, client, retries } = scenario;
    const shard = 11;
    const inShard = Array.from({ length: 2000 }, (_, i) => `mig-${i}`).filter((id) => fnv1a32(id) % NUM_SHARDS === shard).slice(0, 3);
    expect(inShard).toHaveLength(3);
    const fixed = `shard#${shard}/fixed`;
    const elsewhere = ['ctl-a', 'ctl-b', 'ctl-c'].filter((id) => fnv1a32(id) % NUM_SHARDS !== shard);
    // Pinned, so the balancer leaves the shard where the test puts it.
    expect((await scenario.operate({ kind: 'pin', shards: [shard] })).failed).toBe(0);
    const first = (await cluster.snapshot()).shards[shard]!.current;
    const [second, third] = cluster.nodes.map((n) => n.address).filter((a) => a !== first);

    const load = await CounterLoad.start(client, [...inShard, fixed, ...elsewhere], 2);
    let retriesBefore = 0;
    try {
      await load.progress(100, 'load before the migrations');
      retriesBefore = retries.length;
      await migrate(shard, second!);
      await load.progress(100, 'load between the migrations');
      await migrate(shard, third!);
      await load.progress(100, 'load after the migrations');
    } finally {
      await load.stop();
    }

    await load.expectIntact();
    const during = retries.slice(retriesBefore);
    expect(during.length).toBeGreaterThan(0);
    for (const r of during) {
      expect((r.error as { retriable?: boolean }).retriable, String(r.error)).toBe(true);
      expect(r.trace.shard).toBe(shard);
    }

    // Each object of the shard was live on the first owner, then the second, then the third; never on two at once.
    const events = allEvents(cluster.nodes);
    for (const id of [...inShard, fixed]) {
      const intervals = liveIntervals(events, 'Counter', id);
      expect(intervals.map((i) => i.node), id).toEqual([first, second, third]);
      expect(overlaps(intervals), id).toEqual([]);
      const evictions = events.filter((e) => e.id === id && e.event === 'deactivated');
      expect(evictions.map((e) => e.reason), id).toEqual(['evicted', 'evicted']);
    }
    const scrapes = await Promise.all(cluster.nodes.map(async (n) => parsePrometheusText(await n.metrics())));
    const sum = (name: string): number => scrapes.reduce((s, f) => s + (sumValues(f, name) ?? 0), 0);
    // The two moves of this shard at least; the cluster's first assignments migrate from no one and are not counted.
    expect(sum('goverse_shard_migrations_total')).toBeGreaterThanOrEqual(2);
    expect(sum('goverse_shard_release_duration_seconds_count')).toBeGreaterThanOrEqual(2);
  });
});
