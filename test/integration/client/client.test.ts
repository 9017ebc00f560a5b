/**
 * The routing client against scripted local HTTP servers (no etcd): retries, re-routing, deadlines, aborts,
 * error reports and connection reuse. The acceptance tests against real nodes are in test/integration/node/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GoverseClient, type RetryEvent } from '../../../src/client/client.js';
import { CallAbortedError, CallTimeoutError, NodeUnreachableError, NoRouteError, RemoteError } from '../../../src/client/errors.js';
import { InvalidObjectIdError } from '../../../src/core/errors.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';
import { freePorts } from '../../harness/etcd.js';

type Script = (body: Record<string, unknown>, res: ServerResponse) => void;

interface FakeNode {
  readonly address: string;
  readonly requests: Record<string, unknown>[];
  connections: number;
  script: Script;
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function fakeNode(script: Script): Promise<FakeNode> {
  const node: FakeNode = {
    address: '',
    requests: [],
    connections: 0,
    script,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      node.requests.push(body);
      node.script(body, res);
    });
  });
  server.on('connection', () => node.connections++);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  (node as { address: string }).address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return node;
}

const reply = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const notOwner = (res: ServerResponse): void => reply(res, 503, { error: { code: 'not_owner', message: 'shard 3 is not served here', retriable: true, name: 'NotOwnerError' } });

let rev = 0;
/** Every shard owned by `owner` (or unowned when null); nodeinfo for each listed node. */
function snapshotOf(owner: string | null, nodes: readonly string[]): ClusterSnapshot {
  const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease });
  const kvs: Kv[] = [];
  for (const n of nodes) {
    kvs.push(kv(`/t/nodes/${n}`, n, '1'));
    kvs.push(kv(`/t/nodeinfo/${n}`, encodeRecord({ nodeId: n, opsUrl: '', apiUrl: `http://${n}`, version: 't', weight: 1, startedAt: 0, state: 'running' })));
  }
  for (let i = 0; i < 8; i++) kvs.push(kv(`/t/shard/${i}`, owner === null ? 'x:1,' : `${owner},${owner}`));
  return buildSnapshot('/t', 8, kvs, rev);
}

function client(routing: () => ClusterSnapshot, events: RetryEvent[] = [], timeoutMs = 2000): GoverseClient {
  return new GoverseClient({ routing, timeoutMs, retry: { initialBackoffMs: 2, maxBackoffMs: 20 }, onRetry: (e) => events.push(e) });
}

