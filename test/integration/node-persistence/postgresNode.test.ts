/**
 * goverse-node on a real private PostgreSQL (real etcd, real node processes): a database that cannot be reached, that
 * refuses the password, or whose schema is another version stops the start with exit 2 and a message naming it; a
 * node of another cluster is refused the database; while the database restarts, calls fail retriably (503), /ready
 * is 503 naming the store, and the node recovers by itself once the database is back, every acknowledged increment
 * kept.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../../harness/postgresSuite.js';
import { type EtcdCluster, freePorts, startEtcd } from '../../harness/etcd.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { startPostgres, type PostgresServer } from '../../harness/postgres.js';
import { waitFor } from '../../harness/waitFor.js';

let etcd: EtcdCluster;
let server: PostgresServer;
const clusters: NodeCluster[] = [];

beforeAll(async () => {
  [etcd, server] = await Promise.all([startEtcd('pg-node'), startPostgres({ label: 'pg-node' })]);
});

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await Promise.all([etcd?.close(), server?.close()]);
});

async function cluster(label: string, nodes: number, env: Record<string, string> = server.nodeEnv()): Promise<NodeCluster> {
  const c = await NodeCluster.start({ etcd, label, nodes, numShards: 8, env });
  clusters.push(c);
  return c;
}

async function refusedStart(node: TestNode, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  await expect(node.start(env)).rejects.toThrow(/exited/);
  const exit = await node.proc!.exited;
  return { code: exit.code, output: node.proc!.output() };
}

const add = (node: TestNode, amount: number) => node.api('/v1/objects/call', { type: 'Counter', id: 'pg', method: 'add', args: { amount } });
const get = (node: TestNode) => node.api('/v1/objects/call', { type: 'Counter', id: 'pg', method: 'get' });

describeWithPostgres('goverse-node on PostgreSQL', () => {
  it('exits 2 naming the database when it cannot be reached, refuses the password or has another schema version', async () => {
    const c = await cluster('pg-refused', 0);
    const [node] = await c.addNodes(1, {}, false);
    const [closed] = await freePorts(1);
    const unreachable = await refusedStart(node!, { ...server.nodeEnv(), GOVERSE_POSTGRES_URL: `postgres://goverse@127.0.0.1:${closed}/goverse` });
    expect(unreachable.code).toBe(2);
    expect(unreachable.output).toMatch(new RegExp(`object database postgres://goverse@127\\.0\\.0\\.1:${closed}/goverse: cannot be used: .*ECONNREFUSED`));

    const wrong = await refusedStart(node!, { ...server.nodeEnv(), GOVERSE_POSTGRES_PASSWORD: 'not-the-password' });
    expect(wrong.code).toBe(2);
    expect(wrong.output).toMatch(/28P01: password authentication failed for user "goverse"/);
    expect(wrong.output).not.toContain('not-the-password');

    await server.psql("CREATE SCHEMA goverse_node; CREATE TABLE goverse_node.meta (key text PRIMARY KEY, value text NOT NULL); INSERT INTO goverse_node.meta VALUES ('schema_version', '99')");
    try {
      const future = await refusedStart(node!, server.nodeEnv());
      expect(future.code).toBe(2);
      expect(future.output).toContain('schema version 99 is not supported (this build reads version 1)');
    } finally {
      await server.psql('DROP SCHEMA goverse_node CASCADE');
    }
  });

  it("refuses another cluster's nodes the database (exit 2, both clusters named)", async () => {
    const first = await cluster('pg-first', 1);
    await first.waitStable();
    expect((await add(first.node(0), 1)).status).toBe(200);
    const second = await cluster('pg-second', 0);
    const [intruder] = await second.addNodes(1, server.nodeEnv(), false);
    const refused = await refusedStart(intruder!);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain(`belongs to cluster ${first.prefix}, not to this node's cluster ${second.prefix}`);
    await first.close();
    clusters.splice(clusters.indexOf(first), 1);
    await server.psql('DROP SCHEMA goverse_node CASCADE');
  });

  it('while the database restarts, calls fail retriably and /ready is 503; the node recovers by itself and keeps every acknowledged increment', async () => {
    const c = await cluster('pg-restart', 1);
    await c.waitStable();
    const node = c.node(0);
    expect((await add(node, 5)).body).toEqual({ result: { value: 5 } });
    await waitFor('ready', async () => (await node.ready()).status === 200, { timeoutMs: 15_000 });

    await server.stop('immediate');
    const failed = await add(node, 100);
    expect(failed.status).toBe(503);
    expect(failed.body).toMatchObject({ error: { code: 'persistence', retriable: true } });
    const ready = await node.ready();
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ storage: { status: 'failing' } });
    expect(ready.body.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^object store failing since /)]));

    await server.start();
    // No call arrives: the node's probe finds the database back by itself.
    await waitFor('/ready 200 again', async () => (await node.ready()).status === 200, { timeoutMs: 20_000, intervalMs: 100 });
    // The log reaches the harness through a pipe: it may trail the /ready answer.
    await waitFor('the recovery logged', () => node.log().includes('object store accepts writes again'), { timeoutMs: 5_000 });
    expect((await add(node, 2)).body).toEqual({ result: { value: 7 } });

    // Acknowledged means committed: a killed and restarted node reads 7.
    await node.kill();
    await node.start();
    await waitFor('the restarted node ready', async () => (await node.ready()).status === 200, { timeoutMs: 30_000 });
    expect((await get(node)).body).toEqual({ result: { value: 7 } });
  });
});
