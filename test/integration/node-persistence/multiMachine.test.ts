/**
 * A cluster that spans machines (real etcd, real node processes; three loopback addresses play three machines):
 * with a SQLite file per machine, an object whose shard moves to another machine comes up without its state, and
 * every node warns at start that members advertise other hosts; with one PostgreSQL database, the same moves keep
 * every state, and no node warns.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../../harness/postgresSuite.js';
import { type OperationRequest, planOperation } from '../../../src/core/operations/operations.js';
import { shardOfObject } from '../../../src/core/sharding/objectId.js';
import { ClusterOperations } from '../../../src/edge/operations/clusterOperations.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { startPostgres, type PostgresServer } from '../../harness/postgres.js';
import { waitFor } from '../../harness/waitFor.js';

const NUM_SHARDS = 8;
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const WARNING = 'is SQLite, one file per machine, but members advertise other hosts';

let etcd: EtcdCluster;
let server: PostgresServer;
const clusters: NodeCluster[] = [];

beforeAll(async () => {
  [etcd, server] = await Promise.all([startEtcd('multi-machine'), startPostgres({ label: 'multi-machine' })]);
});

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await Promise.all([etcd?.close(), server?.close()]);
});

/** Three nodes, one per "machine"; `env(i, dir)` gives machine i its store (`dir`: the cluster's scratch dir). */
async function threeMachines(label: string, env: (i: number, dir: string) => Record<string, string>): Promise<NodeCluster> {
  const c = await NodeCluster.start({ etcd, label, nodes: 0, numShards: NUM_SHARDS });
  clusters.push(c);
  for (const [i, host] of HOSTS.entries()) await c.addNodes(1, { GOVERSE_LEASE_TTL: '6s', ...env(i, c.dir) }, false, host);
  await Promise.all(c.nodes.map((n) => n.start()));
  await c.waitStable({ timeoutMs: 30_000 });
  return c;
}

const call = (node: TestNode, id: string, method: string, args: Record<string, unknown> = {}) =>
  node.api('/v1/objects/call', { type: 'Counter', id, method, args });

async function operate(c: NodeCluster, request: OperationRequest): Promise<void> {
  const plan = planOperation(request, { snapshot: await c.snapshot(), now: Date.now(), by: 'test' });
  const result = await new ClusterOperations({ client: c.client, keys: c.keys }).execute(plan);
  expect(result.changes.map((ch) => ch.outcome)).toEqual(['written']);
}

/**
 * Retargets the shard of `id` to the next machine and waits until that node has claimed it; returns that node. The
 * shard is pinned, so the balancer leaves it where the test puts it.
 */
async function moveOn(c: NodeCluster, id: string): Promise<TestNode> {
  const shard = shardOfObject(id, NUM_SHARDS);
  const snapshot = await c.snapshot();
  const owner = c.nodes.findIndex((n) => n.address === snapshot.shards[shard]?.current);
  const next = c.node((owner + 1) % c.nodes.length);
  await operate(c, { kind: 'retarget', shards: [shard], to: next.address, refusals: 'refuse' });
  await waitFor(`shard ${shard} on ${next.address}`, async () => (await c.snapshot()).shards[shard]?.current === next.address, { timeoutMs: 20_000 });
  return next;
}

/** Adds to counter `id` on its owner, moves its shard to the next machine twice, reading the value after each move. */
async function valuesAcrossMoves(c: NodeCluster, id: string): Promise<unknown[]> {
  const current = (await c.snapshot()).shards[shardOfObject(id, NUM_SHARDS)]?.current;
  const owner = c.nodes.find((n) => n.address === current)!;
  await operate(c, { kind: 'pin', shards: [shardOfObject(id, NUM_SHARDS)] });
  expect((await call(owner, id, 'add', { amount: 5 })).body).toEqual({ result: { value: 5 } });
  const seen: unknown[] = [];
  for (let move = 0; move < 2; move++) {
    const now = await moveOn(c, id);
    seen.push((await call(now, id, 'get')).body);
  }
  return seen;
}

describeWithPostgres('a cluster across machines', () => {
  it('with a SQLite file per machine, loses an object state when its shard moves, and every node warns at start', async () => {
    const c = await threeMachines('sqlite-machines', (i, dir) => ({ GOVERSE_DB_PATH: join(dir, `machine${i}.sqlite`) }));
    for (const node of c.nodes) await waitFor(`${node.address} warns`, () => node.log().includes(WARNING), { timeoutMs: 15_000 });
    const line = JSON.parse(c.node(0).log().split('\n').find((l) => l.includes(WARNING))!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', members: expect.arrayContaining([expect.stringMatching(/^127\.0\.0\.[23]:/)]) });
    expect(line.msg).toContain(`other hosts than this node's 127.0.0.1: objects whose shards move between machines come up without their state`);

    // The state stayed in the first machine's file: after each move the counter starts from nothing.
    expect(await valuesAcrossMoves(c, 'travels')).toEqual([{ result: { value: 0 } }, { result: { value: 0 } }]);
  });

  it('with one PostgreSQL database, keeps every state across the same moves, and no node warns', async () => {
    const c = await threeMachines('postgres-machines', () => server.nodeEnv());
    expect(await valuesAcrossMoves(c, 'travels')).toEqual([{ result: { value: 5 } }, { result: { value: 5 } }]);
    for (const node of c.nodes) expect(node.log()).not.toContain(WARNING);
  });
});
