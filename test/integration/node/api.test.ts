/**
 * Acceptance of issue 5 on one 3-node cluster (real etcd, goverse-node processes, HTTP): /ready at start, calls
 * through the routing client reach the owner, malformed requests of every kind get 4xx JSON and the node keeps
 * serving, /metrics parses with our parser and holds every catalogued family with plausible values after load,
 * and the admin API wants its bearer token.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GoverseClient } from '../../../src/client/client.js';
import { routeObject } from '../../../src/client/route.js';
import { NoRouteError } from '../../../src/client/errors.js';
import { selectSamples, sampleValue, sumValues } from '../../../src/core/metrics/query.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { NodeMetricsRegistry } from '../../../src/node/metrics.js';
import { NodeCluster } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { waitSettled } from '../../harness/settled.js';
import { allEvents, clusterClient, SLOW_MACHINE_ENV } from './acceptance.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';

let cluster: NodeCluster;
let client: GoverseClient;
/** Every /ready status each node answered while starting, in order. */
const readyWhileStarting: number[][] = [];

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 0, numShards: 64, label: 'node-api' });
  // A stability period of 2 s keeps the leader from targeting shards for that long after the nodes join, so every
  // node's ops server answers (503) before the node can be ready, however slowly the poller gets going on a busy machine.
  await cluster.addNodes(
    3,
    { ...SLOW_MACHINE_ENV, GOVERSE_ADMIN_TOKEN: ADMIN_TOKEN, GOVERSE_ADMIN_LISTEN: '127.0.0.1:0', GOVERSE_STABILITY_DURATION: '2s' },
    false,
  );
  let polling = true;
  const pollers = cluster.nodes.map(async (node, i) => {
    readyWhileStarting[i] = [];
    while (polling) {
      const status = await fetch(`${node.opsUrl}/ready`).then((r) => r.status, () => null);
      if (status !== null) readyWhileStarting[i]!.push(status);
      await new Promise((r) => setTimeout(r, 5));
    }
  });
  await Promise.all(cluster.nodes.map((n) => n.start()));
  await waitSettled(cluster);
  await waitFor('every node ready', async () => (await Promise.all(cluster.nodes.map((n) => n.ready()))).every((r) => r.status === 200), {
    timeoutMs: 20_000,
  });
  polling = false;
  await Promise.all(pollers);
  client = await clusterClient(cluster);
});

afterAll(async () => {
  await client?.close();
  await cluster?.close();
});

