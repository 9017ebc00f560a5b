import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { buildSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import {
  decodeVector,
  mapInstances,
  parseMetricsSources,
  MAX_SERIES,
  PROMETHEUS_QUERIES,
  prometheusMetrics,
  type PromSample,
  type QueryAnswers,
  type QueryName,
} from '../../../../src/core/view/index.js';

const P = '/gv';
let rev = 1;
const kv = (key: string, value: string, lease = '0'): Kv => ({ key: `${P}/${key}`, value, modRevision: rev, createRevision: rev++, lease });
const info = (opsUrl: string): string => encodeRecord({ nodeId: 'n', opsUrl, apiUrl: '', version: '1', weight: 1, startedAt: 0, state: 'running' });

/** Ours publishing its ops URL (10.0.0.1:9100), an upstream node, a node relabelled by its address, one nobody serves. */
const OURS = '10.0.0.1:7001';
const UPSTREAM = '10.0.0.2:48000';
const RELABELLED = '10.0.0.3:7001';
const UNSEEN = '10.0.0.4:7001';
const snapshot = buildSnapshot(
  P,
  8,
  [
    ...[OURS, UPSTREAM, RELABELLED, UNSEEN].map((a) => kv(`nodes/${a}`, a, '7')),
    kv(`nodeinfo/${OURS}`, info('http://10.0.0.1:9100')),
  ],
  rev++,
);

const vector = (result: unknown[]): unknown => ({ status: 'success', data: { resultType: 'vector', result } });
const sample = (labels: Record<string, string>, value: number): PromSample => ({ labels, value });

function answers(over: Partial<Record<QueryName, PromSample[]>>): QueryAnswers {
  const empty = Object.fromEntries(Object.keys(PROMETHEUS_QUERIES).map((k) => [k, []])) as unknown as Record<QueryName, PromSample[]>;
  return { ...empty, ...over };
}

describe('Prometheus answers', () => {
  it('decodes a vector, Prometheus number strings included', () => {
    const body = vector([
      { metric: { instance: 'a:1', job: 'g' }, value: [1700000000.5, '1.5'] },
      { metric: {}, value: [1, '+Inf'] },
      { metric: {}, value: [1, 'NaN'] },
    ]);
    const out = decodeVector(body);
    expect(out[0]).toEqual({ labels: { instance: 'a:1', job: 'g' }, value: 1.5 });
    expect(out[1]!.value).toBe(Number.POSITIVE_INFINITY);
    expect(out[2]!.value).toBeNaN();
  });

  it('refuses what is not a vector of string labels and number strings, naming why', () => {
    expect(() => decodeVector({ status: 'error', errorType: 'bad_data', error: 'parse error at char 3' })).toThrow(/query refused: bad_data: parse error/);
    expect(() => decodeVector('<html>')).toThrow(/not a JSON object/);
    expect(() => decodeVector({ status: 'success', data: { resultType: 'matrix', result: [] } })).toThrow(/expected a vector, got matrix/);
    expect(() => decodeVector(vector([{ metric: { a: 1 }, value: [1, '1'] }]))).toThrow(/label a is not a short string/);
    expect(() => decodeVector(vector([{ metric: {}, value: [1, 'x'] }]))).toThrow(/is not a number/);
    expect(() => decodeVector(vector([{ metric: {}, value: [1, 2] }]))).toThrow(/not \{metric, value/);
  });
});

describe('instance to node mapping', () => {
  it('maps by address, by the metrics URL host:port (nodeinfo or template), then by the node label of its own series', () => {
    const up = ['10.0.0.1:9100', RELABELLED, 'upstream-metrics:9000', '10.0.0.9:9100', 'other-job:1'].map((instance) => sample({ instance }, 1));
    const identity = [
      sample({ instance: 'upstream-metrics:9000', node: UPSTREAM }, 3),
      // Two node labels: a cluster-wide series; never decides.
      sample({ instance: 'other-job:1', node: OURS }, 1),
      sample({ instance: 'other-job:1', node: UNSEEN }, 1),
    ];
    const mapping = mapInstances(snapshot, parseMetricsSources([]), answers({ up, identity }));
    expect([...mapping.nodeOf]).toEqual([
      [RELABELLED, RELABELLED],
      ['10.0.0.1:9100', OURS],
      ['upstream-metrics:9000', UPSTREAM],
    ]);
    expect([...mapping.missing.keys()]).toEqual([UNSEEN]);
    // The template says where upstream nodes' metrics are: their instance is that host:port.
    const byTemplate = mapInstances(snapshot, parseMetricsSources(['http://{host}:9090/metrics']), answers({ up: [sample({ instance: '10.0.0.4:9090' }, 1)] }));
    expect(byTemplate.nodeOf.get('10.0.0.4:9090')).toBe(UNSEEN);
  });

  it("maps upstream nodes by the http_addr their --config entry lists (a wildcard host is the node's own)", () => {
    const sources = parseMetricsSources([], [
      { address: UNSEEN, httpAddr: ':8080' },
      { address: UPSTREAM, httpAddr: '0.0.0.0:8081' },
      // Ours publish nodeinfo: what the node publishes wins over the file.
      { address: OURS, httpAddr: ':7777' },
    ]);
    const up = ['10.0.0.4:8080', '10.0.0.2:8081', '10.0.0.1:7777', '10.0.0.1:9100'].map((instance) => sample({ instance }, 1));
    const mapping = mapInstances(snapshot, sources, answers({ up }));
    expect(mapping.nodeOf.get('10.0.0.4:8080')).toBe(UNSEEN);
    expect(mapping.nodeOf.get('10.0.0.2:8081')).toBe(UPSTREAM);
    expect(mapping.nodeOf.get('10.0.0.1:9100')).toBe(OURS);
    expect(mapping.nodeOf.has('10.0.0.1:7777')).toBe(false);
    expect([...mapping.missing.keys()]).toEqual([RELABELLED]);
  });

  it('gives each node one instance and each instance one node: the first rule that applies wins', () => {
    // RELABELLED's address is an instance, and so is its template host:port: the address wins, the other is nobody's.
    const up = [RELABELLED, '10.0.0.3:9090', '10.0.0.1:9100'].map((instance) => sample({ instance }, 1));
    // A series claiming OURS from another instance does not take it from its metrics host:port.
    const identity = [sample({ instance: 'impostor:1', node: OURS }, 1), sample({ instance: 'ghost:1', node: '10.9.9.9:1' }, 1)];
    const mapping = mapInstances(snapshot, parseMetricsSources(['http://{host}:9090/metrics']), answers({ up, identity }));
    expect(mapping.nodeOf.get(RELABELLED)).toBe(RELABELLED);
    expect(mapping.nodeOf.has('10.0.0.3:9090')).toBe(false);
    expect(mapping.nodeOf.get('10.0.0.1:9100')).toBe(OURS);
    expect(mapping.nodeOf.has('impostor:1')).toBe(false);
    // A node label that names no registered node maps nothing.
    expect(mapping.nodeOf.has('ghost:1')).toBe(false);
    // node_addr names upstream nodes too.
    const byAddr = mapInstances(snapshot, parseMetricsSources([]), answers({ up: [sample({ instance: 'u:1' }, 1)], identityAddr: [sample({ instance: 'u:1', node_addr: UPSTREAM }, 2)] }));
    expect(byAddr.nodeOf.get('u:1')).toBe(UPSTREAM);
  });

  it('maps nothing while Prometheus scrapes none of the nodes, naming why for each', () => {
    const mapping = mapInstances(snapshot, parseMetricsSources([]), answers({ up: [sample({ instance: 'other:1' }, 1)] }));
    expect(mapping.nodeOf.size).toBe(0);
    expect([...mapping.missing.keys()].sort()).toEqual([OURS, UPSTREAM, RELABELLED, UNSEEN].sort());
    expect(mapping.missing.get(OURS)).toMatch(/instance label is not its address, nor its metrics host:port/);
  });
});

describe('node metrics from Prometheus', () => {
  const mapping = { nodeOf: new Map([['10.0.0.1:9100', OURS], ['u:9000', UPSTREAM]]), missing: new Map([[UNSEEN, 'no target']]) };
  const at = (instance: string, seconds: number): PromSample => sample({ instance }, seconds);

  it('gives each node its figures, dated by its last scrape; upstream nodes lack some; top shards only', () => {
    const out = prometheusMetrics(
      answers({
        up: [at('10.0.0.1:9100', 1), at('u:9000', 1)],
        scrapedAt: [at('10.0.0.1:9100', 1000.25), at('u:9000', 999)],
        scrapes: [at('10.0.0.1:9100', 8)],
        ready: [at('10.0.0.1:9100', 1)],
        objects: [at('10.0.0.1:9100', 12), at('u:9000', 3)],
        callRate: [at('10.0.0.1:9100', 4.5)],
        lockWaitP99: [sample({ instance: '10.0.0.1:9100' }, Number.NaN)],
        topObjects: [sample({ instance: '10.0.0.1:9100', shard: '5' }, 7), sample({ instance: 'u:9000', shard: '2' }, 3)],
        hotShards: [sample({ instance: '10.0.0.1:9100', shard: '5', stat: 'wait_seconds' }, 0.5), sample({ instance: '10.0.0.1:9100', shard: '5', stat: 'waits' }, 9)],
        decisions: [sample({ instance: '10.0.0.1:9100', outcome: 'skipped', reason: 'balanced' }, 40)],
      }),
      mapping,
      new Map(),
      'http://prom:9090',
      2000,
    );
    const ours = out.get(OURS);
    expect(ours).toMatchObject({ kind: 'ok', atMs: 1_000_250, url: 'http://prom:9090 instance 10.0.0.1:9100', staleAfterMs: 2 * 15_000 + 2000 });
    const f = ours?.kind === 'ok' ? ours.figures : null;
    expect(f).toMatchObject({ ready: true, objects: 12, callRate: 4.5, lockWaitP99Ms: null, lockTimeouts: null, shardsListed: 'top' });
    expect([...f!.shardObjects]).toEqual([[5, 7]]);
    expect(f!.hotShards).toEqual([{ shardId: 5, waits: 9, waitSeconds: 0.5, maxWaitSeconds: 0, timeouts: 0 }]);
    expect(f!.decisions).toEqual([{ outcome: 'skipped', reason: 'balanced', count: 40 }]);
    const upstream = out.get(UPSTREAM);
    expect(upstream?.kind === 'ok' && upstream.figures).toMatchObject({ ready: null, objects: 3, callRate: null, lockAcquisitions: null });
    expect(out.get(UNSEEN)).toEqual({ kind: 'none', reason: 'no target' });
  });

  it('a target Prometheus sees down is unreachable, its last figures kept', () => {
    const first = prometheusMetrics(answers({ up: [at('u:9000', 1)], objects: [at('u:9000', 3)] }), mapping, new Map(), 'p', 2000);
    const later = prometheusMetrics(answers({ up: [at('u:9000', 0)] }), mapping, first, 'p', 2000);
    expect(later.get(UPSTREAM)).toMatchObject({ kind: 'unreachable', reason: 'Prometheus sees its target down (up 0)', lastOk: first.get(UPSTREAM) });
  });

  it('ranks each node\'s hot shards by wait, reads its top shards and decisions, skips series without a usable shard', () => {
    const ours = '10.0.0.1:9100';
    const hot = (shard: string, stat: string, v: number): PromSample => sample({ instance: ours, shard, stat }, v);
    const out = prometheusMetrics(
      answers({
        up: [at(ours, 1)],
        objects: [at(ours, 10)],
        unshardedObjects: [at(ours, 2)],
        hotShards: [hot('3', 'wait_seconds', 0.2), hot('3', 'timeouts', 1), hot('9', 'wait_seconds', 1.5), hot('9', 'max_wait_seconds', 0.9), hot('x', 'wait_seconds', 9), hot('4', 'other', 9)],
        topObjects: [sample({ instance: ours, shard: '1' }, 6), sample({ instance: ours, shard: '-1' }, 9), sample({ instance: ours, shard: '2' }, Number.NaN)],
        topCalls: [sample({ instance: ours, shard: '1' }, 2.5), sample({ shard: '1' }, 7)],
        decisions: [sample({ instance: ours, outcome: 'rebalance', reason: 'spread' }, 3), sample({ instance: ours, outcome: 'skipped', reason: 'paused' }, Number.POSITIVE_INFINITY)],
      }),
      mapping,
      new Map(),
      'p',
      2000,
    );
    const m = out.get(OURS);
    const f = m?.kind === 'ok' ? m.figures : null;
    expect(f?.hotShards).toEqual([
      { shardId: 9, waits: 0, waitSeconds: 1.5, maxWaitSeconds: 0.9, timeouts: 0 },
      { shardId: 3, waits: 0, waitSeconds: 0.2, maxWaitSeconds: 0, timeouts: 1 },
      // A stat this console does not know leaves the shard's row at zero.
      { shardId: 4, waits: 0, waitSeconds: 0, maxWaitSeconds: 0, timeouts: 0 },
    ]);
    expect([...f!.shardObjects]).toEqual([[1, 6]]);
    expect([...f!.shardCallRates]).toEqual([[1, 2.5]]);
    expect(f).toMatchObject({ objects: 10, unshardedObjects: 2 });
    expect(f!.decisions).toEqual([{ outcome: 'rebalance', reason: 'spread', count: 3 }]);
    // Without a scrape count the interval is taken as the whole window: figures are stale only past 2 × 2 min.
    expect(m).toMatchObject({ staleAfterMs: 2 * 120_000 + 2000, counters: null });
  });

  it('keeps the last good figures through several refreshes that see the target down, and reads them again once up', () => {
    const ok = prometheusMetrics(answers({ up: [at('u:9000', 1)], objects: [at('u:9000', 3)] }), mapping, new Map(), 'p', 2000);
    const down1 = prometheusMetrics(answers({ up: [at('u:9000', 0)] }), mapping, ok, 'p', 2000);
    const down2 = prometheusMetrics(answers({ up: [] }), mapping, down1, 'p', 2000);
    expect(down2.get(UPSTREAM)).toMatchObject({ kind: 'unreachable', lastOk: ok.get(UPSTREAM) });
    const back = prometheusMetrics(answers({ up: [at('u:9000', 1)], objects: [at('u:9000', 5)] }), mapping, down2, 'p', 2000);
    expect(back.get(UPSTREAM)).toMatchObject({ kind: 'ok', figures: { objects: 5 } });
  });
});

describe('Prometheus answers, bounds', () => {
  it('refuses more series than any refresh needs, and labels longer than a label ever is', () => {
    const many = Array.from({ length: MAX_SERIES + 1 }, () => ({ metric: {}, value: [1, '1'] }));
    expect(() => decodeVector(vector(many))).toThrow(`${MAX_SERIES + 1} series, more than ${MAX_SERIES}`);
    expect(() => decodeVector(vector([{ metric: { instance: 'x'.repeat(1025) }, value: [1, '1'] }]))).toThrow(/label instance is not a short string/);
  });
});