describe('GoverseClient', () => {
  it('sends the call with its remaining deadline and returns the result over one kept-alive connection', async () => {
    const node = await fakeNode((body, res) => reply(res, 200, { result: { echoed: body.args } }));
    const c = client(() => snapshotOf(node.address, [node.address]));
    for (let i = 0; i < 5; i++) expect(await c.call('Echo', `e${i}`, 'echo', { i })).toEqual({ echoed: { i } });
    expect(await c.create('Counter', 'c', { value: 1, recent: [] }).catch((e: unknown) => e)).toBeInstanceOf(RemoteError);
    node.script = (body, res) => reply(res, 200, body.state === undefined ? { existed: true } : { created: true });
    expect(await c.create('Counter', 'c', { value: 1, recent: [] })).toEqual({ created: true });
    expect(await c.delete('Counter', 'c')).toEqual({ existed: true });
    expect(node.connections).toBe(1);
    expect(node.requests[0]).toMatchObject({ type: 'Echo', id: 'e0', method: 'echo', args: { i: 0 } });
    expect(node.requests[0]!.timeoutMs).toBeGreaterThan(1900);
    expect(node.requests[0]!.timeoutMs).toBeLessThanOrEqual(2000);
    await c.close();
  });

  it('retries retriable refusals, re-routing each attempt, until the new owner answers', async () => {
    const oldOwner = await fakeNode((_b, res) => notOwner(res));
    const newOwner = await fakeNode((_b, res) => reply(res, 200, { result: 'ok' }));
    const nodes = [oldOwner.address, newOwner.address];
    const routes = [snapshotOf(oldOwner.address, nodes), snapshotOf(oldOwner.address, nodes), snapshotOf(null, nodes), snapshotOf(newOwner.address, nodes)];
    let asked = 0;
    const events: RetryEvent[] = [];
    const c = client(() => routes[Math.min(asked++, routes.length - 1)]!, events);
    expect(await c.call('Counter', 'c1', 'get')).toBe('ok');
    expect(events.map((e) => (e.error as Error).constructor.name)).toEqual(['RemoteError', 'RemoteError', 'NoRouteError']);
    expect(events.map((e) => e.trace.attempts)).toEqual([1, 2, 3]);
    expect(events.every((e) => (e.error as { retriable: boolean }).retriable)).toBe(true);
    expect(oldOwner.requests).toHaveLength(2);
    expect(newOwner.requests).toHaveLength(1);
    await c.close();
  });

  it('retries a refused connection (a node that just left) and reports the deadline with the last cause', async () => {
    const [port] = await freePorts(1);
    const gone = `127.0.0.1:${port}`;
    const events: RetryEvent[] = [];
    const c = client(() => snapshotOf(gone, [gone]), events, 300);
    const started = performance.now();
    const err = (await c.call('Counter', 'c1', 'get').catch((e: unknown) => e)) as CallTimeoutError;
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(CallTimeoutError);
    expect(err.cause).toBeInstanceOf(NodeUnreachableError);
    expect((err.cause as NodeUnreachableError).socketCode).toBe('ECONNREFUSED');
    expect(err.trace).toMatchObject({ operation: 'call', type: 'Counter', id: 'c1', method: 'get', node: gone });
    expect(err.trace.shard).toBeGreaterThanOrEqual(0);
    expect(err.trace.attempts).toBeGreaterThan(3);
    expect(err.message).toMatch(new RegExp(`^call Counter/c1\\.get \\(shard \\d+, last node ${gone}\\): deadline passed after \\d+ attempts in \\d+ ms; last error: cannot reach node ${gone} \\(ECONNREFUSED\\)$`));
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(2000);
    // One retry event per failed attempt, except when the deadline had passed by the time the last one failed.
    expect([err.trace.attempts - 1, err.trace.attempts]).toContain(events.length);
    await c.close();
  });

  it('ends at once with the node\'s typed error when it is not retriable', async () => {
    const node = await fakeNode((_b, res) =>
      reply(res, 404, { error: { code: 'not_found', message: 'unknown object type "Nope"', retriable: false, name: 'UnknownObjectTypeError' } }),
    );
    const c = client(() => snapshotOf(node.address, [node.address]));
    const err = (await c.call('Nope', 'x', 'm').catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ status: 404, code: 'not_found', remoteName: 'UnknownObjectTypeError', retriable: false });
    expect(err.trace).toMatchObject({ attempts: 1, node: node.address });
    expect(node.requests).toHaveLength(1);
    await c.close();
  });

  it('rejects an invalid ID before sending anything', async () => {
    const node = await fakeNode((_b, res) => reply(res, 200, { result: 1 }));
    const c = client(() => snapshotOf(node.address, [node.address]));
    await expect(c.call('Counter', 'shard#99/x', 'get')).rejects.toBeInstanceOf(InvalidObjectIdError);
    expect(node.requests).toHaveLength(0);
    await c.close();
  });

  it('gives up on a node that does not answer when the deadline passes', async () => {
    const node = await fakeNode(() => undefined);
    const c = client(() => snapshotOf(node.address, [node.address]), [], 200);
    const started = performance.now();
    const err = (await c.call('Counter', 'c1', 'get').catch((e: unknown) => e)) as CallTimeoutError;
    expect(err).toBeInstanceOf(CallTimeoutError);
    expect(err.trace).toMatchObject({ attempts: 1, node: node.address });
    expect(err.message).toMatch(new RegExp(`deadline passed after 1 attempt in \\d+ ms; last error: no reply from ${node.address} before the deadline$`));
    expect(performance.now() - started).toBeLessThan(1500);
    await c.close();
    await node.close();
  });

  it('stops retrying when the caller aborts, reporting the last failure', async () => {
    const events: RetryEvent[] = [];
    const c = client(() => snapshotOf(null, []), events, 10_000);
    const abort = new AbortController();
    const pending = c.call('Counter', 'c1', 'get', {}, { signal: abort.signal }).catch((e: unknown) => e);
    while (events.length < 2) await new Promise((r) => setTimeout(r, 5));
    abort.abort();
    const err = (await pending) as CallAbortedError;
    expect(err).toBeInstanceOf(CallAbortedError);
    expect(err.cause).toBeInstanceOf(NoRouteError);
    expect(err.trace.node).toBeNull();
    expect(err.message).toMatch(/aborted by the caller after \d+ attempts; last error: shard \d+ has no owner/);
    await c.close();
  });
});
