import { describe, expect, it } from 'vitest';
import { AbortedError, InternalError, InvalidArgumentError, InvalidObjectIdError, NotOwnerError, TimeoutError } from '../../../../src/core/errors.js';
import { shardOfObject } from '../../../../src/core/sharding/objectId.js';
import { ActivationRefusedError, UnknownMethodError, UnknownObjectTypeError } from '../../../../src/node/objects/errors.js';
import type { JsonValue } from '../../../../src/core/api/json.js';
import { ObjectRegistry } from '../../../../src/node/objects/registry.js';
import { PersistenceError, StaleEpochError } from '../../../../src/node/persistence/errors.js';
import { MemoryObjectStore } from '../../../../src/node/persistence/memoryObjectStore.js';
import type { ObjectStore } from '../../../../src/node/persistence/objectStore.js';
import { deferred, FakeGate, makeHost, NUM_SHARDS, settle, type Deferred } from './hostFixture.js';

/** The first `<prefix>-<i>` that hashes to `shard`. */
function idInShard(shard: number, prefix = 'obj'): string {
  for (let i = 0; ; i++) if (shardOfObject(`${prefix}-${i}`, NUM_SHARDS) === shard) return `${prefix}-${i}`;
}

/** A type whose `step` calls record their start and end and wait until the test lets them finish. */
function probeRegistry(log: string[], gates: Map<string, Deferred>): ObjectRegistry {
  const registry = new ObjectRegistry();
  registry.register<number>('Probe', {
    persistence: { kind: 'transient' },
    initialState: () => 0,
    parseState: (v) => v as number,
    methods: {
      step: async (state, args, ctx) => {
        const tag = `${ctx.id}:${String(args.n)}`;
        log.push(`start ${tag}`);
        await gates.get(tag)?.promise;
        log.push(`end ${tag}`);
        return { result: state + 1, state: state + 1 };
      },
      boom: async () => {
        throw new Error('plain failure');
      },
    },
  });
  return registry;
}

/** A host with the Probe type whose first call, `step` n=1 on Probe/a, is running and blocked until released. */
async function hostWithBlockedCall() {
  const log: string[] = [];
  const gate = deferred();
  const fixture = makeHost({ registry: probeRegistry(log, new Map([['a:1', gate]])) });
  const first = fixture.host.call('Probe', 'a', 'step', { n: 1 });
  await settle();
  return { ...fixture, log, first, unblock: () => gate.resolve() };
}

/** A store whose saves can be made to fail. */
class FlakyStore extends MemoryObjectStore {
  failSaves = false;
  override async save(key: { type: string; id: string }, epoch: number, state: string): Promise<void> {
    if (this.failSaves) throw new PersistenceError('disk on fire', { retriable: true });
    return super.save(key, epoch, state);
  }
}

describe('ObjectHost: per-object serialization', () => {
  it('runs calls to one object one at a time in arrival order, and other objects concurrently', async () => {
    const log: string[] = [];
    const gates = new Map(['a:1', 'a:2', 'a:3'].map((t) => [t, deferred()]));
    const { host } = makeHost({ registry: probeRegistry(log, gates) });

    const calls = [1, 2, 3].map((n) => host.call('Probe', 'a', 'step', { n }));
    await settle();
    expect(log).toEqual(['start a:1']);
    // Another object is not held up by a's queue.
    expect(await host.call('Probe', 'b', 'step', { n: 1 })).toBe(1);

    gates.get('a:1')!.resolve();
    await settle();
    expect(log.filter((l) => l.includes('a:'))).toEqual(['start a:1', 'end a:1', 'start a:2']);
    gates.get('a:2')!.resolve();
    gates.get('a:3')!.resolve();
    expect(await Promise.all(calls)).toEqual([1, 2, 3]);
    expect(log.filter((l) => l.includes('a:'))).toEqual(['start a:1', 'end a:1', 'start a:2', 'end a:2', 'start a:3', 'end a:3']);
  });

  it('a queued call gives up at its deadline or abort without blocking the queue', async () => {
    const { host, clock, log, first, unblock } = await hostWithBlockedCall();
    const timedOut = host.call('Probe', 'a', 'step', { n: 2 }, { deadline: clock.monotonic() + 20 });
    const controller = new AbortController();
    const aborted = host.call('Probe', 'a', 'step', { n: 3 }, { signal: controller.signal });
    const last = host.call('Probe', 'a', 'step', { n: 4 });
    await expect(timedOut).rejects.toBeInstanceOf(TimeoutError);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);

    unblock();
    expect(await first).toBe(1);
    expect(await last).toBe(2);
    expect(log).toEqual(['start a:1', 'end a:1', 'start a:4', 'end a:4']);
  });
});

