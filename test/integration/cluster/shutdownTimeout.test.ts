/**
 * Issue 4, the bound on a graceful stop. A node must save an object before it releases the object's shard; when it
 * cannot (another process holds the shared SQLite database's write lock), its hand-over cannot complete. It gives up
 * at GOVERSE_SHUTDOWN_TIMEOUT, logs the shards it still owned and the objects it could not save, and deregisters
 * anyway; the leader then gives those shards to the survivor.
 */
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoverseClient } from '../../../src/client/client.js';
import { shardOfObject } from '../../../src/core/sharding/objectId.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { waitFor } from '../../harness/waitFor.js';
import { objectIdInShard, ownedBy, waitBalanced, waitForLog } from './clusterTools.js';

const NUM_SHARDS = 32;
const SHUTDOWN_TIMEOUT_MS = 1500;
/** How long a save waits for SQLite's lock before it fails (the store's busy timeout). */
const SQLITE_BUSY_MS = 5000;
/** A long lease: nothing but the shutdown timeout may end the stop (no fencing on a loaded machine). */
const ENV = { GOVERSE_LEASE_TTL: '15s', GOVERSE_SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms` };

let cluster: NodeCluster;
let survivor: TestNode;
let stopping: TestNode;
let client: GoverseClient;

beforeAll(async () => {
  cluster = await NodeCluster.start({ nodes: 2, numShards: NUM_SHARDS, label: 'shutdown-timeout', env: ENV });
  [survivor, stopping] = [cluster.node(0), cluster.node(1)];
  await waitBalanced(cluster, cluster.nodes, 2);
  client = await GoverseClient.watching({ etcd: cluster.client, prefix: cluster.prefix, numShards: NUM_SHARDS, timeoutMs: 20_000 });
}, 60_000);

afterAll(async () => {
  await client?.close();
  await cluster?.close();
});

describe('graceful stop bounded by the shutdown timeout', () => {
  it('a node that cannot save deregisters at the timeout with its shards left, logged; the survivor then owns all', async () => {
    const owned = ownedBy(await cluster.snapshot(), stopping.address).map((e) => e.id);
    expect(owned.length).toBeGreaterThan(0);
    // A KeyValue object saves only when evicted: its shard cannot be released while the database refuses writes.
    const id = objectIdInShard(owned[0]!, NUM_SHARDS, 'unsaveable');
    expect(shardOfObject(id, NUM_SHARDS)).toBe(owned[0]);
    await client.call('KeyValue', id, 'put', { key: 'k', value: 'v' });

    const lock = new Database(cluster.dbPath);
    lock.exec('BEGIN EXCLUSIVE');
    const t0 = performance.now();
    let exit;
    try {
      exit = await stopping.stop(60_000);
    } finally {
      lock.exec("ROLLBACK");

      lock.close();
    }
    const stopMs = performance.now() - t0;
    expect(exit.code).toBe(0);
    // At least the timeout. Saves already under way are not cut short: each waits up to the store's busy timeout
    // (the hand-over's release pass, a pass that started meanwhile, the final save), plus room for a loaded machine.
    expect(stopMs).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT_MS);
    expect(stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 3 * SQLITE_BUSY_MS + 10_000);

    const timeout = await waitForLog(stopping, 'the shutdown timeout', (r) => r.msg === 'shutdown timeout: deregistering with shards left');
    expect(timeout.level).toBe('error');
    expect(timeout.left).toContain(owned[0]);
    await waitForLog(stopping, 'the objects it could not save', (r) => r.msg === 'objects could not be saved on stop' && r.level === 'error');
    expect(await waitForLog(stopping, 'its stop', (r) => r.msg === 'stopped')).toMatchObject({ timedOut: true });
    expect(await cluster.client.get(`${cluster.prefix}/nodes/${stopping.address}`), 'deregistered').toBeNull();

    await waitFor(
      `${survivor.address} to own all ${NUM_SHARDS} shards`,
      async () => (await cluster.snapshot()).shards.every((e) => e?.target === survivor.address && e.current === survivor.address),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  });
});
