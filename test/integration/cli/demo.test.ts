/**
 * `goverse-top demo --no-tui` on a machine where etcd is not on PATH but installable (GOVERSE_ETCD_BIN points at
 * it): every shard owned in under 30 s, and SIGINT leaves no process and no temp dir behind; with `--store postgres`
 * the nodes keep the load's objects in the demo's own PostgreSQL server, which goes with the rest.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { readSnapshot } from '../../../src/edge/etcd/readSnapshot.js';
import { Keyspace } from '../../../src/core/keyspace/keys.js';
import { ETCD_BIN } from '../../harness/etcd.js';
import { postgresUnavailable } from '../../harness/postgres.js';
import { spawnManaged } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';
import { CLI_BIN, cliEnv, runCli } from './cliRunner.js';

function hasEtcd(dir: string): boolean {
  try {
    accessSync(join(dir, 'etcd'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The etcd the harness uses, as an absolute path. */
function etcdPath(): string {
  if (ETCD_BIN.includes('/')) return ETCD_BIN;
  const dir = (process.env.PATH ?? '').split(delimiter).find(hasEtcd);
  if (dir === undefined) throw new Error('etcd is not installed (run scripts/ensure-etcd.sh)');
  return join(dir, 'etcd');
}

/** PATH without any directory that holds an etcd. */
const PATH_WITHOUT_ETCD = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((d) => d !== '' && !hasEtcd(d))
  .join(delimiter);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const leftovers: number[] = [];