describe('ObjectHost: the signal a method gets', () => {
  it('aborts when the caller gives up or when the shard lock is taken away', async () => {
    const registry = new ObjectRegistry();
    registry.register<null>('Waiter', {
      persistence: { kind: 'transient' },
      initialState: () => null,
      parseState: () => null,
      methods: {
        wait: (_state, _args, ctx) =>
          new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ result: String(ctx.signal.reason) }), { once: true })),
      },
    });
    const { host, gate } = makeHost({ registry });
    const caller = new AbortController();
    const byCaller = host.call('Waiter', 'w1', 'wait', {}, { signal: caller.signal });
    await settle();
    caller.abort('the caller gave up');
    expect(await byCaller).toBe('the caller gave up');

    const byLock = host.call('Waiter', 'w2', 'wait', {}, { signal: new AbortController().signal });
    await settle();
    gate.leases.at(-1)!.abort('the lock was taken away');
    expect(await byLock).toBe('the lock was taken away');
  });
});

describe('ObjectHost: activation and deactivation', () => {
  it('activates on first call under the shard epoch and records it', async () => {
    const { host, gate, events } = makeHost();
    gate.defaultEpoch = 7;
    expect(await host.call('Counter', 'c1', 'increment', {})).toEqual({ value: 1 });
    expect(await host.call('Counter', 'c1', 'increment', {})).toEqual({ value: 2 });
    expect(events.events).toEqual([
      {
        event: 'activated',
        reason: 'call',
        time: 1_700_000_000_000,
        node: 'node-a',
        type: 'Counter',
        id: 'c1',
        shard: shardOfObject('c1', NUM_SHARDS),
        epoch: 7,
      },
    ]);
    // The read lock was taken for each call and released after it.
    expect(gate.acquired).toEqual([shardOfObject('c1', NUM_SHARDS), shardOfObject('c1', NUM_SHARDS)]);
    expect([...gate.readers.values()].every((n) => n === 0)).toBe(true);
  });

  it('loads stored state on activation', async () => {
    const store = new MemoryObjectStore();
    await store.load({ type: 'Counter', id: 'c1' }, 1, JSON.stringify({ value: 41, recent: [] }));
    const { host } = makeHost({ store });
    expect(await host.call('Counter', 'c1', 'add', { amount: 1 })).toEqual({ value: 42 });
  });

  it('evicts a shard: saves on-deactivate state, drops the objects, and a later call reloads it', async () => {
    const store = new MemoryObjectStore();
    const { host, events, clock } = makeHost({ store });
    const id = idInShard(3, 'kv');
    const other = idInShard(4, 'kv');
    await host.call('KeyValue', id, 'put', { key: 'k', value: [1, 2] });
    await host.call('KeyValue', other, 'put', { key: 'k', value: 'v' });
    // On-deactivate: nothing written yet beyond the activation's row.
    expect(JSON.parse(store.peek({ type: 'KeyValue', id })!.state)).toEqual({ entries: {} });

    clock.wall += 500;
    expect(await host.evictShard(3, { kind: 'save' })).toEqual({ deactivated: 1, failed: [] });
    expect(JSON.parse(store.peek({ type: 'KeyValue', id })!.state)).toEqual({ entries: { k: [1, 2] } });
    expect(host.stats().objectsByShard).toEqual(new Map([[4, 1]]));
    expect(events.events.at(-1)).toMatchObject({ event: 'deactivated', reason: 'evicted', saved: true, id, time: clock.wall });

    expect(await host.call('KeyValue', id, 'get', { key: 'k' })).toEqual({ found: true, value: [1, 2] });
    expect(events.summary().filter((s) => s.includes(id))).toEqual([
      `activated:KeyValue/${id}:call`,
      `deactivated:KeyValue/${id}:evicted:saved=true`,
      `activated:KeyValue/${id}:call`,
    ]);
  });

  it('keeps an object whose save fails, reports it, and evicts it once saving works', async () => {
    const store = new FlakyStore();
    const { host, events } = makeHost({ store });
    const id = idInShard(9, 'kv');
    await host.call('KeyValue', id, 'put', { key: 'k', value: 1 });
    await host.call('Echo', idInShard(9, 'echo'), 'echo', {});

    store.failSaves = true;
    const report = await host.evictShard(9, { kind: 'save' });
    expect(report.deactivated).toBe(1); // the Echo object
    expect(report.failed).toEqual([{ type: 'KeyValue', id, error: expect.any(PersistenceError) }]);
    expect(host.stats().objectsByShard.get(9)).toBe(1);
    expect(events.summary().some((s) => s.startsWith(`deactivated:KeyValue/${id}`))).toBe(false);
    // Still served, with its unsaved change.
    expect(await host.call('KeyValue', id, 'get', { key: 'k' })).toEqual({ found: true, value: 1 });

    store.failSaves = false;
    expect(await host.evictShard(9, { kind: 'save' })).toEqual({ deactivated: 1, failed: [] });
    expect(JSON.parse(store.peek({ type: 'KeyValue', id })!.state)).toEqual({ entries: { k: 1 } });
  });

  it('eviction waits for the calls already queued on an object', async () => {
    const { host, events, first, unblock } = await hostWithBlockedCall();
    const eviction = host.evictAll({ kind: 'save' });
    await settle();
    expect(events.summary()).toEqual(['activated:Probe/a:call']);
    unblock();
    expect(await first).toBe(1);
    expect(await eviction).toEqual({ deactivated: 1, failed: [] });
    expect(events.summary()).toEqual(['activated:Probe/a:call', 'deactivated:Probe/a:shutdown:saved=false']);
  });

  it('an eviction whose wait for the queue runs out keeps the object', async () => {
    const { host, clock, first, unblock } = await hostWithBlockedCall();
    const report = await host.evictAll({ kind: 'save' }, { deadline: clock.monotonic() + 10 });
    expect(report.failed).toEqual([{ type: 'Probe', id: 'a', error: expect.any(TimeoutError) }]);
    unblock();
    await first;
    expect(host.stats().objectsByType.get('Probe')).toBe(1);
  });

  it('fenced eviction drops everything at once, dated at the fence time, saving only what the epoch guard lets through', async () => {
    const store = new MemoryObjectStore();
    const { host, events, clock } = makeHost({ store });
    await host.call('KeyValue', 'kv', 'put', { key: 'k', value: 1 });
    await host.call('KeyValue', 'taken', 'put', { key: 'k', value: 2 });
    await host.call('Counter', 'c', 'add', { amount: 5 });
    // A newer owner (epoch 2) has activated `taken` elsewhere: this node's copy must not overwrite it.
    await store.load({ type: 'KeyValue', id: 'taken' }, 2, '{}');
    const fencedAt = clock.wall + 10;
    clock.wall += 60_000; // the process was frozen; eviction runs long after the fence
    expect(await host.evictAll({ kind: 'fenced', fencedAt })).toEqual({ deactivated: 3, failed: [] });
    expect(host.stats().objectsByType.size).toBe(0);
    const deactivations = events.events.filter((e) => e.event === 'deactivated');
    expect(deactivations).toHaveLength(3);
    expect(deactivations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'kv', reason: 'fenced', saved: true, time: fencedAt }),
        expect.objectContaining({ id: 'taken', reason: 'fenced', saved: false, time: fencedAt }),
        expect.objectContaining({ id: 'c', reason: 'fenced', saved: true, time: fencedAt }),
      ]),
    );
    // A spurious fence loses nothing acknowledged; a real one overwrites nothing.
    expect(JSON.parse(store.peek({ type: 'KeyValue', id: 'kv' })!.state)).toEqual({ entries: { k: 1 } });
    expect(JSON.parse(store.peek({ type: 'KeyValue', id: 'taken' })!.state)).toEqual({ entries: {} });
    expect(JSON.parse(store.peek({ type: 'Counter', id: 'c' })!.state).value).toBe(5);
  });

  it('a call running when the node is fenced does not acknowledge its change', async () => {
    const { host, gate, clock, first, unblock } = await hostWithBlockedCall();
    gate.defaultEpoch = null;
    await host.evictAll({ kind: 'fenced', fencedAt: clock.now() });
    unblock();
    await expect(first).rejects.toBeInstanceOf(NotOwnerError);
  });

  it('an object whose shard epoch changed under it is saved and reloaded under the new epoch', async () => {
    const { host, gate, events } = makeHost();
    await host.call('KeyValue', 'kv', 'put', { key: 'k', value: 1 });
    gate.defaultEpoch = 3;
    expect(await host.call('KeyValue', 'kv', 'get', { key: 'k' })).toEqual({ found: true, value: 1 });
    expect(events.events.map((e) => [e.event, e.reason, e.epoch])).toEqual([
      ['activated', 'call', 1],
      ['deactivated', 'epoch-changed', 1],
      ['activated', 'call', 3],
    ]);
  });

  it('create activates with an initial state once; delete removes the stored state', async () => {
    const store = new MemoryObjectStore();
    const { host, events } = makeHost({ store });
    expect(await host.create('Counter', 'c', { value: 10, recent: [] })).toEqual({ created: true });
    expect(await host.create('Counter', 'c', { value: 99, recent: [] })).toEqual({ created: false });
    expect(await host.call('Counter', 'c', 'get')).toEqual({ value: 10 });
    await expect(host.create('Counter', 'd', { value: 'x' })).rejects.toBeInstanceOf(InvalidArgumentError);

    expect(await host.delete('Counter', 'c')).toEqual({ existed: true });
    expect(store.peek({ type: 'Counter', id: 'c' })).toBeUndefined();
    expect(host.stats().objectsByType.size).toBe(0);
    expect(await host.call('Counter', 'c', 'get')).toEqual({ value: 0 });
    expect(events.summary().slice(0, 2)).toEqual(['activated:Counter/c:create', 'deactivated:Counter/c:deleted:saved=false']);
    expect(await host.delete('Counter', 'never')).toEqual({ existed: false });
    expect(store.peek({ type: 'Counter', id: 'never' })).toBeUndefined();
  });

  it('records events even when the sink fails, by logging instead', async () => {
    const { host, logs } = makeHost();
    const failing = makeHost({ store: new MemoryObjectStore() });
    failing.events.record = () => {
      throw new Error('disk full');
    };
    await failing.host.call('Echo', 'e', 'echo', {});
    expect(failing.logs.find((r) => r.msg === 'cannot record an object lifecycle event')).toBeDefined();
    await host.call('Echo', 'e', 'echo', {});
    expect(logs.records).toEqual([]);
  });
});

