/**
 * The object database knows its cluster (real etcd, real goverse-node processes): a node of another cluster
 * pointed at a cluster's database exits 2 naming both clusters, and `--db-adopt-cluster` moves it deliberately;
 * the default database sits in a per-user state folder (0700) with 0600 files (-wal and -shm too), log and event
 * files are 0600, and a database in the tmp directory is warned about unless it is disposable.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseFileName } from '../../../src/node/persistence/databaseFile.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { managedTempDir } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';

let etcd: EtcdCluster;
const clusters: NodeCluster[] = [];

beforeAll(async () => {
  etcd = await startEtcd('cluster-db');
});

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await etcd?.close();
});

async function cluster(label: string, nodes: number, env: Record<string, string> = {}): Promise<NodeCluster> {
  const c = await NodeCluster.start({ etcd, label, nodes, numShards: 8, env });
  clusters.push(c);
  return c;
}

/** Starts a node expected to refuse to start; returns its exit code and output. */
async function refusedStart(node: TestNode, env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  await expect(node.start(env)).rejects.toThrow(/exited/);
  const exit = await node.proc!.exited;
  return { code: exit.code, output: node.proc!.output() };
}

async function counter(node: TestNode, method: string, args: Record<string, unknown> = {}) {
  return node.api('/v1/objects/call', { type: 'Counter', id: 'shared', method, args });
}

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('object database and its cluster', () => {
  it("a node of another cluster is refused the database (exit 2, both named); --db-adopt-cluster moves it", async () => {
    const sec = await cluster('sec', 1);
    await sec.waitStable();
    const secNode = sec.node(0);
    expect((await counter(secNode, 'add', { amount: 3 })).body).toEqual({ result: { value: 3 } });

    // The finding: a node of /other on the same machine used /sec's database, read 3 and wrote 1003.
    const other = await cluster('other', 0);
    const [intruder] = await other.addNodes(1, { GOVERSE_DB_PATH: sec.dbPath }, false);
    const refused = await refusedStart(intruder!);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain(`object database ${sec.dbPath}: belongs to cluster ${sec.prefix}, not to this node's cluster ${other.prefix}`);
    expect(refused.output).toContain(`--db-adopt-cluster ${sec.prefix}`);
    // Refused before it registered or touched an object.
    expect(await other.client.get(`${other.prefix}/nodes/${intruder!.address}`)).toBeNull();
    expect((await counter(secNode, 'get')).body).toEqual({ result: { value: 3 } });

    // Naming the wrong cluster to adopt from is refused as well.
    const wrong = await refusedStart(intruder!, { GOVERSE_DB_ADOPT_CLUSTER: '/not-it' });
    expect(wrong.code).toBe(2);
    expect(wrong.output).toContain('--db-adopt-cluster names /not-it, so the database is not taken over');

    // The deliberate move: /sec stops, /other adopts its database and serves its objects.
    expect((await secNode.stop()).code).toBe(0);
    await intruder!.start({ GOVERSE_DB_ADOPT_CLUSTER: sec.prefix });
    await other.waitStable();
    expect((await counter(intruder!, 'add', { amount: 1000 })).body).toEqual({ result: { value: 1003 } });
    expect(intruder!.log()).toContain(`moved from cluster ${sec.prefix} to ${other.prefix}`);

    // From now on the database is /other's: /sec's node is the one refused.
    const back = await refusedStart(secNode);
    expect(back.code).toBe(2);
    expect(back.output).toContain(`belongs to cluster ${other.prefix}, not to this node's cluster ${sec.prefix}`);
  });

  it('the default database is per user and per cluster: folder 0700, database, -wal, -shm, log and event files 0600', async () => {
    const state = join(managedTempDir('xdg-state'), 'state');
    const logFile = join(managedTempDir('logs'), 'node.log');
    const c = await cluster('default-path', 1, { GOVERSE_DB_PATH: '', XDG_STATE_HOME: state, GOVERSE_LOG_FILE: logFile });
    await c.waitStable();
    const node = c.node(0);
    expect((await counter(node, 'increment')).status).toBe(200);
    const db = join(state, 'goverse', databaseFileName(c.prefix));
    expect(mode(join(state, 'goverse'))).toBe('700');
    for (const file of [db, `${db}-wal`, `${db}-shm`, logFile, node.eventLog]) expect(mode(file), file).toBe('600');
    expect(readFileSync(logFile, 'utf8')).toContain(`"db":"${db}"`);
  });

  it('a database in the tmp directory is warned about (wiped on reboot), a disposable one is not', async () => {
    const durable = await cluster('tmp-warning', 1);
    const disposable = await cluster('tmp-disposable', 1, { GOVERSE_DB_DISPOSABLE: 'true' });
    const warning = /object database .* is in the temporary directory .*, which is wiped on reboot/;
    // The harness keeps every database in its scratch dir, which is a tmp directory (/dev/shm or the tmp dir).
    await waitFor('the warning', () => warning.test(durable.node(0).log()));
    const line = durable.node(0).log().split('\n').find((l) => warning.test(l))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn', db: durable.dbPath });
    await waitFor('the disposable node logs its database', () => disposable.node(0).log().includes('object database opened'));
    expect(disposable.node(0).log()).not.toMatch(warning);
  });
});
