import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../../src/core/clock.js';
import { LogThrottle } from '../../../../src/core/log/throttle.js';
import { createLogger, MemorySink } from '../../../../src/core/log/logger.js';
import { PersistenceError, StaleEpochError } from '../../../../src/node/persistence/errors.js';
import { MemoryObjectStore } from '../../../../src/node/persistence/memoryObjectStore.js';
import { MonitoredObjectStore, type StoreOp } from '../../../../src/node/persistence/monitoredObjectStore.js';
import type { ObjectKey } from '../../../../src/node/persistence/objectStore.js';
import { nodeReadiness } from '../../../../src/node/readiness.js';
import { waitFor } from '../../../harness/waitFor.js';

const X: ObjectKey = { type: 'Counter', id: 'x' };

/** A store whose writes fail with a SQLite-like code while `full` is set; probes record the size they were asked for. */
class FlakyStore extends MemoryObjectStore {
  full = false;
  readonly probes: number[] = [];

  private check(): void {
    if (this.full) throw new PersistenceError('objects.db: save failed: SQLITE_FULL: database or disk is full', { retriable: true, storeCode: 'SQLITE_FULL' });
  }
  override async load(key: ObjectKey, epoch: number, initialState: string) {
    this.check();
    return super.load(key, epoch, initialState);
  }
  override async save(key: ObjectKey, epoch: number, state: string): Promise<void> {
    this.check();
    return super.save(key, epoch, state);
  }
  override async probe(bytes: number): Promise<void> {
    this.probes.push(bytes);
    this.check();
  }
}

class TestClock implements Clock {
  wall = 1_700_000_000_000;
  mono = 0;
  now(): number {
    return this.wall;
  }
  monotonic(): number {
    return this.mono;
  }
}

function setup(probeIntervalMs = 60_000) {
  const inner = new FlakyStore();
  const sink = new MemorySink();
  const clock = new TestClock();
  const errors: [StoreOp, string][] = [];
  const store = new MonitoredObjectStore(inner, {
    logger: createLogger(sink, 'debug'),
    clock,
    probeIntervalMs,
    onError: (op, code) => errors.push([op, code]),
  });
  const warnings = () => sink.records.filter((r) => r.level === 'warn');
  return { inner, store, clock, errors, sink, warnings };
}

describe('LogThrottle', () => {
  it('admits one line per key per interval and counts what it held back', () => {
    const t = new LogThrottle(10_000);
    expect(t.admit('SQLITE_FULL', 0)).toBe(0);
    expect(t.admit('SQLITE_FULL', 1)).toBeNull();
    expect(t.admit('SQLITE_IOERR', 2)).toBe(0);
    expect(t.admit('SQLITE_FULL', 9_999)).toBeNull();
    expect(t.admit('SQLITE_FULL', 10_000)).toBe(2);
    expect(t.admit('SQLITE_FULL', 10_001)).toBeNull();
  });
});

describe('MonitoredObjectStore', () => {
  it('counts, logs (rate-limited per code) and reports failing writes; errors pass through unchanged', async () => {
    const { inner, store, clock, errors, warnings } = setup();
    await store.load(X, 1, '0');
    inner.full = true;
    for (let i = 0; i < 50; i++) {
      const err = await store.save(X, 1, `${i}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PersistenceError);
      expect(err).toMatchObject({ retriable: true, storeCode: 'SQLITE_FULL' });
    }
    await expect(store.load({ type: 'Counter', id: 'y' }, 1, '"new"')).rejects.toBeInstanceOf(PersistenceError);
    expect(errors.length).toBe(51);
    expect(errors[0]).toEqual(['save', 'SQLITE_FULL']);
    expect(errors[50]).toEqual(['load', 'SQLITE_FULL']);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ msg: 'object store write failed', op: 'save', code: 'SQLITE_FULL', object: 'Counter/x', suppressed: 0 });
    const health = store.health();
    expect(health).toMatchObject({ kind: 'failing', op: 'load', code: 'SQLITE_FULL', failures: 51, since: clock.wall });

    clock.mono += 10_000;
    await store.save(X, 1, 'z').catch(() => undefined);
    expect(warnings()).toHaveLength(2);
    expect(warnings()[1]).toMatchObject({ suppressed: 50 });

    // A save that succeeds again ends the episode.
    inner.full = false;
    await store.save(X, 1, '7');
    expect(store.health()).toEqual({ kind: 'ok' });
    expect(inner.peek(X)?.state).toBe('7');
    await store.close();
  });

  it('does not count fencing (StaleEpochError) as a store failure', async () => {
    const { store, errors } = setup();
    await store.load(X, 5, '0');
    await expect(store.save(X, 4, '1')).rejects.toBeInstanceOf(StaleEpochError);
    expect(errors).toEqual([]);
    expect(store.health()).toEqual({ kind: 'ok' });
    await store.close();
  });

  it('probes while failing, with the size of the largest failed write, and recovers by itself without traffic', async () => {
    const { inner, store } = setup(5);
    await store.load(X, 1, '0');
    inner.full = true;
    await store.save(X, 1, 'x'.repeat(3000)).catch(() => undefined);
    await store.save(X, 1, 'é'.repeat(100)).catch(() => undefined);
    await waitFor('a few failed probes', () => inner.probes.length >= 3);
    expect(store.health()).toMatchObject({ kind: 'failing', op: 'probe' });
    expect(new Set(inner.probes)).toEqual(new Set([3000]));
    inner.full = false;
    await waitFor('recovered by a probe', () => store.health().kind === 'ok');
    const probes = inner.probes.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(inner.probes.length, 'no probes while healthy').toBe(probes);
    await store.close();
  });

  it('turns /ready to not ready with a reason while failing', async () => {
    const { inner, store } = setup();
    const member = {
      ready: true, etcd: 'synced', synced: true, registered: true, phase: 'running', draining: false, claimed: 1, targeted: 1, reasons: [],
    } as const;
    expect(nodeReadiness(member, store.health())).toMatchObject({ ready: true, reasons: [], storage: { kind: 'ok' } });
    inner.full = true;
    await store.save(X, 1, '1').catch(() => undefined);
    const r = nodeReadiness(member, store.health());
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual([expect.stringMatching(/^object store failing since .*: save SQLITE_FULL \(1 failure\)$/)]);
    await store.close();
  });
});
