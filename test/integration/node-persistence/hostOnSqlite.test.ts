import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { placeObject, shardOfObject } from '../../../src/core/sharding/objectId.js';
import { registerBuiltinTypes } from '../../../src/node/objects/builtins/index.js';
import type { ObjectLifecycleEvent } from '../../../src/node/objects/lifecycleLog.js';
import { LifecycleLogFile } from '../../../src/node/objects/lifecycleLogFile.js';
import { ObjectHost } from '../../../src/node/objects/objectHost.js';
import { ObjectRegistry } from '../../../src/node/objects/registry.js';
import { StaleEpochError } from '../../../src/node/persistence/errors.js';
import { SqliteObjectStore } from '../../../src/node/persistence/sqliteObjectStore.js';
import type { Clock } from '../../../src/core/clock.js';
import { FakeGate, ManualClock, NUM_SHARDS } from '../../unit/node/objects/hostFixture.js';
import { join, useTempDirs } from './tempDir.js';

const tempDir = useTempDirs();

interface Node {
  host: ObjectHost;
  gate: FakeGate;
  log: LifecycleLogFile;
  store: SqliteObjectStore;
}

/**
 * Objects active on two nodes at overlapping times, from the nodes' JSON-lines logs, as the chaos checker reads them.
 * Intervals that only touch (same millisecond) do not overlap.
 */
function overlaps(paths: string[]): string[] {
  const events = paths
    .flatMap((p) => readFileSync(p, 'utf8').split('\n').filter((l) => l !== ''))
    .map((l) => JSON.parse(l) as ObjectLifecycleEvent);
  const intervals = new Map<string, { node: string; from: number; to: number }[]>();
  const open = new Map<string, number>();
  for (const e of events) {
    const key = `${e.node} ${e.type}/${e.id}`;
    if (e.event === 'activated') open.set(key, e.time);
    else {
      const list = intervals.get(`${e.type}/${e.id}`) ?? [];
      list.push({ node: e.node, from: open.get(key)!, to: e.time });
      intervals.set(`${e.type}/${e.id}`, list);
      open.delete(key);
    }
  }
  const found: string[] = [];
  for (const [object, list] of intervals) {
    for (const a of list) for (const b of list) if (a.node < b.node && a.from < b.to && b.from < a.to) found.push(object);
  }
  return found;
}

describe('ObjectHost on a shared SQLite file', () => {
  const nodes: Node[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      n.log.close();
      await n.store.close();
    }
  });

  function startNode(dir: string, address: string, epoch: number, clock?: Clock): Node {
    const registry = new ObjectRegistry();
    registerBuiltinTypes(registry, { keyValue: { maxBytes: 1024 * 1024 } });
    const gate = new FakeGate(address);
    gate.defaultEpoch = epoch;
    const store = SqliteObjectStore.open(join(dir, 'objects.db'));
    const log = new LifecycleLogFile(join(dir, `${address}.events.jsonl`));
    const node = { host: new ObjectHost({ registry, store, gate, events: log, place: (id) => placeObject(id, NUM_SHARDS), clock }), gate, log, store };
    nodes.push(node);
    return node;
  }

  it('a migrated counter keeps every acknowledged increment, and its stale former owner cannot write', async () => {
    const dir = tempDir();
    const a = startNode(dir, 'node-a', 10);
    const shard = shardOfObject('c', NUM_SHARDS);
    for (let i = 0; i < 20; i++) await a.host.call('Counter', 'c', 'increment', { requestId: `r${i}` });
    await a.host.call('KeyValue', 'kv', 'put', { key: 'k', value: 'v' });
    expect(await a.host.evictShard(shard, { kind: 'save' })).toEqual({ deactivated: 1, failed: [] });
    await a.host.evictShard(shardOfObject('kv', NUM_SHARDS), { kind: 'save' });

    // node-b claims the shards with a newer epoch; node-a is frozen and still believes it owns them.
    const b = startNode(dir, 'node-b', 12);
    expect(await b.host.call('Counter', 'c', 'increment', { requestId: 'r19' })).toEqual({ value: 20 });
    expect(await b.host.call('Counter', 'c', 'increment', { requestId: 'r20' })).toEqual({ value: 21 });
    expect(await b.host.call('KeyValue', 'kv', 'get', { key: 'k' })).toEqual({ found: true, value: 'v' });
    await expect(a.host.call('Counter', 'c', 'increment', { requestId: 'r99' })).rejects.toBeInstanceOf(StaleEpochError);

    await b.host.evictAll({ kind: 'fenced', fencedAt: Date.now() });
    const c = startNode(dir, 'node-c', 15);
    expect(await c.host.call('Counter', 'c', 'get')).toEqual({ value: 21 });
    await c.host.evictAll({ kind: 'save' });

    expect(overlaps(nodes.map((n) => n.log.path))).toEqual([]);
  });

  it('the overlap check used above does catch two live copies', async () => {
    const dir = tempDir();
    const clock = new ManualClock();
    const a = startNode(dir, 'node-a', 10, clock);
    const b = startNode(dir, 'node-b', 12, clock);
    await a.host.call('Echo', 'e', 'echo');
    clock.wall += 1;
    await b.host.call('Echo', 'e', 'echo'); // transient: nothing fences it, and the gate is fake
    clock.wall += 1;
    await a.host.evictAll({ kind: 'save' });
    await b.host.evictAll({ kind: 'save' });
    expect(overlaps(nodes.map((n) => n.log.path))).toEqual(['Echo/e']);
  });
});
