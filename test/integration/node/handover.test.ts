/**
 * Acceptance of issue 5: a drain (core operations) and a graceful restart (SIGTERM, then start again) lose no
 * acknowledged increment under steady load, /ready goes 200 -> 503 when the node is drained (and back after
 * undrain), on-deactivation state (KeyValue) survives both, and no object is ever live on two nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sumValues } from '../../../src/core/metrics/query.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import type { TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { waitSettled } from '../../harness/settled.js';
import { allEvents, CounterLoad, liveIntervals, overlaps, Scenario } from './acceptance.js';

let scenario: Scenario;
const COUNTERS = Array.from({ length: 12 }, (_, i) => `handover-${i}`);
const MAPS = Array.from({ length: 12 }, (_, i) => `kv-${i}`);

beforeAll(async () => {
  scenario = await Scenario.start('node-handover', 64);
});

afterAll(async () => {
  await scenario?.close();
});

async function readyStatus(node: TestNode, status: number): Promise<Record<string, unknown>> {
  return waitFor(`node ${node.index} /ready ${status}`, async () => {
    const r = await node.ready();
    return r.status === status && r.body;
  }, { timeoutMs: 20_000 });
}

async function activeObjects(node: TestNode): Promise<number> {
  return sumValues(parsePrometheusText(await node.metrics()), 'goverse_objects_total') ?? 0;
}

/** KeyValue saves only on deactivation: its entries surviving a drain and a restart prove those saves happen. */
const rounds: string[] = [];

async function putMaps(round: string): Promise<void> {
  await Promise.all(MAPS.map((id) => scenario.client.call('KeyValue', id, 'put', { key: round, value: `${id}@${round}` })));
  rounds.push(round);
}

/** Every map holds the key of every round put so far. */
async function expectMaps(): Promise<void> {
  for (const id of MAPS) {
    const keys = ((await scenario.client.call('KeyValue', id, 'keys')) as { keys: string[] }).keys;
    expect(keys.sort(), id).toEqual([...rounds].sort());
  }
}

describe('drain and graceful restart under steady load', () => {
  it('a drained node goes 200 -> 503 and hands its shards over, losing no acknowledged increment', async () => {
    const { cluster, client } = scenario;
    const drained = cluster.node(2);
    await readyStatus(drained, 200);
    await putMaps('before-drain');
    const load = await CounterLoad.start(client, COUNTERS, 2);
    try {
      await load.progress(100, 'load before the drain');
      const result = await scenario.operate({ kind: 'drain', node: drained.address });
      expect(result.failed + result.conflicts).toBe(0);
      expect(result.changes.length).toBeGreaterThan(1);
      const body = await readyStatus(drained, 503);
      expect(body).toMatchObject({ draining: true });
      await waitSettled(cluster, [cluster.node(0), cluster.node(1)]);
      await waitFor('the drained node holds no objects', async () => (await activeObjects(drained)) === 0);
      await load.progress(100, 'load after the drain');
      await putMaps('drained');

      expect((await scenario.operate({ kind: 'undrain', node: drained.address })).failed).toBe(0);
      await readyStatus(drained, 200);
      await waitSettled(cluster);
      await load.progress(100, 'load after the undrain');
    } finally {
      await load.stop();
    }
    await load.expectIntact();
    await expectMaps();
  });

  it('a graceful restart (SIGTERM, start again) loses no acknowledged increment', async () => {
    const { cluster, client, retries } = scenario;
    const restarted = cluster.node(1);
    await putMaps('before-restart');
    const load = await CounterLoad.start(client, COUNTERS, 2);
    try {
      await load.progress(100, 'load before the restart');
      const exit = await restarted.stop();
      expect(exit).toEqual({ code: 0, signal: null });
      // The harness copies the process output to the log file asynchronously: wait for the line, not for the exit.
      const stopped = /"msg":"stopped".*"mode":"graceful".*"timedOut":(true|false)/;
      expect((await waitFor('the stop logged', () => stopped.exec(restarted.log())))[1]).toBe('false');
      const snap = await cluster.snapshot();
      expect(snap.shards.filter((e) => e?.current === restarted.address)).toEqual([]);
      await load.progress(100, 'load while the node is down');
      await putMaps('down');
      await restarted.start();
      await waitSettled(cluster);
      await readyStatus(restarted, 200);
      await load.progress(100, 'load after the restart');
    } finally {
      await load.stop();
    }
    await load.expectIntact();
    await expectMaps();
    expect(retries.every((r) => (r.error as { retriable?: boolean }).retriable === true)).toBe(true);

    // Through both handovers, no object was live on two nodes at once.
    const events = allEvents(cluster.nodes);
    for (const [type, ids] of [['Counter', COUNTERS], ['KeyValue', MAPS]] as const) {
      for (const id of ids) expect(overlaps(liveIntervals(events, type, id)), `${type}/${id}`).toEqual([]);
    }
  });
});