describe('goverse-node API on 3 nodes', () => {
  it('/ready answers 503 while a node starts and 200 once it serves its shards', () => {
    for (const statuses of readyWhileStarting) {
      expect(statuses[0]).toBe(503);
      expect(statuses.at(-1)).toBe(200);
    }
  });

  it('routes calls to the shard owner (and fixed-node IDs to their node); non-owners refuse retriably', async () => {
    const snap = await cluster.snapshot();
    const ids = Array.from({ length: 30 }, (_, i) => `owner-${i}`);
    for (const id of ids) expect(await client.call('Counter', id, 'add', { amount: 2 })).toEqual({ value: 2 });
    for (const node of cluster.nodes) {
      expect(await client.call('Counter', `${node.address}/pinned-here`, 'increment')).toEqual({ value: 1 });
    }
    const events = allEvents(cluster.nodes).filter((e) => e.event === 'activated' && e.type === 'Counter');
    for (const id of ids) {
      const route = routeObject(snap, id);
      if (route instanceof NoRouteError) throw route;
      expect(events.filter((e) => e.id === id).map((e) => e.node), id).toEqual([route.node]);
    }
    for (const node of cluster.nodes) {
      expect(events.filter((e) => e.id === `${node.address}/pinned-here`).map((e) => e.node)).toEqual([node.address]);
    }
    // Asked directly, a node that does not own the shard refuses with a retriable 503.
    const route = routeObject(snap, ids[0]!) as { node: string };
    const other = cluster.nodes.find((n) => n.address !== route.node)!;
    const refused = await other.api('/v1/objects/call', { type: 'Counter', id: ids[0], method: 'get' });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'not_owner', retriable: true });
    const fixedElsewhere = await other.api('/v1/objects/call', { type: 'Counter', id: `${route.node}/pinned-here`, method: 'get' });
    expect(fixedElsewhere.status).toBe(503);
  });

  it('answers every malformed request with a 4xx JSON error naming the problem, and keeps serving', async () => {
    const snap = await cluster.snapshot();
    const owned = routeObject(snap, 'malformed-target') as { node: string };
    const node = cluster.nodes.find((n) => n.address === owned.node)!;
    const call = (body: unknown) => raw(node.apiUrl, 'POST', '/v1/objects/call', JSON.stringify(body));
    const cases: [string, Promise<RawReply>, number, string, RegExp][] = [
      ['unknown type', call({ type: 'Nope', id: 'x', method: 'get' }), 404, 'not_found', /unknown object type "Nope"/],
      ['unknown method', call({ type: 'Counter', id: 'malformed-target', method: 'explode' }), 404, 'not_found', /no method "explode"/],
      ['invalid fixed-shard ID', call({ type: 'Counter', id: 'shard#x/1', method: 'get' }), 400, 'invalid_object_id', /shard number "x"/],
      ['shard out of range', call({ type: 'Counter', id: 'shard#64/1', method: 'get' }), 400, 'invalid_object_id', /out of range/],
      ['empty ID', call({ type: 'Counter', id: '', method: 'get' }), 400, 'invalid_argument', /field "id"/],
      ['bad JSON', raw(node.apiUrl, 'POST', '/v1/objects/call', '{"type": "Counter",'), 400, 'invalid_argument', /not valid JSON/],
      ['body not an object', raw(node.apiUrl, 'POST', '/v1/objects/call', '[1, 2]'), 400, 'invalid_argument', /must be a JSON object/],
      ['body too large (declared)', raw(node.apiUrl, 'POST', '/v1/objects/call', 'x'.repeat(1024 * 1024 + 1)), 413, 'invalid_argument', /larger than/],
      ['body too large (chunked)', raw(node.apiUrl, 'POST', '/v1/objects/call', 'x'.repeat(1024 * 1024 + 1), true), 413, 'invalid_argument', /larger than/],
      ['wrong method', raw(node.apiUrl, 'GET', '/v1/objects/call'), 405, 'invalid_argument', /method GET not allowed; use POST/],
      ['unknown path', raw(node.apiUrl, 'POST', '/v1/objects/nope', '{}'), 404, 'not_found', /no such endpoint/],
      ['type not a string', call({ type: 5, id: 'x', method: 'get' }), 400, 'invalid_argument', /field "type"/],
      ['method missing', call({ type: 'Counter', id: 'x' }), 400, 'invalid_argument', /field "method"/],
      ['args not an object', call({ type: 'Counter', id: 'malformed-target', method: 'add', args: [1] }), 400, 'invalid_argument', /arguments must be a JSON object/],
      ['bad argument', call({ type: 'Counter', id: 'malformed-target', method: 'add', args: { amount: 'x' } }), 400, 'invalid_argument', /"amount"/],
      ['unknown argument', call({ type: 'Counter', id: 'malformed-target', method: 'get', args: { what: 1 } }), 400, 'invalid_argument', /"what"/],
      ['negative timeout', call({ type: 'Counter', id: 'x', method: 'get', timeoutMs: -1 }), 400, 'invalid_argument', /timeoutMs/],
      ['timeout not a number', call({ type: 'Counter', id: 'x', method: 'get', timeoutMs: '5s' }), 400, 'invalid_argument', /timeoutMs/],
      [
        'bad initial state',
        raw(node.apiUrl, 'POST', '/v1/objects/create', JSON.stringify({ type: 'Counter', id: 'malformed-target', state: { value: 'x' } })),
        400,
        'invalid_argument',
        /integer "value"/,
      ],
      ['delete without type', raw(node.apiUrl, 'POST', '/v1/objects/delete', JSON.stringify({ id: 'x' })), 400, 'invalid_argument', /field "type"/],
      ['ops: wrong method', raw(node.opsUrl, 'POST', '/metrics', ''), 405, 'invalid_argument', /not allowed/],
      ['ops: unknown path', raw(node.opsUrl, 'GET', '/nope'), 404, 'not_found', /no such endpoint/],
    ];
    for (const [what, pending, status, code, message] of cases) {
      const r = await pending;
      expect(r.status, what).toBe(status);
      expect(r.contentType, what).toMatch(/^application\/json/);
      const body = JSON.parse(r.text) as { error: { code: string; message: string; retriable: boolean } };
      expect(body.error.code, what).toBe(code);
      expect(body.error.message, what).toMatch(message);
      expect(body.error.retriable, what).toBe(false);
    }
    expect(node.running).toBe(true);
    expect((await raw(node.opsUrl, 'GET', '/healthz')).status).toBe(200);
    expect(await client.call('Counter', 'malformed-target', 'add', { amount: 3 })).toEqual({ value: 3 });
  });

  it('/metrics parses and holds every catalogued family, with plausible values after load', async () => {
    const echoes = Array.from({ length: 20 }, (_, i) => `echo-${i}`);
    await Promise.all(echoes.map((id) => client.call('Echo', id, 'echo', { id })));
    const counterCalls = 200;
    await Promise.all(Array.from({ length: counterCalls }, (_, i) => client.call('Counter', `load-${i % 10}`, 'increment')));
    const scrapes = await Promise.all(cluster.nodes.map(async (n) => parsePrometheusText(await n.metrics())));
    const catalog = new NodeMetricsRegistry('catalog').registry.getMetricsAsArray().map((m) => m.name);
    const documented = readmeFamilies();
    expect(documented).toEqual(expect.arrayContaining(ISSUE_FAMILIES));
    expect(catalog).toEqual(expect.arrayContaining(documented));
    expect(documented, 'the README lists every goverse_ family').toEqual(expect.arrayContaining(catalog.filter((n) => n.startsWith('goverse_'))));
    for (const name of catalog) {
      for (const [i, families] of scrapes.entries()) expect(families.has(name), `node ${i} exports ${name}`).toBe(true);
    }
    const sum = (name: string, matcher: Record<string, string> = {}): number =>
      scrapes.reduce((s, f) => s + (sumValues(f, name, matcher) ?? 0), 0);

    // Objects: every activated object counted once, by type; calls and durations agree.
    expect(sum('goverse_objects_total', { type: 'Echo' })).toBe(echoes.length);
    expect(sum('goverse_objects_total', { type: 'Counter' })).toBeGreaterThanOrEqual(10 + 30 + 3 + 1);
    expect(sum('goverse_method_calls_total', { object_type: 'Counter', method_name: 'increment', status: 'success' })).toBeGreaterThanOrEqual(counterCalls);
    expect(sum('goverse_method_calls_total', { object_type: 'Echo', status: 'success' })).toBe(echoes.length);
    expect(sum('goverse_method_call_duration_count')).toBe(sum('goverse_method_calls_total'));
    expect(sum('goverse_shard_method_calls_total')).toBeGreaterThanOrEqual(counterCalls + echoes.length);
    expect(sum('goverse_operation_duration_seconds_count', { operation: 'CallObject', status: 'success' })).toBeGreaterThanOrEqual(counterCalls);
    // Locks: a read lock per call and create, write locks for claims, none held now.
    expect(sum('goverse_shard_lock_acquisitions_total', { mode: 'read' })).toBeGreaterThanOrEqual(counterCalls + echoes.length);
    expect(sum('goverse_shard_lock_acquisitions_total', { mode: 'write' })).toBeGreaterThanOrEqual(3);
    expect(sum('goverse_shard_lock_wait_seconds_count', { mode: 'read' })).toBe(sum('goverse_shard_lock_acquisitions_total', { mode: 'read' }));
    expect(sum('goverse_shard_write_locks_held')).toBe(0);
    expect(sum('goverse_shard_lock_timeouts_total')).toBe(0);
    expect(sum('goverse_shard_lock_forced_releases_total')).toBe(0);
    // Shard lifecycle: every shard claimed once at start. A first assignment migrates from no one, so those claims
    // are not migrations; any move since is counted once in both migration families.
    expect(sum('goverse_shard_claims_total')).toBeGreaterThanOrEqual(64);
    expect(sum('goverse_shard_migration_duration_seconds_count')).toBe(sum('goverse_shard_migrations_total'));
    for (const f of scrapes) expect(sampleValue(f, 'goverse_shard_claim_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    // Cluster-wide figures: every node sees the same stable cluster.
    const leaders = scrapes.map((f) => selectSamples(f, 'goverse_cluster_leader'));
    for (const l of leaders) {
      expect(l).toHaveLength(1);
      expect(l[0]!.labels).toMatchObject({ leader: leaders[0]![0]!.labels.leader, alive: 'true' });
    }
    expect(cluster.nodes.map((n) => n.address)).toContain(leaders[0]![0]!.labels.leader);
    for (const f of scrapes) {
      expect(sumValues(f, 'goverse_shards_total')).toBe(64);
      expect(selectSamples(f, 'goverse_shards_total')).toHaveLength(3);
      expect(sampleValue(f, 'goverse_shards_in_migration')).toBe(0);
      expect(sampleValue(f, 'goverse_shards_pinned')).toBe(0);
      expect(selectSamples(f, 'goverse_shards_stuck')).toHaveLength(0);
      expect(sampleValue(f, 'goverse_node_ready')).toBe(1);
      const max = sampleValue(f, 'goverse_shard_imbalance', { stat: 'max' })!;
      const min = sampleValue(f, 'goverse_shard_imbalance', { stat: 'min' })!;
      expect(min).toBeGreaterThan(0);
      expect(max - min).toBeLessThanOrEqual(4);
      expect(selectSamples(f, 'goverse_shard_mapping_write_failures_total').map((s) => s.labels.error_type).sort()).toEqual([
        'connection_error',
        'modrevision_conflict',
        'other',
        'timeout',
      ]);
    }
    const leaderIndex = cluster.nodes.findIndex((n) => n.address === leaders[0]![0]!.labels.leader);
    expect(sampleValue(scrapes[leaderIndex]!, 'goverse_node_is_leader')).toBe(1);
    expect(sumValues(scrapes[leaderIndex]!, 'goverse_rebalance_decisions_total')).toBeGreaterThanOrEqual(1);
  });

  it('the admin API refuses requests without the right bearer token and works with it', async () => {
    // Told to listen on a free loopback port, the node logs where it listens.
    const listening = cluster
      .node(0)
      .log()
      .split('\n')
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg?: string; url?: string }) : {}))
      .find((l) => l.msg === 'admin API listening');
    const admin = listening?.url ?? '';
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const pin = JSON.stringify({ shards: '7' });
    for (const [what, auth] of [
      ['no token', undefined],
      ['wrong token', 'Bearer wrong-token'],
      ['token with a suffix', `Bearer ${ADMIN_TOKEN}x`],
      ['not a bearer token', `Basic ${ADMIN_TOKEN}`],
    ] as const) {
      const r = await raw(admin, 'POST', '/admin/v1/shards/pin', pin, false, auth);
      expect(r.status, what).toBe(401);
      expect(JSON.parse(r.text).error.message, what).toMatch(/bearer token/);
    }
    expect((await cluster.snapshot()).shards[7]!.flags).toEqual([]);

    const bearer = `Bearer ${ADMIN_TOKEN}`;
    const dry = await raw(admin, 'POST', '/admin/v1/shards/pin', JSON.stringify({ shards: '7', dryRun: true }), false, bearer);
    expect(dry.status).toBe(200);
    expect(JSON.parse(dry.text)).toMatchObject({ operation: 'pin', dryRun: true, changes: [{ id: 7, outcome: 'dry-run' }] });
    const done = await raw(admin, 'POST', '/admin/v1/shards/pin', pin, false, bearer);
    expect(done.status).toBe(200);
    expect(JSON.parse(done.text)).toMatchObject({ operation: 'pin', dryRun: false, changes: [{ id: 7, outcome: 'written' }] });
    expect((await cluster.snapshot()).shards[7]!.flags).toEqual(['pinned']);
    await waitFor('the pin shows in /metrics', async () => sampleValue(parsePrometheusText(await cluster.node(1).metrics()), 'goverse_shards_pinned') === 1);
    const bad = await raw(admin, 'POST', '/admin/v1/shards/pin', JSON.stringify({ shards: 'seven' }), false, bearer);
    expect(bad.status).toBe(400);
    expect((await raw(admin, 'POST', '/admin/v1/shards/unpin', pin, false, bearer)).status).toBe(200);
    expect((await cluster.snapshot()).shards[7]!.flags).toEqual([]);

    // A pause beyond the longest allowed (GOVERSE_MAX_PAUSE, 24h) is bad input, not an etcd failure; nothing is written.
    for (const forText of ['24h1s', '2400000h']) {
      const long = await raw(admin, 'POST', '/admin/v1/rebalance/pause', JSON.stringify({ for: forText }), false, bearer);
      expect(long.status, forText).toBe(400);
      expect(JSON.parse(long.text).error.message).toMatch(/longer than the longest allowed, 24h \(GOVERSE_MAX_PAUSE\)/);
    }
    expect((await cluster.snapshot()).pause).toBeNull();
    const day = await raw(admin, 'POST', '/admin/v1/rebalance/pause', JSON.stringify({ for: '24h', dryRun: true }), false, bearer);
    expect(day.status).toBe(200);
  });
});

