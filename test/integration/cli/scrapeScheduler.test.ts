/**
 * The console's scrape scheduler against a real HTTP server playing many nodes: each node scraped on its own
 * schedule, answers published without waiting for a node that does not answer, the interval stretched with the node
 * count, and every answer dated with how old it may get.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nullLogger } from '../../../src/core/log/logger.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { type NodeMetrics, parseMetricsSources } from '../../../src/core/view/index.js';
import { type MetricsUpdate, ScrapeScheduler } from '../../../src/edge/http/scrapeScheduler.js';
import { waitFor } from '../../harness/waitFor.js';

const HANGING = 6999;
let server: Server;
let base: string;
const scrapes = new Map<number, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const port = Number(/^\/n\/(\d+)\/metrics$/.exec(req.url ?? '')?.[1]);
    // One node never answers: its scrapes must end at their budget, and nobody waits for it.
    if (port === HANGING) return;
    scrapes.set(port, (scrapes.get(port) ?? 0) + 1);
    res.end(`# TYPE goverse_method_calls_total counter\ngoverse_method_calls_total{node="n"} ${scrapes.get(port)}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** `n` alive nodes 10.1.0.1:7000..; the last one is the hanging node when `hanging`. */
function cluster(n: number, hanging: boolean): ClusterSnapshot {
  let rev = 1;
  const kvs: Kv[] = Array.from({ length: n }, (_, i) => {
    const a = `10.1.0.1:${hanging && i === n - 1 ? HANGING : 7000 + i}`;
    return { key: `/gv/nodes/${a}`, value: a, modRevision: rev, createRevision: rev++, lease: '7' };
  });
  return buildSnapshot('/gv', 64, kvs, rev);
}

function scheduler(snapshot: ClusterSnapshot, updates: (MetricsUpdate & { at: number })[], over: { intervalMs: number; maxPerSecond?: number }) {
  return new ScrapeScheduler({
    sources: parseMetricsSources([`${base}/n/{port}/metrics`]),
    snapshot: () => snapshot,
    timeoutMs: 300,
    publish: (u) => updates.push({ ...u, at: Date.now() }),
    logger: nullLogger,
    concurrency: 8,
    publishEveryMs: 50,
    ...over,
  });
}

const ok = (m: NodeMetrics | undefined): m is Extract<NodeMetrics, { kind: 'ok' }> => m?.kind === 'ok';

describe('ScrapeScheduler', () => {
  it('publishes answers as they come, never waiting for a node that does not answer, and rescrapes each node within its interval', async () => {
    const snapshot = cluster(60, true);
    const updates: (MetricsUpdate & { at: number })[] = [];
    const s = scheduler(snapshot, updates, { intervalMs: 400 });
    const started = Date.now();
    s.start();
    try {
      const hanging = `10.1.0.1:${HANGING}`;
      // Every answering node's figures are published while the hanging node's first scrape still waits for its budget.
      const first = await waitFor('every answering node published', () =>
        updates.find((u) => [...snapshot.nodes.keys()].every((a) => a === hanging || ok(u.metrics.get(a)))),
      );
      expect(first.metrics.get(hanging)).toBeUndefined();
      expect(first.at - started).toBeLessThan(5000);
      const down = await waitFor('the hanging node reported unreachable', () => updates.at(-1)?.metrics.get(hanging)?.kind === 'unreachable' && updates.at(-1));
      expect(down.metrics.get(hanging)).toMatchObject({ reason: 'no answer within 300ms' });
      // Watched for a few intervals: an answering node's figures are never older than interval + budget + margin.
      await waitFor('several intervals', () => Date.now() - started > 3000, { timeoutMs: 20_000 });
      const limit = 400 + 300 + 1000;
      for (const u of updates.slice(updates.indexOf(first))) {
        for (const [address, m] of u.metrics) {
          if (address === hanging) continue;
          expect(ok(m) && m.staleAfterMs).toBe(limit);
          expect(u.at - (m as { atMs: number }).atMs).toBeLessThanOrEqual(limit);
        }
      }
      // Only what changed is named: no update lists every node once the first round is in.
      expect(Math.max(...updates.slice(updates.indexOf(first) + 1).map((u) => u.changed.length))).toBeLessThan(60);
    } finally {
      await s.stop();
    }
  });

  it('stretches the interval past the scrape rate cap, so that 200 nodes at 100 a second are each scraped every 2 s', async () => {
    const snapshot = cluster(200, false);
    const updates: (MetricsUpdate & { at: number })[] = [];
    const s = scheduler(snapshot, updates, { intervalMs: 100, maxPerSecond: 100 });
    s.start();
    try {
      expect(s.intervalMs).toBe(2000);
      await waitFor('every node scraped', () => updates.at(-1)?.metrics.size === 200 && [...updates.at(-1)!.metrics.values()].every(ok));
      const m = updates.at(-1)!.metrics.values().next().value as Extract<NodeMetrics, { kind: 'ok' }>;
      expect(m.staleAfterMs).toBe(2000 + 300 + 1000);
      scrapes.clear();
      await waitFor('2.5 s of scrapes', async () => {
        await new Promise((r) => setTimeout(r, 100));
        return [...scrapes.values()].reduce((a, b) => a + b, 0) > 0 && Date.now() - updates[0]!.at > 4000;
      }, { timeoutMs: 20_000 });
      // At most one or two scrapes per node meanwhile, not one every 100 ms.
      expect(Math.max(...scrapes.values())).toBeLessThanOrEqual(3);
    } finally {
      await s.stop();
    }
  });
});
