/**
 * Membership with our own lease timing, on real etcd: a lease revoked behind the node's back is noticed within the
 * TTL and replaced; keepalives that hang while the connection looks open fence the node before etcd can expire its
 * lease (so no other node can claim its shards while it still serves); slow but working keepalives keep it serving.
 * Latency and hangs are injected by wrapping the real client's keepalive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Membership } from '../../../src/cluster/membership.js';
import { systemClock } from '../../../src/core/clock.js';
import { TimeoutError } from '../../../src/core/errors.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { createLogger, MemorySink } from '../../../src/core/log/logger.js';
import { type CallOptions, createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { waitFor } from '../../harness/waitFor.js';

const TTL_S = 3;
const MARGIN_MS = 600;

let etcd: EtcdCluster;
let client: EtcdClient;

beforeAll(async () => {
  etcd = await startEtcd('membership');
  client = createEtcdClient({ endpoints: etcd.endpoints });
});

afterAll(async () => {
  await client?.close();
  await etcd?.close();
});

type KeepAlive = EtcdClient['keepAliveOnce'];

/** The real client with its keepalive replaced by `keepAlive(real, ...)`. */
function withKeepAlive(keepAlive: (real: KeepAlive, leaseId: string, options?: CallOptions) => ReturnType<KeepAlive>): EtcdClient {
  const real = client.keepAliveOnce.bind(client);
  return new Proxy(client, {
    get: (target, prop, receiver) =>
      prop === 'keepAliveOnce' ? (leaseId: string, options?: CallOptions) => keepAlive(real, leaseId, options) : Reflect.get(target, prop, receiver),
  });
}

function membership(etcdClient: EtcdClient, events: { fencedAt?: number; registrations: number }) {
  const keys = new Keyspace(uniquePrefix('membership'));
  const m = new Membership({
    client: etcdClient,
    keys,
    address: 'node-a:1',
    ttlSeconds: TTL_S,
    fenceMarginMs: MARGIN_MS,
    fencing: 'enforced',
    clock: systemClock,
    logger: createLogger(new MemorySink(), 'debug'),
    onRegistered: () => events.registrations++,
    onFenced: () => (events.fencedAt ??= performance.now()),
  });
  return { m, keys };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('membership on real etcd', () => {
  it('notices a lease revoked behind its back within the TTL and registers again under a new lease', async () => {
    const events = { registrations: 0 } as { fencedAt?: number; registrations: number };
    const { m, keys } = membership(client, events);
    await m.start();
    try {
      const first = m.currentLeaseId!;
      const revokedAt = performance.now();
      await client.revokeLease(first);
      await waitFor('fenced', () => events.fencedAt !== undefined, { timeoutMs: TTL_S * 1000 + 2000 });
      expect(events.fencedAt! - revokedAt).toBeLessThan(TTL_S * 1000);
      await waitFor('registered again', async () => {
        const kv = await client.get(keys.node('node-a:1'));
        return kv !== null && kv.lease !== first && m.fence.isServing();
      });
      expect(events.registrations).toBe(2);
    } finally {
      await m.stop();
    }
  });

  it('keepalives that hang fence the node before etcd expires its lease', async () => {
    let hang = false;
    const hanging = withKeepAlive(async (real, leaseId, options) => {
      if (!hang) return real(leaseId, options);
      // The stream looks open: no error, no answer, until the caller's deadline (the client's default when none).
      await delay(options?.timeoutMs ?? 2000);
      throw new TimeoutError('keepalive timed out');
    });
    const events = { registrations: 0 } as { fencedAt?: number; registrations: number };
    const { m, keys } = membership(hanging, events);
    await m.start();
    try {
      hang = true;
      const nodeKey = keys.node('node-a:1');
      let expiredAt: number | undefined;
      let stoppedServingAt: number | undefined;
      await waitFor('etcd expired the lease', async () => {
        if (!m.fence.isServing()) stoppedServingAt ??= performance.now();
        if ((await client.get(nodeKey)) === null) expiredAt ??= performance.now();
        return expiredAt !== undefined;
      }, { timeoutMs: TTL_S * 1000 + 5000, intervalMs: 10 });
      // Serving is judged at call time, from the last acknowledged send: it stopped before anyone could see the node gone.
      expect(stoppedServingAt, 'stopped serving before the lease expired').toBeDefined();
      expect(stoppedServingAt!).toBeLessThan(expiredAt!);
      await waitFor('the runtime told', () => events.fencedAt !== undefined, { timeoutMs: 5000 });
      hang = false;
      await waitFor('registered again once etcd answers', () => m.fence.isServing(), { timeoutMs: 10_000 });
    } finally {
      await m.stop();
    }
  });

  it('slow keepalives (etcd answering after 800 ms) keep the node serving', async () => {
    const slow = withKeepAlive(async (real, leaseId, options) => {
      await delay(800);
      return real(leaseId, options);
    });
    const events = { registrations: 0 } as { fencedAt?: number; registrations: number };
    const { m } = membership(slow, events);
    await m.start();
    try {
      const until = performance.now() + TTL_S * 2000;
      while (performance.now() < until) {
        expect(m.fence.isServing(), 'serving throughout').toBe(true);
        await delay(50);
      }
      expect(events.fencedAt).toBeUndefined();
    } finally {
      await m.stop();
    }
  });
});
