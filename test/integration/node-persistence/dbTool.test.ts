/**
 * `goverse-node db` against a real private PostgreSQL and real etcd and node processes: init, verify, status
 * (text and JSON), reset with its confirmation, and the move from SQLite: import refused while the cluster's nodes
 * serve, then copied with its identity checked, idempotent, and served by the same cluster's nodes on PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../../harness/postgresSuite.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { NODE_BIN, NodeCluster } from '../../harness/nodes.js';
import { startPostgres, type PostgresServer } from '../../harness/postgres.js';
import { cliEnv } from '../cli/cliRunner.js';

let etcd: EtcdCluster;
let server: PostgresServer;
const clusters: NodeCluster[] = [];

beforeAll(async () => {
  [etcd, server] = await Promise.all([startEtcd('db-tool'), startPostgres({ label: 'db-tool' })]);
});

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await Promise.all([etcd?.close(), server?.close()]);
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `goverse-node db <args>` with the database in the environment (password apart), `input` on stdin. */
function db(args: readonly string[], env: Record<string, string> = {}, input = ''): Promise<Run> {
  const child = spawn(process.execPath, [NODE_BIN, 'db', ...args], {
    env: cliEnv({ GOVERSE_POSTGRES_URL: server.urlWithoutPassword, GOVERSE_POSTGRES_PASSWORD: server.password, ...env }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input);
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

const counter = (c: NodeCluster, id: string, method: string, args: Record<string, unknown> = {}) =>
  c.node(0).api('/v1/objects/call', { type: 'Counter', id, method, args });

describeWithPostgres('goverse-node db', () => {
  it('creates, checks and shows the schema, and resets only when confirmed', async () => {
    await server.psql('DROP SCHEMA IF EXISTS goverse_node CASCADE');
    expect(await db(['verify'])).toMatchObject({ code: 4, stdout: expect.stringContaining('has no goverse_node schema (run goverse-node db init)') });
    expect(await db(['status'])).toMatchObject({ code: 4, stdout: expect.stringContaining('schema    none (goverse-node db init creates it)') });
    expect(await db(['init'])).toMatchObject({ code: 0, stdout: expect.stringContaining('schema goverse_node version 1 created') });
    expect(await db(['init'])).toMatchObject({ code: 0, stdout: expect.stringContaining('schema goverse_node version 1 already there') });
    expect(await db(['verify', '--etcd-prefix', '/mine'])).toMatchObject({ code: 0, stdout: expect.stringContaining('and no cluster yet') });

    await server.psql(
      "INSERT INTO goverse_node.meta VALUES ('cluster', '/mine'); INSERT INTO goverse_node.objects VALUES ('Counter', 'a', '{}', 1, 0), ('Counter', 'b', '{}', 1, 0), ('KeyValue', 'k', '{}', 1, 0)",
    );
    const status = await db(['status', '-o', 'json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({
      schemaVersion: 1,
      database: server.urlWithoutPassword,
      server: expect.stringMatching(/^15\./),
      schema: { state: 'current', version: 1 },
      cluster: '/mine',
      objects: { total: 3, byType: { Counter: 2, KeyValue: 1 } },
    });
    expect((await db(['status'])).stdout).toContain('objects   3 (Counter 2, KeyValue 1)');
    const other = await db(['verify', '--etcd-prefix', '/other']);
    expect(other.code).toBe(4);
    expect(other.stdout).toContain("belongs to cluster /mine, not to this node's cluster /other");

    // A wrong or missing confirmation changes nothing.
    expect(await db(['reset'], {}, 'nope\n')).toMatchObject({ code: 1, stderr: expect.stringContaining('cancelled; nothing changed') });
    expect(await db(['reset'])).toMatchObject({ code: 2, stderr: expect.stringContaining('pass --yes in scripts') });
    expect(await server.psql('SELECT count(*) FROM goverse_node.objects')).toBe('3');
    const confirmed = await db(['reset'], {}, 'goverse\n');
    expect(confirmed).toMatchObject({ code: 0, stdout: expect.stringContaining('reset (3 objects deleted)') });
    expect(confirmed.stderr).toContain('delete 3 objects of cluster /mine and the cluster identity? Type the database name (goverse) to confirm');
    expect(await server.psql("SELECT count(*) FROM goverse_node.objects; SELECT count(*) FROM goverse_node.meta WHERE key = 'cluster'")).toBe('0\n0');
    expect(await db(['reset', '--yes'])).toMatchObject({ code: 0 });

    expect(await db(['status'], { GOVERSE_POSTGRES_URL: '' })).toMatchObject({ code: 2, stderr: expect.stringContaining('no PostgreSQL database is configured') });
    expect(await db(['frobnicate'])).toMatchObject({ code: 2 });
  });

  it("imports a cluster's SQLite objects once its nodes are stopped, checks both identities, is idempotent, and the cluster serves them from PostgreSQL", async () => {
    await server.psql('DROP SCHEMA IF EXISTS goverse_node CASCADE');
    const c = await NodeCluster.start({ etcd, nodes: 1, numShards: 8, label: 'db-import' });
    clusters.push(c);
    await c.waitStable();
    for (let i = 0; i < 20; i++) expect((await counter(c, `c${i}`, 'add', { amount: i + 1 })).status).toBe(200);
    const env = { GOVERSE_ETCD_ENDPOINTS: etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: c.prefix, GOVERSE_NUM_SHARDS: '8' };

    const serving = await db(['import', '--from', c.dbPath], env);
    expect(serving.code).toBe(3);
    expect(serving.stderr).toContain(`nodes of cluster ${c.prefix} are serving (${c.node(0).address}): stop them first`);
    expect(await db(['status'])).toMatchObject({ stdout: expect.stringContaining('schema    none') });

    expect((await c.node(0).stop()).code).toBe(0);
    const wrongCluster = await db(['import', '--from', c.dbPath], { ...env, GOVERSE_ETCD_PREFIX: '/someone-else' });
    expect(wrongCluster.code).toBe(2);
    expect(wrongCluster.stderr).toContain(`SQLite database ${c.dbPath}: belongs to cluster ${c.prefix}, not to /someone-else`);

    const first = await db(['import', '--from', c.dbPath], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`imported 20 objects of cluster ${c.prefix} from ${c.dbPath}: 20 inserted, 0 updated, 0 kept`);
    expect(first.stdout).toContain(`the database now belongs to cluster ${c.prefix}`);
    const again = await db(['import', '--from', c.dbPath], env);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('imported 20 objects') });
    expect(again.stdout).toContain('0 inserted, 0 updated, 20 kept');

    // Another cluster's SQLite file into this database: refused by the database's identity.
    await server.psql(`UPDATE goverse_node.meta SET value = '/taken' WHERE key = 'cluster'`);
    const taken = await db(['import', '--from', c.dbPath], env);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain(`belongs to cluster /taken, not to this node's cluster ${c.prefix}`);
    await server.psql(`UPDATE goverse_node.meta SET value = '${c.prefix}' WHERE key = 'cluster'`);

    // The same cluster on PostgreSQL serves what SQLite held.
    await c.node(0).start(server.nodeEnv());
    await c.waitStable();
    for (let i = 0; i < 20; i++) expect((await counter(c, `c${i}`, 'get')).body).toEqual({ result: { value: i + 1 } });
  });
});