/** The families of the README's metrics table (`| \`goverse_x\` | type | labels | meaning |`). */
function readmeFamilies(): string[] {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  return [...readme.matchAll(/^\| `(goverse_[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

/** The families issue 5 asks for by name. */
const ISSUE_FAMILIES = [
  'goverse_objects_total',
  'goverse_method_calls_total',
  'goverse_method_call_duration',
  'goverse_shard_claim_duration_seconds',
  'goverse_shard_release_duration_seconds',
  'goverse_shard_migration_duration_seconds',
  'goverse_shard_lock_acquisitions_total',
  'goverse_shard_lock_wait_seconds',
  'goverse_shard_write_locks_held',
  'goverse_shard_lock_timeouts_total',
  'goverse_shard_lock_forced_releases_total',
  'goverse_rebalance_decisions_total',
  'goverse_shard_imbalance',
  'goverse_shards_pinned',
  'goverse_shards_in_migration',
  'goverse_shard_migration_age_seconds',
  'goverse_shards_stuck',
  'goverse_stuck_interventions_total',
  'goverse_shard_mapping_write_failures_total',
  'goverse_watch_reconnections_total',
  'goverse_cluster_leader',
];

interface RawReply {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** A request with full control over method, body framing and headers (fetch would not send some of these). */
function raw(base: string, method: string, path: string, body?: string, chunked = false, authorization?: string): Promise<RawReply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (body !== undefined && !chunked) headers['content-length'] = String(Buffer.byteLength(body));
    if (authorization !== undefined) headers.authorization = authorization;
    const req = request({ host: url.hostname, port: url.port, method, path: url.pathname, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined && chunked) {
      // Several chunks, so the limit is hit while streaming rather than from a declared length.
      for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.slice(i, i + 64 * 1024));
    } else if (body !== undefined) {
      req.write(body);
    }
    req.end();
  });
}
