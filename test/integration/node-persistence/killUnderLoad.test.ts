/**
 * Group commit keeps every acknowledgement durable: a goverse-node under 32 concurrent callers (their increments
 * committed in shared transactions) is killed with SIGKILL mid-load; after the restart every acknowledged increment
 * is there, and re-sending the unanswered ones with their request IDs applies each increment exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';

const WORKERS = 32;
const COUNTERS = 40;
/** Acknowledged increments before the kill: enough that many groups committed while callers waited. */
const ACKED_BEFORE_KILL = 1500;

interface Increment {
  readonly counter: string;
  readonly requestId: string;
  /** The counter's value in the acknowledgement; null when the call was not acknowledged. */
  ack: number | null;
}

let cluster: NodeCluster | undefined;

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 1, numShards: 16, label: 'kill-under-load' });
  await cluster.waitStable();
}, 60_000);

afterAll(async () => {
  await cluster?.close();
});

/** One `Counter.add` with a request ID; the new value, or null for anything but an acknowledgement. */
async function add(node: TestNode, inc: Increment): Promise<number | null> {
  try {
    const res = await node.api('/v1/objects/call', { type: 'Counter', id: inc.counter, method: 'add', args: { amount: 1, requestId: inc.requestId } });
    return res.status === 200 ? ((res.body.result as { value: number }).value ?? null) : null;
  } catch {
    return null;
  }
}

describe('kill -9 under concurrent durable load', () => {
  it('every acknowledged increment survives, and each increment is applied exactly once after the retries', async () => {
    const node = cluster!.node(0);
    const increments: Increment[] = [];
    let acked = 0;
    let killed = false;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let n = 0; !killed; n++) {
        const inc: Increment = { counter: `c${(w * 7 + n) % COUNTERS}`, requestId: `w${w}-${n}`, ack: null };
        increments.push(inc);
        inc.ack = await add(node, inc);
        if (inc.ack !== null) acked++;
      }
    });
    await waitFor(`${ACKED_BEFORE_KILL} acknowledged increments`, () => acked >= ACKED_BEFORE_KILL, { timeoutMs: 60_000, describe: () => `${acked}` });
    await node.kill();
    killed = true;
    await Promise.all(workers);
    const unanswered = increments.filter((i) => i.ack === null);
    expect(unanswered.length, 'callers were waiting on their commits when the node died').toBeGreaterThan(0);

    await node.start();
    await waitFor('the restarted node ready', async () => (await node.ready()).status === 200, { timeoutMs: 30_000 });
    // Every acknowledged value is stored: the counter holds at least the highest one acknowledged.
    for (let c = 0; c < COUNTERS; c++) {
      const counter = `c${c}`;
      const highest = Math.max(0, ...increments.filter((i) => i.counter === counter && i.ack !== null).map((i) => i.ack!));
      const res = await waitFor(`${counter} readable`, async () => {
        const r = await node.api('/v1/objects/call', { type: 'Counter', id: counter, method: 'get' });
        return r.status === 200 && r.body;
      });
      expect((res.result as { value: number }).value, counter).toBeGreaterThanOrEqual(highest);
    }
    // The unanswered ones may or may not have been applied: their retries (same request IDs) settle it, once.
    for (const inc of unanswered) inc.ack = await waitFor(`retry of ${inc.requestId}`, () => add(node, inc), { timeoutMs: 30_000 });
    for (let c = 0; c < COUNTERS; c++) {
      const counter = `c${c}`;
      const mine = increments.filter((i) => i.counter === counter);
      const res = await node.api('/v1/objects/call', { type: 'Counter', id: counter, method: 'get' });
      expect((res.body.result as { value: number }).value, `${counter}: its ${mine.length} increments, each once`).toBe(mine.length);
      // Each increment got its own value: none was applied twice or lost between acknowledgements.
      expect(new Set(mine.map((i) => i.ack)).size, counter).toBe(mine.length);
    }
  }, 120_000);
});
