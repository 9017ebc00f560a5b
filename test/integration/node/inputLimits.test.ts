/**
 * Bounds on what a client may store, on a real node: a KeyValue state beyond GOVERSE_KEYVALUE_MAX_BYTES (at
 * creation, or grown by a put) is a 400 `state_too_large` that changes nothing, and an object ID that is not
 * well-formed UTF-16 or holds a control character is a 400 `invalid_object_id` from every endpoint and from the
 * client library, before anything is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GoverseClient } from '../../../src/client/client.js';
import { InvalidObjectIdError } from '../../../src/core/errors.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { clusterClient } from './acceptance.js';

const LIMIT = 4096;

let cluster: NodeCluster;
let node: TestNode;
let client: GoverseClient;

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 1, numShards: 8, label: 'input-limits', env: { GOVERSE_KEYVALUE_MAX_BYTES: String(LIMIT) } });
  await cluster.waitStable();
  node = cluster.node(0);
  client = await clusterClient(cluster);
});

afterAll(async () => {
  await client?.close();
  await cluster?.close();
});

const kv = (id: string, method: string, args: Record<string, unknown> = {}) => node.api('/v1/objects/call', { type: 'KeyValue', id, method, args });

describe('KeyValue byte limit', () => {
  it('refuses a creation whose state is over the limit (400 state_too_large) and creates nothing', async () => {
    const big = { entries: { a: 'x'.repeat(LIMIT) } };
    const refused = await node.api('/v1/objects/create', { type: 'KeyValue', id: 'created-big', state: big });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: { code: 'state_too_large', retriable: false, message: expect.stringMatching(/KeyValue state would be \d+ bytes, more than the limit of 4096 bytes/) },
    });
    expect((await kv('created-big', 'keys')).body).toEqual({ result: { keys: [] } });

    const fits = { entries: { a: 'x'.repeat(LIMIT - 100) } };
    expect((await node.api('/v1/objects/create', { type: 'KeyValue', id: 'created-ok', state: fits })).body).toEqual({ created: true });
  });

  it('refuses a put that would grow the state past the limit (400) and keeps the state as it was', async () => {
    expect((await kv('grown', 'put', { key: 'a', value: 'y'.repeat(3000) })).status).toBe(200);
    const refused = await kv('grown', 'put', { key: 'b', value: 'z'.repeat(2000) });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: { code: 'state_too_large', retriable: false } });
    expect((await kv('grown', 'keys')).body).toEqual({ result: { keys: ['a'] } });
    // Shrinking, and growing within the limit, still work.
    expect((await kv('grown', 'put', { key: 'a', value: 'short' })).status).toBe(200);
    expect((await kv('grown', 'put', { key: 'b', value: 'z'.repeat(2000) })).status).toBe(200);
  });
});

describe('object IDs', () => {
  const bad: [string, string][] = [
    ['a lone surrogate', 'user-\ud800'],
    ['a lone low surrogate', '\udc00'],
    ['NUL', 'user\u00001'],
    ['ESC (a terminal escape)', 'x\u001b]0;owned\u0007'],
    ['DEL', 'user\u007f'],
    ['C1 (CSI)', 'user\u009b2J'],
  ];

  it.each(bad)('%s is a 400 invalid_object_id on call, create and delete', async (_what, id) => {
    for (const [path, body] of [
      ['/v1/objects/call', { type: 'Counter', id, method: 'increment' }],
      ['/v1/objects/create', { type: 'Counter', id }],
      ['/v1/objects/delete', { type: 'Counter', id }],
    ] as const) {
      const res = await node.api(path, body);
      expect(res.status, path).toBe(400);
      expect(res.body, path).toMatchObject({ error: { code: 'invalid_object_id', retriable: false } });
      expect(String((res.body.error as { message: string }).message)).toMatch(/(control character|lone surrogate) U\+[0-9A-F]{4} at index \d+/);
    }
    await expect(client.call('Counter', id, 'increment')).rejects.toBeInstanceOf(InvalidObjectIdError);
  });

  it('well-formed non-ASCII IDs are served', async () => {
    expect((await node.api('/v1/objects/call', { type: 'Counter', id: 'user-é🙂\u00a0中', method: 'increment' })).body).toEqual({ result: { value: 1 } });
  });
});