describe('ObjectHost: write-through and idempotence', () => {
  it('applies a request ID once, and the stored copy remembers it across a migration', async () => {
    const store = new MemoryObjectStore();
    const a = makeHost({ store });
    expect(await a.host.call('Counter', 'c', 'add', { amount: 5, requestId: 'r1' })).toEqual({ value: 5 });
    expect(await a.host.call('Counter', 'c', 'add', { amount: 5, requestId: 'r1' })).toEqual({ value: 5 });
    expect(await a.host.call('Counter', 'c', 'increment', { requestId: 'r2' })).toEqual({ value: 6 });
    await a.host.evictAll({ kind: 'save' });

    // The shard moved to node-b with a newer epoch: a retried r1 still returns its first result.
    const gate = new FakeGate('node-b');
    gate.defaultEpoch = 2;
    const b = makeHost({ store, gate });
    expect(await b.host.call('Counter', 'c', 'add', { amount: 5, requestId: 'r1' })).toEqual({ value: 5 });
    expect(await b.host.call('Counter', 'c', 'get')).toEqual({ value: 6 });
  });

  it('remembers a bounded number of request IDs', async () => {
    const { host } = makeHost();
    await host.call('Counter', 'c', 'add', { amount: 1, requestId: 'old' });
    for (let i = 0; i < 128; i++) await host.call('Counter', 'c', 'add', { amount: 1, requestId: `r${i}` });
    // 'old' has been pushed out of the window, so it is applied again.
    expect(await host.call('Counter', 'c', 'add', { amount: 1, requestId: 'old' })).toEqual({ value: 130 });
    expect(await host.call('Counter', 'c', 'add', { amount: 1, requestId: 'r127' })).toEqual({ value: 129 });
  });

  it('a failed write-through save fails the call and keeps the old state', async () => {
    const store = new FlakyStore();
    const { host } = makeHost({ store });
    await host.call('Counter', 'c', 'add', { amount: 1, requestId: 'a' });
    store.failSaves = true;
    await expect(host.call('Counter', 'c', 'add', { amount: 1, requestId: 'b' })).rejects.toMatchObject({
      code: 'persistence',
      retriable: true,
    });
    store.failSaves = false;
    expect(await host.call('Counter', 'c', 'get')).toEqual({ value: 1 });
    expect(await host.call('Counter', 'c', 'add', { amount: 1, requestId: 'b' })).toEqual({ value: 2 });
  });

  it('a former owner cannot write once a newer owner activated the object', async () => {
    const store = new MemoryObjectStore();
    const a = makeHost({ store });
    await a.host.call('Counter', 'c', 'add', { amount: 1 });
    // node-b claims the shard with epoch 2 while node-a (frozen) still believes it owns it with epoch 1.
    const gateB = new FakeGate('node-b');
    gateB.defaultEpoch = 2;
    const b = makeHost({ store, gate: gateB });
    expect(await b.host.call('Counter', 'c', 'add', { amount: 10 })).toEqual({ value: 11 });

    const err = await a.host.call('Counter', 'c', 'add', { amount: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleEpochError);
    expect((err as StaleEpochError).retriable).toBe(true);
    expect(a.events.summary().at(-1)).toBe('deactivated:Counter/c:superseded:saved=false');
    expect(a.host.stats().objectsByType.size).toBe(0);
    // Activation under the stale epoch is refused as well.
    await expect(a.host.call('Counter', 'c', 'get')).rejects.toBeInstanceOf(StaleEpochError);
    expect(await b.host.call('Counter', 'c', 'get')).toEqual({ value: 11 });
  });

  it('a copy superseded while its process was frozen between the ownership check and the write ends at the check', async () => {
    const store = new MemoryObjectStore();
    const a = makeHost({ store });
    await a.host.call('Counter', 'c', 'add', { amount: 1 });
    const gateB = new FakeGate('node-b');
    gateB.defaultEpoch = 2;
    const b = makeHost({ store, gate: gateB });
    const confirmedAt = a.clock.wall;
    const save = store.save.bind(store);
    store.save = async (key, epoch, state) => {
      a.clock.wall += 5000; // node-a stops here, past its fence, while node-b takes the object over
      await b.host.call('Counter', 'c', 'get');
      return save(key, epoch, state);
    };
    await expect(a.host.call('Counter', 'c', 'add', { amount: 1 })).rejects.toBeInstanceOf(StaleEpochError);
    expect(a.events.events.at(-1)).toMatchObject({ event: 'deactivated', reason: 'superseded', time: confirmedAt });
  });
});

describe('ObjectHost: ownership gate', () => {
  it('refuses objects of shards it does not own with a retriable NotOwnerError, activating nothing', async () => {
    const store = new MemoryObjectStore();
    const { host, gate, events } = makeHost({ store });
    const id = idInShard(12);
    gate.epochs.set(12, null);
    const err = await host.call('Counter', id, 'increment').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotOwnerError);
    expect(err).toMatchObject({ retriable: true, shardId: 12 });
    await expect(host.create('Counter', id)).rejects.toBeInstanceOf(NotOwnerError);
    expect(events.events).toEqual([]);
    expect(store.peek({ type: 'Counter', id })).toBeUndefined();
    expect(gate.readers.get(12)).toBe(0);
  });

  it('gates fixed-shard objects by their shard like regular ones', async () => {
    const { host, gate } = makeHost();
    gate.epochs.set(5, null);
    await expect(host.call('Counter', 'shard#5/x', 'increment')).rejects.toMatchObject({ code: 'not_owner', shardId: 5 });
    expect(gate.acquired).toEqual([5]);

    gate.epochs.set(5, 4);
    expect(await host.call('Counter', 'shard#5/x', 'increment')).toEqual({ value: 1 });
    expect(host.stats().objectsByShard).toEqual(new Map([[5, 1]]));
    expect(await host.evictShard(5, { kind: 'save' })).toEqual({ deactivated: 1, failed: [] });
    expect(host.stats().objectsByShard.size).toBe(0);
  });

  it('exempts fixed-node objects from shard gating but serves only its own, under the node epoch', async () => {
    const { host, gate, events } = makeHost();
    gate.defaultEpoch = null; // owns no shard at all
    gate.node = 11;
    expect(await host.call('Counter', 'node-a/local', 'increment')).toEqual({ value: 1 });
    expect(gate.acquired).toEqual([]);
    expect(events.events[0]).toMatchObject({ shard: null, epoch: 11 });
    expect(host.stats()).toMatchObject({ nodeObjects: 1, nodeCalls: 1 });

    await expect(host.call('Counter', 'node-b/remote', 'increment')).rejects.toBeInstanceOf(NotOwnerError);
    gate.node = null;
    await expect(host.call('Counter', 'node-a/local', 'increment')).rejects.toBeInstanceOf(NotOwnerError);

    // Shard eviction leaves it; evictAll takes it.
    gate.node = 11;
    for (let s = 0; s < NUM_SHARDS; s++) await host.evictShard(s, { kind: 'save' });
    expect(host.stats().nodeObjects).toBe(1);
    await host.evictAll({ kind: 'save' });
    expect(host.stats().nodeObjects).toBe(0);
  });
});