afterAll(() => {
  // Only if the test failed half-way: the demo's own children are not in the harness registry.
  for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

describe('goverse-top demo', () => {
  it('without etcd anywhere: a clear install hint, exit 1', async () => {
    const r = await runCli(['demo', '--no-tui'], { PATH: PATH_WITHOUT_ETCD });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/etcd is not on PATH; install etcd \(Debian\/Ubuntu: `sudo apt-get install etcd-server`/);
  });

  it('--no-tui: every shard owned in under 30 s, then SIGINT stops everything and removes its files', async () => {
    const started = performance.now();
    const demo = spawnManaged('goverse-top demo', process.execPath, [CLI_BIN, 'demo', '--no-tui'], {
      env: cliEnv({ PATH: PATH_WITHOUT_ETCD, GOVERSE_ETCD_BIN: etcdPath() }),
    });
    let stdout = '';
    let stderr = '';
    demo.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    demo.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const settings = await waitFor(
      'the demo to print its settings',
      () => {
        if (!demo.running) throw new Error(`demo exited: ${stderr}`);
        const vars = Object.fromEntries([...stdout.matchAll(/^(GOVERSE_\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
        return Object.keys(vars).length === 3 ? vars : null;
      },
      { timeoutMs: 30_000, intervalMs: 50, describe: () => stderr },
    );
    expect(settings).toMatchObject({ GOVERSE_ETCD_PREFIX: '/goverse', GOVERSE_NUM_SHARDS: '512' });
    const dir = /in (\S*goverse-demo-\w+)/.exec(stderr)![1]!;
    expect(existsSync(dir)).toBe(true);
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(demo.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((pid) => pid > 0);
    leftovers.push(...children);
    expect(children.length).toBe(4); // etcd and three nodes

    let client: EtcdClient | null = null;
    try {
      client = createEtcdClient({ endpoints: settings.GOVERSE_ETCD_ENDPOINTS!.split(',') });
      const etcd = client;
      const remaining = 30_000 - (performance.now() - started);
      await waitFor(
        'every shard owned by an alive node',
        async () => {
          const snap = await readSnapshot(etcd, new Keyspace('/goverse'), 512);
          return snap.shards.every((e) => e !== undefined && e.current !== '' && snap.nodes.has(e.current));
        },
        { timeoutMs: Math.max(0, remaining), intervalMs: 100, describe: () => stderr },
      );
      expect(performance.now() - started).toBeLessThan(30_000);
      // The load generator calls through the routing client: objects appear on the nodes.
      await waitFor(
        'objects on the nodes',
        async () => [...(await readSnapshot(etcd, new Keyspace('/goverse'), 512)).load.values()].some((l) => l.shards.some(([, objects]) => objects > 0)),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
    } finally {
      await client?.close();
    }

    demo.child.kill('SIGINT');
    const exit = await demo.exited;
    expect(exit.code).toBe(0);
    await waitFor('every child of the demo gone', () => children.every((pid) => !alive(pid)), { timeoutMs: 10_000 });
    expect(existsSync(dir)).toBe(false);
  });

  it('SIGINT during start-up stops what was started', async () => {
    const demo = spawnManaged('goverse-top demo', process.execPath, [CLI_BIN, 'demo', '--no-tui', '--nodes', '2', '--shards', '64'], {
      env: cliEnv({ GOVERSE_ETCD_BIN: etcdPath() }),
    });
    let stderr = '';
    demo.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor('the nodes starting', () => stderr.includes('goverse-node processes'), { timeoutMs: 30_000, describe: () => stderr });
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(demo.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((pid) => pid > 0);
    leftovers.push(...children);
    const dir = /in (\S*goverse-demo-\w+)/.exec(stderr)![1]!;
    demo.child.kill('SIGINT');
    expect((await demo.exited).code).toBe(0);
    await waitFor('every child of the demo gone', () => children.every((pid) => !alive(pid)), { timeoutMs: 10_000 });
    expect(existsSync(dir)).toBe(false);
  });

  it('--store postgres: the nodes keep their objects in a private PostgreSQL server, and SIGINT removes it too', async (ctx) => {
    const unavailable = postgresUnavailable();
    if (unavailable !== null) ctx.skip(`PostgreSQL unavailable: ${unavailable}`);
    const demo = spawnManaged('goverse-top demo', process.execPath, [CLI_BIN, 'demo', '--no-tui', '--store', 'postgres', '--nodes', '2', '--shards', '64'], {
      env: cliEnv({ GOVERSE_ETCD_BIN: etcdPath() }),
    });
    let stdout = '';
    let stderr = '';
    demo.child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    demo.child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(
      'the demo to settle',
      () => {
        if (!demo.running) throw new Error(`demo exited: ${stderr}`);
        return stderr.includes('64/64 shards owned');
      },
      { timeoutMs: 60_000, intervalMs: 100, describe: () => stderr },
    );
    const dir = /in (\S*goverse-demo-\w+)/.exec(stderr)![1]!;
    const databaseDir = /PostgreSQL in (\S*goverse-demo-postgres-\w+)/.exec(stderr)![1]!;
    const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(demo.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((pid) => pid > 0);
    leftovers.push(...children);
    expect(children.length).toBe(4); // etcd, postgres and two nodes
    const log = (): string => readFileSync(join(dir, 'node1.log'), 'utf8');
    await waitFor('node 1 on PostgreSQL', () => /"msg":"object database opened".*"store":"postgres"/.test(log()), { timeoutMs: 5_000, describe: log });
    // Objects activate on the nodes (each activation is a write to the database) and no store write fails.
    const etcd = createEtcdClient({ endpoints: [/^GOVERSE_ETCD_ENDPOINTS=(.*)$/m.exec(stdout)![1]!] });
    try {
      await waitFor(
        'objects on the nodes',
        async () => [...(await readSnapshot(etcd, new Keyspace('/goverse'), 64)).load.values()].some((l) => l.shards.some(([, objects]) => objects > 0)),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
    } finally {
      await etcd.close();
    }
    expect(log()).not.toContain('object store write failed');

    demo.child.kill('SIGINT');
    expect((await demo.exited).code).toBe(0);
    await waitFor('every child of the demo gone', () => children.every((pid) => !alive(pid)), { timeoutMs: 10_000 });
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(databaseDir)).toBe(false);
  });
});
