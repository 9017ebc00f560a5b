import { describe, expect, it } from 'vitest';
import { DEFAULT_SHARD_WRITE_RETRY } from '../../../../src/core/config/shardWriteRetry.js';
import { GoverseError, InvalidArgumentError, UnavailableError, ValueTooLargeError } from '../../../../src/core/errors.js';
import { Keyspace } from '../../../../src/core/keyspace/keys.js';
import type { Kv } from '../../../../src/core/snapshot/snapshot.js';
import {
  type EtcdClient,
  type EtcdFailureCategory,
  MAX_TXN_OPS,
  type TxnRequest,
  type TxnResult,
} from '../../../../src/edge/etcd/client.js';
import { GuardFailedError, type ShardChange, ShardWriter } from '../../../../src/edge/etcd/shardWriter.js';

type Fault = 'unavailable' | 'applied-then-unavailable' | 'invalid';

/** An in-memory etcd with real txn semantics (compares, limits, failure reads) and injectable faults. */
class FakeEtcd {
  readonly store = new Map<string, Kv>();
  revision = 1;
  txns: TxnRequest[] = [];
  /** The timeout each txn was given. */
  attemptTimeouts: (number | undefined)[] = [];
  faults: Fault[] = [];
  alwaysUnavailable = false;

  put(key: string, value: string): number {
    const rev = ++this.revision;
    this.store.set(key, { key, value, modRevision: rev, createRevision: this.store.get(key)?.createRevision ?? rev, lease: '0' });
    return rev;
  }

  asClient(): EtcdClient {
    const unsupported = (): never => {
      throw new Error('not used by the writer');
    };
    return {
      endpoints: ['fake'],
      txn: async (req, options) => {
        this.attemptTimeouts.push(options?.timeoutMs);
        return this.txn(req);
      },
      rangePrefix: unsupported,
      keysBetween: unsupported,
      get: unsupported,
      put: unsupported,
      delete: unsupported,
      grantLease: unsupported,
      keepAliveOnce: unsupported,
      revokeLease: unsupported,
      watchPrefix: unsupported,
      compact: unsupported,
      close: async () => undefined,
    };
  }

  private txn(req: TxnRequest): TxnResult {
    this.txns.push(req);
    const reads = req.failureReads ?? [];
    if (req.compares.length > MAX_TXN_OPS || req.success.length > MAX_TXN_OPS || reads.length > MAX_TXN_OPS) {
      throw new Error('etcdserver: too many operations in txn request');
    }
    const written = req.success.map((op) => op.key);
    if (new Set(written).size !== written.length) throw new Error('etcdserver: duplicate key given in txn request');
    const fault = this.alwaysUnavailable ? 'unavailable' : this.faults.shift();
    if (fault === 'unavailable') throw new UnavailableError('etcd unavailable (injected)');
    if (fault === 'invalid') throw new InvalidArgumentError('etcdserver: request is too large (injected)');
    const holds = req.compares.every((c) => (this.store.get(c.key)?.modRevision ?? 0) === c.modRevision);
    let result: TxnResult;
    if (holds) {
      const rev = ++this.revision;
      for (const op of req.success) {
        if (op.type === 'put') this.store.set(op.key, { key: op.key, value: op.value, modRevision: rev, createRevision: rev, lease: '0' });
        else if (op.type === 'delete') this.store.delete(op.key);
        else for (const key of [...this.store.keys()]) if (key >= op.key && key < op.end) this.store.delete(key);
      }
      result = { succeeded: true, revision: rev };
    } else {
      const found = new Map<string, Kv>();
      for (const key of reads) {
        const kv = this.store.get(key);
        if (kv) found.set(key, kv);
      }
      result = { succeeded: false, revision: this.revision, reads: found };
    }
    if (fault === 'applied-then-unavailable') throw new UnavailableError('connection dropped after sending (injected)');
    return result;
  }
}

const keys = new Keyspace('/p');
const change = (shardId: number, expectedModRevision = 0, target = `n${shardId % 3}`): ShardChange => ({
  shardId,
  expectedModRevision,
  value: { target, current: '', flags: ['pinned', 'custom'] },
});

function writer(etcd: FakeEtcd, failures: Map<EtcdFailureCategory, number> = new Map(), extra = {}): ShardWriter {
  return new ShardWriter({
    client: etcd.asClient(),
    keys,
    retry: { ...DEFAULT_SHARD_WRITE_RETRY, backoffInitialMs: 1, backoffMaxMs: 4 },
    metrics: { onWriteFailures: (category, n) => failures.set(category, (failures.get(category) ?? 0) + n) },
    ...extra,
  });
}

