import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UnavailableError } from '../../../../src/core/errors.js';
import { Keyspace } from '../../../../src/core/keyspace/keys.js';
import { createLogger, MemorySink } from '../../../../src/core/log/logger.js';
import { LeaseNotFoundError } from '../../../../src/edge/etcd/client.js';
import { ExpiringRecordLease, migrationRecordTxnOps, RenewedRecordLease } from '../../../../src/edge/etcd/migrationRecordLease.js';

/** An etcd client's lease calls, recorded; `renewal` decides how each keepalive ends. */
function fakeLeases() {
  const f = {
    grants: [] as number[],
    keepAlives: [] as string[],
    renewal: (_lease: string): void => undefined,
    grantLease: async (ttlSeconds: number) => {
      f.grants.push(ttlSeconds);
      return { id: String(100 + f.grants.length), ttlSeconds };
    },
    keepAliveOnce: async (lease: string) => {
      f.keepAlives.push(lease);
      f.renewal(lease);
      return { ttlSeconds: 30 };
    },
  };
  return f;
}

describe('migration record leases', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('goverse-top and non-leading nodes: a fresh lease per write, never renewed', async () => {
    const etcd = fakeLeases();
    const leases = new ExpiringRecordLease(etcd, 45);
    expect([await leases.acquire(), await leases.acquire()]).toEqual(['101', '102']);
    expect(etcd.grants).toEqual([45, 45]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(etcd.keepAlives).toEqual([]);
  });

  it("a leader's: granted once at first use, renewed every TTL/3 until released, then left to run out", async () => {
    const etcd = fakeLeases();
    const lease = new RenewedRecordLease(etcd, 30, createLogger(new MemorySink(), 'debug'));
    expect(lease.current).toBeNull();
    const [a, b] = await Promise.all([lease.acquire(), lease.acquire()]);
    expect([a, b, lease.current]).toEqual(['101', '101', '101']);
    expect(etcd.grants).toEqual([30]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(etcd.keepAlives).toEqual(['101', '101', '101']);
    // A transient failure does not give the lease up: the next renewal comes on time.
    etcd.renewal = () => {
      throw new UnavailableError('etcd unreachable');
    };
    await vi.advanceTimersByTimeAsync(10_000);
    etcd.renewal = () => undefined;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(etcd.keepAlives).toHaveLength(5);
    expect(lease.current).toBe('101');

    await lease.release();
    expect(lease.current).toBeNull();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(etcd.keepAlives).toHaveLength(5);
    // A new term: a new lease.
    expect(await lease.acquire()).toBe('102');
    await lease.release();
  });

  it("a leader's lease that etcd lost is forgotten, from a renewal or from a write under it", async () => {
    const etcd = fakeLeases();
    const sink = new MemorySink();
    const lease = new RenewedRecordLease(etcd, 3, createLogger(sink, 'debug'));
    await lease.acquire();
    etcd.renewal = (id) => {
      throw new LeaseNotFoundError(id);
    };
    await vi.advanceTimersByTimeAsync(1_000);
    expect(lease.current).toBeNull();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(etcd.keepAlives).toEqual(['101']);
    expect(sink.find((r) => r.msg === 'the migration records lease is gone; the next records go under a new one')).toMatchObject({ lease: '101' });

    etcd.renewal = () => undefined;
    expect(await lease.acquire()).toBe('102');
    lease.lost('101'); // an old lease: nothing happens
    expect(lease.current).toBe('102');
    lease.lost('102');
    expect(lease.current).toBeNull();
  });

  it('puts a record only under a lease; deletes need none', () => {
    const keys = new Keyspace('/p');
    const put = { kind: 'put' as const, record: { since: 1, target: 'b:1', from: 'a:1' } };
    expect(migrationRecordTxnOps(keys, 3, put, '9')).toEqual([{ type: 'put', key: '/p/migration/3', value: '{"since":1,"target":"b:1","from":"a:1"}', lease: '9' }]);
    expect(migrationRecordTxnOps(keys, 3, put, null)).toEqual([]);
    expect(migrationRecordTxnOps(keys, 3, { kind: 'delete' }, null)).toEqual([{ type: 'delete', key: '/p/migration/3' }]);
  });
});