describe('ObjectHost: creation refusal', () => {
  it('refuses new activations at once while active objects keep serving and running calls complete', async () => {
    const log: string[] = [];
    const gates = new Map([['a:2', deferred()]]);
    const { host } = makeHost({ registry: probeRegistry(log, gates) });
    await host.call('Probe', 'a', 'step', { n: 1 });
    const running = host.call('Probe', 'a', 'step', { n: 2 });
    await settle();

    host.refuseActivations();
    expect(host.stats().activations).toBe('refusing');
    const refused = await host.call('Probe', 'b', 'step', { n: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ActivationRefusedError);
    expect(refused).toMatchObject({ retriable: true, code: 'not_owner' });
    await expect(host.create('Probe', 'c')).rejects.toBeInstanceOf(ActivationRefusedError);

    const queued = host.call('Probe', 'a', 'step', { n: 3 });
    gates.get('a:2')!.resolve();
    expect(await running).toBe(2);
    expect(await queued).toBe(3);

    host.acceptActivations();
    expect(await host.call('Probe', 'b', 'step', { n: 1 })).toBe(1);
  });
});

describe('ObjectHost: validation', () => {
  it('rejects unknown types and methods, bad arguments and invalid IDs with typed errors', async () => {
    const { host, events } = makeHost();
    await expect(host.call('Nope', 'x', 'get')).rejects.toBeInstanceOf(UnknownObjectTypeError);
    await expect(host.call('Counter', 'x', 'explode')).rejects.toBeInstanceOf(UnknownMethodError);
    await expect(host.call('Counter', 'x', 'constructor')).rejects.toBeInstanceOf(UnknownMethodError);
    await expect(host.call('Counter', 'x', 'add', [1] as JsonValue)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(host.call('Counter', 'x', 'add', { amount: 'one' })).rejects.toMatchObject({
      code: 'invalid_argument',
      argument: 'amount',
    });
    await expect(host.call('Counter', 'x', 'add', { amout: 1 })).rejects.toMatchObject({ argument: 'amout' });
    await expect(host.call('Counter', 'shard#99/x', 'get')).rejects.toBeInstanceOf(InvalidObjectIdError);
    await expect(host.call('Counter', '', 'get')).rejects.toBeInstanceOf(InvalidObjectIdError);
    await expect(host.delete('Nope', 'x')).rejects.toBeInstanceOf(UnknownObjectTypeError);
    expect(await host.call('Counter', 'x', 'get')).toEqual({ value: 0 });
    expect(events.events).toHaveLength(1);
  });

  it('wraps an untyped method failure in InternalError and keeps serving', async () => {
    const { host } = makeHost({ registry: probeRegistry([], new Map()) });
    await expect(host.call('Probe', 'a', 'boom')).rejects.toBeInstanceOf(InternalError);
    expect(await host.call('Probe', 'a', 'step', { n: 1 })).toBe(1);
  });

  it('reports a corrupt stored state as a PersistenceError', async () => {
    const store: ObjectStore = new MemoryObjectStore();
    await store.load({ type: 'Counter', id: 'bad' }, 1, '{"value":"many"}');
    const { host } = makeHost({ store });
    await expect(host.call('Counter', 'bad', 'get')).rejects.toMatchObject({ code: 'persistence', retriable: false });
  });
});

describe('ObjectHost: stats', () => {
  it('counts objects per shard and type, and calls per shard', async () => {
    const { host } = makeHost();
    const a = idInShard(1, 'a');
    const b = idInShard(1, 'b');
    const c = idInShard(2, 'c');
    await host.call('Counter', a, 'increment');
    await host.call('Counter', a, 'increment');
    await host.call('Echo', b, 'echo', { hi: 1 });
    await host.call('KeyValue', c, 'keys');
    await host.call('Echo', 'node-a/e', 'echo');
    expect(host.stats()).toMatchObject({
      objectsByShard: new Map([
        [1, 2],
        [2, 1],
      ]),
      objectsByType: new Map([
        ['Counter', 1],
        ['Echo', 2],
        ['KeyValue', 1],
      ]),
      nodeObjects: 1,
      callsByShard: new Map([
        [1, 3],
        [2, 1],
      ]),
      nodeCalls: 1,
      activations: 'accepting',
    });
  });
});

describe('ObjectHost: placement under the shard lock', () => {
  it('follows an object to the other shard of its pair when a split or merge moved it while the call waited', async () => {
    const shards = [3, 35];
    const { host, gate } = makeHost({ place: () => ({ kind: 'shard', shardId: shards.length > 1 ? shards.shift()! : shards[0]! }) });
    expect(await host.call('Counter', 'moved', 'add', { amount: 1 })).toEqual({ value: 1 });
    expect(gate.acquired).toEqual([3, 35]);
    expect(gate.readers.get(3)).toBe(0);
    expect(host.stats().objectsByShard).toEqual(new Map([[35, 1]]));
  });

  it('gives up retriably when the placement keeps changing', async () => {
    let flip = 0;
    const { host } = makeHost({ place: () => ({ kind: 'shard', shardId: flip++ % 2 === 0 ? 3 : 35 }) });
    await expect(host.call('Counter', 'restless', 'add', { amount: 1 })).rejects.toMatchObject({ code: 'not_owner', retriable: true });
  });
});
