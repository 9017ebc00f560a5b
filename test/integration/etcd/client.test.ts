import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, ConfigError, InvalidArgumentError, TimeoutError, UnavailableError } from '../../../src/core/errors.js';
import type { KvEvent } from '../../../src/core/snapshot/snapshot.js';
import {
  categorizeEtcdError,
  createEtcdClient,
  type EtcdClient,
  LeaseNotFoundError,
  MAX_TXN_OPS,
} from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { TcpProxy } from '../../harness/tcpProxy.js';
import { waitFor } from '../../harness/waitFor.js';

let etcd: EtcdCluster;
let client: EtcdClient;

beforeAll(async () => {
  etcd = await startEtcd('client');
  client = createEtcdClient({ endpoints: etcd.endpoints });
});

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

describe('EtcdClient', () => {
  it('reads a prefix root without its siblings, across range pages', async () => {
    const p = uniquePrefix('range');
    const keys = Array.from({ length: 2500 }, (_, i) => `${p}/shard/${i}`);
    for (let i = 0; i < keys.length; i += MAX_TXN_OPS) {
      await client.txn({ compares: [], success: keys.slice(i, i + MAX_TXN_OPS).map((key) => ({ type: 'put', key, value: 'a,b' })) });
    }
    await client.put(`${p}-sibling/shard/1`, 'x,y');
    await client.put(p, 'bare prefix key');
    const { kvs, revision } = await client.rangePrefix(`${p}/`);
    expect(kvs).toHaveLength(2500);
    expect(new Set(kvs.map((kv) => kv.key))).toEqual(new Set(keys));
    expect(kvs.every((kv) => kv.modRevision <= revision && kv.value === 'a,b' && kv.lease === '0')).toBe(true);
  });

  it('gets, puts and deletes single keys', async () => {
    const key = `${uniquePrefix('kv')}/leader`;
    expect(await client.get(key)).toBeNull();
    const { revision } = await client.put(key, 'node-1');
    expect(await client.get(key)).toMatchObject({ key, value: 'node-1', modRevision: revision, createRevision: revision });
    expect((await client.delete(key)).deleted).toBe(1);
    expect(await client.get(key)).toBeNull();
  });

  it('runs CAS transactions and reads the failure branch keys', async () => {
    const p = uniquePrefix('txn');
    const a = `${p}/shard/1`;
    const b = `${p}/shard/2`;
    const created = await client.txn({
      compares: [{ key: a, modRevision: 0 }, { key: b, modRevision: 0 }],
      success: [{ type: 'put', key: a, value: 'n1,' }, { type: 'put', key: b, value: 'n2,' }],
      failureReads: [a, b],
    });
    expect(created).toMatchObject({ succeeded: true });
    const failed = await client.txn({
      compares: [{ key: a, modRevision: created.revision }, { key: b, modRevision: 0 }],
      success: [{ type: 'delete', key: a }],
      failureReads: [a, b, `${p}/shard/3`],
    });
    expect(failed.succeeded).toBe(false);
    if (failed.succeeded) return;
    expect(failed.reads.get(b)).toMatchObject({ value: 'n2,', modRevision: created.revision });
    expect(failed.reads.has(`${p}/shard/3`)).toBe(false);
    const tooMany = Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({ key: `${p}/x/${i}`, modRevision: 0 }));
    await expect(client.txn({ compares: tooMany, success: [] })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('grants, keeps alive and revokes leases, and reports a lost lease distinctly', async () => {
    const key = `${uniquePrefix('lease')}/nodes/a`;
    const lease = await client.grantLease(30);
    expect(lease.id).toMatch(/^[1-9][0-9]*$/);
    await client.put(key, 'a', { lease: lease.id });
    expect((await client.get(key))?.lease).toBe(lease.id);
    expect((await client.keepAliveOnce(lease.id)).ttlSeconds).toBeGreaterThan(0);
    expect(await client.revokeLease(lease.id)).toBe(true);
    expect(await client.get(key)).toBeNull();
    await expect(client.keepAliveOnce(lease.id)).rejects.toBeInstanceOf(LeaseNotFoundError);
    expect(await client.revokeLease(lease.id)).toBe(false);
  });

  it('honours per-call deadlines and abort signals with typed errors', async () => {
    const err = await client.rangePrefix('/', { timeoutMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(categorizeEtcdError(err)).toBe('timeout');
    const controller = new AbortController();
    controller.abort();
    await expect(client.get('/x', { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
  });

  it('watches a prefix root from a revision, in order, without the sibling prefix', async () => {
    const p = uniquePrefix('watch');
    const first = await client.put(`${p}/shard/1`, 'a,');
    await client.put(`${p}-sibling/shard/1`, 'z,');
    await client.put(`${p}/shard/2`, 'b,');
    await client.delete(`${p}/shard/1`);
    const seen: KvEvent[] = [];
    const handle = client.watchPrefix(`${p}/`, first.revision, {
      onEvents: (events) => seen.push(...events),
      onConnected: () => undefined,
      onDisconnected: () => undefined,
      onCancelled: () => undefined,
    });
    await waitFor('three watch events', () => seen.length >= 3, { describe: () => JSON.stringify(seen) });
    await handle.cancel();
    expect(seen.map((e) => (e.type === 'put' ? `put ${e.kv.key}` : `delete ${e.key}`))).toEqual([
      `put ${p}/shard/1`,
      `put ${p}/shard/2`,
      `delete ${p}/shard/1`,
    ]);
  });

  it('reads a prefix larger than the receive limit, splitting pages until they fit, at one revision', async () => {
    const p = uniquePrefix('large');
    const value = 'v'.repeat(100 * 1024);
    // 60 values of 100 KiB: 6 MB, past gRPC's default 4 MiB limit, which our default limit (64 MiB) reads at once.
    for (let i = 0; i < 60; i += 10) {
      await client.txn({ compares: [], success: Array.from({ length: 10 }, (_, j) => ({ type: 'put' as const, key: `${p}/k/${i + j}`, value })) });
    }
    const whole = await client.rangePrefix(`${p}/`);
    expect(whole.kvs).toHaveLength(60);
    // A client whose limit is 1 MiB halves its pages (1000, 500, ... 7 keys) until each fits.
    const small = createEtcdClient({ endpoints: etcd.endpoints, maxReceiveBytes: 1024 * 1024 });
    try {
      const paged = await small.rangePrefix(`${p}/`);
      expect(paged.revision).toBe(whole.revision);
      expect(paged.kvs.map((kv) => kv.key)).toEqual(whole.kvs.map((kv) => kv.key));
      expect(paged.kvs.every((kv) => kv.value === value)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it('gives up a watch whose response is too large to receive, so the caller lists anew', async () => {
    const p = uniquePrefix('large-watch');
    const small = createEtcdClient({ endpoints: etcd.endpoints, maxReceiveBytes: 1024 * 1024 });
    try {
      const { revision } = await small.put(`${p}/k/start`, 'x');
      const seen: KvEvent[] = [];
      const cancelled: string[] = [];
      const handle = small.watchPrefix(`${p}/`, revision + 1, {
        onEvents: (events) => seen.push(...events),
        onConnected: () => undefined,
        onDisconnected: () => undefined,
        onCancelled: (err) => cancelled.push(err.message),
      });
      await small.put(`${p}/k/small`, 'y');
      await waitFor('the small event', () => seen.length === 1);
      // One transaction of 1.2 MB: one watch response beyond the 1 MiB limit.
      const value = 'v'.repeat(100 * 1024);
      await client.txn({ compares: [], success: Array.from({ length: 12 }, (_, i) => ({ type: 'put' as const, key: `${p}/k/big${i}`, value })) });
      await waitFor('the watch given up', () => cancelled.length > 0, { timeoutMs: 10_000 });
      expect(cancelled[0]).toMatch(/too large to receive/);
      expect(seen).toHaveLength(1);
      await handle.cancel();
      // The listing the caller does next fits.
      expect((await small.rangePrefix(`${p}/`)).kvs).toHaveLength(14);
    } finally {
      await small.close();
    }
  });

  it('resumes a catching-up watch from the last delivered event after a disconnect', async () => {
    // etcd sends history in batches of 1000 revisions, each stamped with its current revision; resuming from that
    // stamp (etcd3's own behaviour) would skip the rest of the history.
    const p = uniquePrefix('resume');
    const puts = Array.from({ length: 1500 }, (_, i) => i);
    const revisions: number[] = [];
    for (let i = 0; i < puts.length; i += 100) {
      const batch = puts.slice(i, i + 100).map((n) => client.put(`${p}/shard/${n % 50}`, `v${n}`));
      for (const r of await Promise.all(batch)) revisions.push(r.revision);
    }
    const proxy = await TcpProxy.start(etcd.member().clientPort);
    const viaProxy = createEtcdClient({ endpoints: [proxy.endpoint] });
    const seen: number[] = [];
    let disconnects = 0;
    const handle = viaProxy.watchPrefix(`${p}/`, Math.min(...revisions), {
      onEvents: (events) => {
        for (const e of events) seen.push(e.type === 'put' ? e.kv.modRevision : e.modRevision);
        if (disconnects === 0) proxy.block();
      },
      onConnected: () => undefined,
      onDisconnected: () => {
        disconnects++;
        proxy.unblock();
      },
      onCancelled: () => undefined,
    });
    try {
      await waitFor('all 1500 events', () => seen.length >= 1500, { describe: () => `${seen.length} events, ${disconnects} disconnects` });
      expect(disconnects).toBeGreaterThan(0);
      expect(seen).toEqual([...revisions].sort((a, b) => a - b));
    } finally {
      await handle.cancel();
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('reports a retriable typed error while etcd is down and recovers within about a second', async () => {
    const member = etcd.member();
    await member.kill();
    const err = await client.get('/x', { timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).retriable).toBe(true);
    expect(categorizeEtcdError(err)).toBe('connection_error');
    await member.start();
    const restarted = performance.now();
    await waitFor('a successful read after the restart', () => client.get('/x', { timeoutMs: 500 }).then(() => true), {
      timeoutMs: 5000,
    });
    expect(performance.now() - restarted).toBeLessThan(1500);
  });

  it('rejects unreadable TLS files with a config error naming the file', () => {
    expect(() => createEtcdClient({ endpoints: ['127.0.0.1:1'], tls: { caFile: '/nonexistent/ca.pem' } })).toThrow(ConfigError);
  });
});