describe('ShardWriter', () => {
  it('packs 8192 shards into transactions of at most 128 ops, guard included, keeping every flag', async () => {
    const etcd = new FakeEtcd();
    const leaderRev = etcd.put(keys.leader, 'me');
    const report = await writer(etcd).write(
      Array.from({ length: 8192 }, (_, i) => change(i)),
      { guard: [{ key: keys.leader, modRevision: leaderRev }] },
    );
    expect(report).toMatchObject({ written: 8192, conflicts: 0, failed: 0, guardFailure: null });
    expect(etcd.txns).toHaveLength(Math.ceil(8192 / 127));
    expect(etcd.txns.every((t) => t.compares.length <= MAX_TXN_OPS && t.compares[0]?.key === keys.leader)).toBe(true);
    expect(etcd.store.get(keys.shard(4))?.value).toBe('n1,,f=pinned,f=custom');
    const r = report.results[4]!;
    expect(r).toEqual({ status: 'written', shardId: 4, modRevision: etcd.store.get(keys.shard(4))!.modRevision, raw: 'n1,,f=pinned,f=custom' });
  });

  it('reports conflicting shards with their fresh value and still commits the others', async () => {
    const etcd = new FakeEtcd();
    const seen = etcd.put(keys.shard(1), 'a,a');
    const rev2 = etcd.put(keys.shard(2), 'a,a');
    etcd.put(keys.shard(2), 'b,b,f=pinned'); // someone else wrote shard 2 after we read it
    etcd.put(keys.shard(3), 'c,'); // shard 3 appeared although we expect it absent
    const failures = new Map<EtcdFailureCategory, number>();
    const report = await writer(etcd, failures).write([change(1, seen), change(2, rev2), change(3, 0), change(4, 0)]);
    expect(report.results.map((r) => r.status)).toEqual(['written', 'conflict', 'conflict', 'written']);
    expect(report.results[1]).toMatchObject({ status: 'conflict', current: { target: 'b', current: 'b', flags: ['pinned'], raw: 'b,b,f=pinned' } });
    expect(etcd.store.get(keys.shard(2))?.value).toBe('b,b,f=pinned');
    expect(etcd.txns).toHaveLength(2);
    expect(failures).toEqual(new Map([['modrevision_conflict', 2]]));
  });

  it('fails every shard with GuardFailedError when the guard no longer holds, writing nothing', async () => {
    const etcd = new FakeEtcd();
    const won = etcd.put(keys.leader, 'me');
    etcd.put(keys.leader, 'someone-else');
    const failures = new Map<EtcdFailureCategory, number>();
    const report = await writer(etcd, failures).write(
      Array.from({ length: 300 }, (_, i) => change(i)),
      { guard: [{ key: keys.leader, modRevision: won }] },
    );
    expect(report.guardFailure).toBeInstanceOf(GuardFailedError);
    expect(report.guardFailure?.failed).toEqual([{ key: keys.leader, expected: won, actual: won + 1 }]);
    expect(report.failed).toBe(300);
    expect(report.results.every((r) => r.status === 'failed' && r.error === report.guardFailure)).toBe(true);
    expect([...etcd.store.keys()]).toEqual([keys.leader]);
    expect(failures).toEqual(new Map([['modrevision_conflict', 300]]));
  });

  it('retries transient errors with backoff and counts them', async () => {
    const etcd = new FakeEtcd();
    etcd.faults = ['unavailable', 'unavailable', 'unavailable'];
    const retries: EtcdFailureCategory[] = [];
    const report = await writer(etcd, new Map(), { metrics: { onRetry: (c: EtcdFailureCategory) => retries.push(c) } }).write([change(1), change(2)]);
    expect(report.written).toBe(2);
    expect(retries).toEqual(['connection_error', 'connection_error', 'connection_error']);
  });

  it('recognises its own write when an attempt was applied but its answer lost', async () => {
    const etcd = new FakeEtcd();
    etcd.faults = ['applied-then-unavailable'];
    const report = await writer(etcd).write([change(1), change(2)]);
    expect(report.written).toBe(2);
    expect(report.results[0]).toMatchObject({ status: 'written', modRevision: etcd.store.get(keys.shard(1))!.modRevision });
  });

  it('gives up at the deadline with a typed, retriable error per shard', async () => {
    const etcd = new FakeEtcd();
    etcd.alwaysUnavailable = true;
    const failures = new Map<EtcdFailureCategory, number>();
    const report = await writer(etcd, failures).write([change(1), change(2)], { timeoutMs: 50 });
    expect(report.failed).toBe(2);
    const r = report.results[0]!;
    expect(r.status === 'failed' && r.error).toBeInstanceOf(UnavailableError);
    expect(r.status === 'failed' && r.error.message).toMatch(/gave up after 50 ms .*injected/);
    expect(failures).toEqual(new Map([['connection_error', 2]]));
    expect(etcd.txns.length).toBeGreaterThan(1);
  });

  it('retries by its settings: the deadline of a call, the timeout of each attempt, the backoff between attempts', async () => {
    const etcd = new FakeEtcd();
    etcd.alwaysUnavailable = true;
    const retry = { deadlineMs: 200, attemptTimeoutMs: 30, backoffInitialMs: 40, backoffMaxMs: 40 };
    const report = await writer(etcd, new Map(), { retry }).write([change(1)]);
    const r = report.results[0]!;
    expect(r.status === 'failed' && r.error.message).toMatch(/gave up after 200 ms/);
    expect(etcd.attemptTimeouts.every((t) => t !== undefined && t <= 30)).toBe(true);
    // Each wait is 20..40 ms (half of it jitter), so 200 ms hold at most 11 attempts; a slow machine makes fewer.
    expect(etcd.txns.length).toBeGreaterThanOrEqual(1);
    expect(etcd.txns.length).toBeLessThanOrEqual(11);
  });

  it('does not retry permanent errors', async () => {
    const etcd = new FakeEtcd();
    etcd.faults = ['invalid'];
    const failures = new Map<EtcdFailureCategory, number>();
    const report = await writer(etcd, failures).write([change(1)]);
    expect(report.results[0]).toMatchObject({ status: 'failed', error: expect.any(InvalidArgumentError) });
    expect(etcd.txns).toHaveLength(1);
    expect(failures).toEqual(new Map([['other', 1]]));
  });

  it('commits extra ops atomically with their shard and packs by success ops', async () => {
    const etcd = new FakeEtcd();
    for (let i = 0; i < 100; i++) etcd.put(keys.migration(i), '{}');
    const report = await writer(etcd).write(
      Array.from({ length: 100 }, (_, i) => ({ ...change(i), alsoOps: [{ type: 'delete' as const, key: keys.migration(i) }] })),
    );
    expect(report.written).toBe(100);
    expect([...etcd.store.keys()].filter((k) => k.includes('/migration/'))).toEqual([]);
    expect(etcd.txns.map((t) => t.success.length)).toEqual([128, 72]);
  });

  it('rejects duplicate shards and reports unformattable values per shard', async () => {
    const etcd = new FakeEtcd();
    await expect(writer(etcd).write([change(1), change(1)])).rejects.toBeInstanceOf(InvalidArgumentError);
    const report = await writer(etcd).write([change(1, 0, 'bad,address'), change(2)]);
    expect(report.results.map((r) => r.status)).toEqual(['failed', 'written']);
    const failed = report.results[0]!;
    expect(failed.status === 'failed' && failed.error).toBeInstanceOf(GoverseError);
  });

  it('writes no value beyond the bound of its key, whatever flags or records the change carries', async () => {
    const etcd = new FakeEtcd();
    const hugeFlag = { shardId: 1, expectedModRevision: 0, value: { target: 'n1:1', current: '', flags: ['x'.repeat(70_000)] } };
    const hugeRecord: ShardChange = {
      ...change(2),
      alsoOps: [{ type: 'put', key: keys.migration(2), value: JSON.stringify({ since: 1, target: 'n1', from: 'y'.repeat(70_000) }) }],
    };
    const report = await writer(etcd).write([hugeFlag, hugeRecord, change(3)]);
    expect(report.results.map((r) => r.status)).toEqual(['failed', 'failed', 'written']);
    const failed = report.results[0]!;
    expect(failed.status === 'failed' && failed.error).toBeInstanceOf(ValueTooLargeError);
    expect(failed.status === 'failed' && failed.error.message).toMatch(/^not writing \/p\/shard\/1: value of 68\.4 KiB exceeds the 64 KiB bound/);
    expect([...etcd.store.keys()]).toEqual([keys.shard(3)]);
  });
});

