import { describe, expect, it } from 'vitest';
import { NoRouteError } from '../../../src/client/errors.js';
import { routeObject } from '../../../src/client/route.js';
import { InvalidObjectIdError } from '../../../src/core/errors.js';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { fnv1a32 } from '../../../src/core/sharding/hash.js';
import { buildSnapshot, type ClusterSnapshot, type Kv } from '../../../src/core/snapshot/snapshot.js';

const NUM_SHARDS = 16;
let rev = 0;
const kv = (key: string, value: string, lease = '0'): Kv => ({ key, value, modRevision: ++rev, createRevision: rev, lease });
const info = (addr: string, apiUrl = `http://${addr}`): string =>
  encodeRecord({ nodeId: addr, opsUrl: '', apiUrl, version: 't', weight: 1, startedAt: 0, state: 'running' });

/** Nodes a and b alive with nodeinfo, c alive without (an upstream node); shard i's value from `shard`. */
function snapshot(shard: (id: number) => string | undefined): ClusterSnapshot {
  const kvs = [
    kv('/p/nodes/a:1', 'a:1', '1'),
    kv('/p/nodes/b:1', 'b:1', '1'),
    kv('/p/nodes/c:1', 'c:1', '1'),
    kv('/p/nodeinfo/a:1', info('a:1')),
    kv('/p/nodeinfo/b:1', info('b:1', 'http://127.0.0.1:9999')),
  ];
  for (let i = 0; i < NUM_SHARDS; i++) {
    const v = shard(i);
    if (v !== undefined) kvs.push(kv(`/p/shard/${i}`, v));
  }
  return buildSnapshot('/p', NUM_SHARDS, kvs, rev);
}

const shardOf = (id: string): number => fnv1a32(id) % NUM_SHARDS;

describe('routeObject', () => {
  it('sends a regular ID to its shard\'s CurrentNode, at the API URL that node publishes', () => {
    const snap = snapshot((i) => (i % 2 === 0 ? 'a:1,a:1' : 'b:1,b:1'));
    for (const id of ['c1', 'c2', 'user-42', 'ünïcode']) {
      const shard = shardOf(id);
      const node = shard % 2 === 0 ? 'a:1' : 'b:1';
      expect(routeObject(snap, id)).toEqual({ shard, node, apiUrl: node === 'a:1' ? 'http://a:1' : 'http://127.0.0.1:9999' });
    }
  });

  it('follows CurrentNode, not TargetNode, while a shard migrates', () => {
    const snap = snapshot(() => 'b:1,a:1');
    expect(routeObject(snap, 'x')).toMatchObject({ node: 'a:1' });
  });

  it('routes a fixed-shard ID by its shard number', () => {
    const snap = snapshot((i) => (i === 5 ? 'b:1,b:1' : 'a:1,a:1'));
    expect(routeObject(snap, 'shard#5/x')).toEqual({ shard: 5, node: 'b:1', apiUrl: 'http://127.0.0.1:9999' });
    expect(routeObject(snap, 'shard#6/x')).toMatchObject({ shard: 6, node: 'a:1' });
  });

  it('routes a fixed-node ID to its node whatever the shards say', () => {
    const snap = snapshot(() => 'a:1,a:1');
    expect(routeObject(snap, 'b:1/session')).toEqual({ shard: null, node: 'b:1', apiUrl: 'http://127.0.0.1:9999' });
  });

  it('gives a retriable NoRouteError that says why when nobody can serve', () => {
    const cases: [string, (id: number) => string | undefined, string, RegExp][] = [
      ['no key', () => undefined, 'x', /has no owner \(not assigned yet\)/],
      ['released, migrating', () => 'b:1,', 'x', /has no owner \(migrating to b:1\)/],
      ['dead owner', () => 'a:1,gone:1', 'x', /owner gone:1 of shard \d+ is not alive/],
      ['no nodeinfo', () => 'c:1,c:1', 'x', /c:1 publishes no API URL/],
      ['dead fixed node', () => 'a:1,a:1', 'gone:1/x', /node gone:1 of fixed-node object "gone:1\/x" is not alive/],
    ];
    for (const [what, shard, id, message] of cases) {
      const r = routeObject(snapshot(shard), id);
      expect(r, what).toBeInstanceOf(NoRouteError);
      const err = r as NoRouteError;
      expect(err.retriable, what).toBe(true);
      expect(err.message, what).toMatch(message);
      expect(err.shardId, what).toBe(id.includes('/') ? null : shardOf(id));
    }
  });

  it('rejects invalid IDs before routing (not retriable)', () => {
    const snap = snapshot(() => 'a:1,a:1');
    for (const id of ['', 'shard#99/x', 'shard#x/y', '/x', 'shard#3']) {
      expect(() => routeObject(snap, id), JSON.stringify(id)).toThrow(InvalidObjectIdError);
    }
  });
});
