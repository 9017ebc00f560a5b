/**
 * The metrics scraper against real HTTP servers: parsed results, or typed reasons (refused, slow, HTTP error,
 * malformed, too large), bounded concurrency, and explicit URLs matched to their nodes.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { buildSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { parseMetricsSources } from '../../../src/core/view/index.js';
import { ScrapeCaches, scrapeAll, scrapeNodes } from '../../../src/edge/http/scraper.js';

const GOOD = '# TYPE goverse_node_ready gauge\ngoverse_node_ready 1\n# TYPE goverse_method_calls_total counter\ngoverse_method_calls_total{node="up:2"} 7\n';

let server: Server;
let base: string;
let inFlight = 0;
let maxInFlight = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/good') || path === '/metrics') {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      // Slow enough that concurrent scrapes overlap.
      setTimeout(() => {
        inFlight--;
        res.end(GOOD);
      }, 30);
    } else if (path === '/error') {
      res.writeHead(503, 'Service Unavailable').end('not ready');
    } else if (path === '/garbage') {
      res.end('this is { not metrics\n');
    } else if (path === '/huge') {
      res.end(`# x\n${'#'.repeat(4096)}\n`);
    } else if (path === '/slow') {
      // Never answers: the scrape's deadline must end it.
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('scraper', () => {
  it('returns parsed families or a reason for each URL, never throwing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const urls = [`${base}/good`, `${base}/error`, `${base}/garbage`, `${base}/huge`, `${base}/slow`, `http://127.0.0.1:${closedPort}/metrics`];
    const started = performance.now();
    const out = await scrapeAll(urls, { timeoutMs: 2000, maxBytes: 1024 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(out[0]).toMatchObject({ kind: 'ok', url: urls[0] });
    expect(out[0]!.kind === 'ok' && out[0]!.families.has('goverse_node_ready')).toBe(true);
    expect(out[1]).toMatchObject({ kind: 'unreachable', reason: 'HTTP 503 Service Unavailable' });
    expect(out[2]).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/^metrics text line 1:/) });
    expect(out[3]).toMatchObject({ kind: 'malformed', reason: 'body larger than 1024 bytes' });
    expect(out[4]).toMatchObject({ kind: 'unreachable', reason: 'no answer within 2s' });
    expect(out[5]).toMatchObject({ kind: 'unreachable', reason: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('retries once on a new connection when a kept-alive one was closed under the request', async () => {
    // Every connection serves one request; a second one on it finds the connection closed, as an idle timeout would.
    const served = new WeakSet<object>();
    const oneShot = createServer((req, res) => {
      if (served.has(req.socket)) return void req.socket.destroy();
      served.add(req.socket);
      res.end(GOOD);
    });
    await new Promise<void>((resolve) => oneShot.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(oneShot.address() as { port: number }).port}/metrics`;
      const out = await scrapeAll([url, url, url], { timeoutMs: 5000, concurrency: 1 });
      expect(out.map((o) => o.kind)).toEqual(['ok', 'ok', 'ok']);
    } finally {
      oneShot.closeAllConnections();
      await new Promise((resolve) => oneShot.close(resolve));
    }
  });

  it('keeps at most `concurrency` scrapes in flight', async () => {
    maxInFlight = 0;
    const urls = Array.from({ length: 12 }, (_, i) => `${base}/good?${i}`);
    const out = await scrapeAll(urls, { timeoutMs: 5000, concurrency: 3 });
    expect(out.every((o) => o.kind === 'ok')).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(3);
  });

  it('scrapes nodes through nodeinfo, templates and explicit URLs, and names those it cannot reach', async () => {
    let rev = 0;
    const kv = (key: string, value: string): Kv => ({ key: `/goverse/${key}`, value, modRevision: ++rev, createRevision: rev, lease: key.startsWith('nodes/') ? '1' : '0' });
    const info = encodeRecord({ nodeId: 'ts', opsUrl: base, apiUrl: '', version: '1', weight: 1, startedAt: 0, state: 'running' });
    const snapshot = buildSnapshot(
      '/goverse',
      8,
      [kv('nodes/127.0.0.1:1', '127.0.0.1:1'), kv('nodeinfo/127.0.0.1:1', info), kv('nodes/up:2', 'up:2'), kv('nodes/up:3', 'up:3')],
      rev,
    );
    // The first node is ours (its ops URL, on its own host, + /metrics); up:2 is found by its own series at an explicit URL.
    const round = await scrapeNodes(snapshot, parseMetricsSources([`${base}/good/explicit`, `${base}/garbage`]), new Map(), { timeoutMs: 2000 });
    expect(round.metrics.get('127.0.0.1:1')).toMatchObject({ kind: 'ok', url: `${base}/metrics` });
    expect(round.metrics.get('up:2')).toMatchObject({ kind: 'ok', url: `${base}/good/explicit` });
    expect(round.metrics.get('up:3')).toMatchObject({ kind: 'none', reason: expect.stringMatching(/--metrics-url/) });
    expect(round.unmatched).toEqual([{ url: `${base}/garbage`, reason: expect.stringMatching(/^metrics text line 1/) }]);

    // A template reaches every upstream node; the second round computes rates against the first.
    const templated = parseMetricsSources([`${base}/good/{host}`]);
    const first = await scrapeNodes(snapshot, templated, new Map(), { timeoutMs: 2000 });
    expect(first.metrics.get('up:3')).toMatchObject({ kind: 'ok', url: `${base}/good/up` });
    const second = await scrapeNodes(snapshot, templated, first.metrics, { timeoutMs: 2000 });
    const m = second.metrics.get('up:3');
    expect(m?.kind === 'ok' && m.figures.callRate).toBe(0);
  });

  it("scrapes upstream nodes found in the config file, and asks their /ready, which they export no series for", async () => {
    // Two upstream-like nodes on loopback: /metrics without a readiness series, /ready 200 on one and 503 on the other.
    const upstream = (ready: boolean): Server =>
      createServer((req, res) => {
        if (req.url === '/metrics') res.end('# TYPE goverse_shards_total gauge\ngoverse_shards_total{node="x"} 1\n');
        else if (req.url === '/ready') res.writeHead(ready ? 200 : 503).end(JSON.stringify({ status: ready ? 'ready' : 'not ready' }));
        else res.writeHead(404).end();
      });
    const servers = [upstream(true), upstream(false)];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    try {
      const ports = servers.map((s) => (s.address() as { port: number }).port);
      let rev = 0;
      const kv = (key: string, value: string): Kv => ({ key: `/goverse/${key}`, value, modRevision: ++rev, createRevision: rev, lease: key.startsWith('nodes/') ? '1' : '0' });
      const snapshot = buildSnapshot('/goverse', 8, [kv('nodes/127.0.0.1:1', '127.0.0.1:1'), kv('nodes/127.0.0.1:2', '127.0.0.1:2')], rev);
      const sources = parseMetricsSources([], [
        { address: '127.0.0.1:1', httpAddr: `:${ports[0]}` },
        { address: '127.0.0.1:2', httpAddr: `0.0.0.0:${ports[1]}` },
      ]);
      const round = await scrapeNodes(snapshot, sources, new Map(), { timeoutMs: 2000 });
      const first = round.metrics.get('127.0.0.1:1');
      const second = round.metrics.get('127.0.0.1:2');
      expect(first).toMatchObject({ kind: 'ok', url: `http://127.0.0.1:${ports[0]}/metrics` });
      expect(first?.kind === 'ok' && first.figures.ready).toBe(true);
      expect(second?.kind === 'ok' && second.figures.ready).toBe(false);
    } finally {
      for (const s of servers) s.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  });

  it('keeps a sample cache per URL across rounds, and drops the caches of URLs a round no longer scrapes', async () => {
    let rev = 0;
    const kv = (key: string, value: string): Kv => ({ key: `/goverse/${key}`, value, modRevision: ++rev, createRevision: rev, lease: key.startsWith('nodes/') ? '1' : '0' });
    const nodes = (...names: string[]) => buildSnapshot('/goverse', 8, names.map((n) => kv(`nodes/${n}`, n)), rev);
    const templated = parseMetricsSources([`${base}/good/{host}`]);
    const caches = new ScrapeCaches();
    const options = { timeoutMs: 2000, caches };
    const first = await scrapeNodes(nodes('a:1', 'b:1'), templated, new Map(), options);
    expect(caches.size).toBe(2);
    const second = await scrapeNodes(nodes('a:1', 'b:1'), templated, first.metrics, options);
    expect(second.metrics.get('a:1')).toMatchObject({ kind: 'ok', figures: { callRate: 0 } });
    await scrapeNodes(nodes('a:1'), templated, second.metrics, options);
    expect(caches.size).toBe(1);
  });
});
