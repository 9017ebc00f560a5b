import type { Clock } from '../../../../src/core/clock.js';
import { type ObjectPlacement, placeObject } from '../../../../src/core/sharding/objectId.js';
import { createLogger, MemorySink } from '../../../../src/core/log/logger.js';
import { registerBuiltinTypes } from '../../../../src/node/objects/builtins/index.js';
import type { LifecycleSink, ObjectLifecycleEvent } from '../../../../src/node/objects/lifecycleLog.js';
import { ObjectHost } from '../../../../src/node/objects/objectHost.js';
import { ObjectRegistry } from '../../../../src/node/objects/registry.js';
import type { ShardGate, ShardReadLease } from '../../../../src/node/objects/shardGate.js';
import type { WaitOptions } from '../../../../src/node/objects/waitOptions.js';
import { MemoryObjectStore } from '../../../../src/node/persistence/memoryObjectStore.js';
import type { ObjectStore } from '../../../../src/node/persistence/objectStore.js';

export const NUM_SHARDS = 64;

/** Ownership as the cluster runtime would report it, plus a record of the read locks taken. */
export class FakeGate implements ShardGate {
  /** Epoch for shards without an explicit entry; null = owns nothing else. */
  defaultEpoch: number | null = 1;
  node: number | null = 1;
  readonly epochs = new Map<number, number | null>();
  readonly acquired: number[] = [];
  readonly readers = new Map<number, number>();
  /** The lock-loss controller of every lease handed out, in order (abort one to take its lock away). */
  readonly leases: AbortController[] = [];

  constructor(readonly nodeAddress = 'node-a') {}

  shardEpoch(shardId: number): number | null {
    const explicit = this.epochs.get(shardId);
    return explicit === undefined ? this.defaultEpoch : explicit;
  }

  nodeEpoch(): number | null {
    return this.node;
  }

  async acquireRead(shardId: number, _options: WaitOptions): Promise<ShardReadLease> {
    this.acquired.push(shardId);
    this.readers.set(shardId, (this.readers.get(shardId) ?? 0) + 1);
    let held = true;
    const lost = new AbortController();
    this.leases.push(lost);
    return {
      signal: lost.signal,
      release: () => {
        if (!held) return;
        held = false;
        this.readers.set(shardId, this.readers.get(shardId)! - 1);
      },
    };
  }
}

/** Wall-clock time under test control; monotonic time is real so that deadlines still fire. */
export class ManualClock implements Clock {
  constructor(public wall = 1_700_000_000_000) {}
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return performance.now();
  }
}

export class EventRecorder implements LifecycleSink {
  readonly events: ObjectLifecycleEvent[] = [];
  record(event: ObjectLifecycleEvent): void {
    this.events.push(event);
  }
  summary(): string[] {
    return this.events.map((e) => `${e.event}:${e.type}/${e.id}:${e.reason}${e.event === 'deactivated' ? `:saved=${e.saved}` : ''}`);
  }
}

export interface Fixture {
  host: ObjectHost;
  gate: FakeGate;
  store: ObjectStore;
  registry: ObjectRegistry;
  events: EventRecorder;
  clock: ManualClock;
  logs: MemorySink;
}

export function makeHost(
  overrides: { store?: ObjectStore; gate?: FakeGate; registry?: ObjectRegistry; clock?: ManualClock; place?: (id: string) => ObjectPlacement } = {},
): Fixture {
  const registry = overrides.registry ?? new ObjectRegistry();
  if (overrides.registry === undefined) registerBuiltinTypes(registry, { keyValue: { maxBytes: 1024 * 1024 } });
  const store = overrides.store ?? new MemoryObjectStore();
  const gate = overrides.gate ?? new FakeGate();
  const clock = overrides.clock ?? new ManualClock();
  const events = new EventRecorder();
  const logs = new MemorySink();
  const host = new ObjectHost({
    registry,
    store,
    gate,
    events,
    place: overrides.place ?? ((id) => placeObject(id, NUM_SHARDS)),
    clock,
    logger: createLogger(logs, 'debug'),
  });
  return { host, gate, store, registry, events, clock, logs };
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets pending promise callbacks run (the host's steps are a few microtasks apart). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
}
